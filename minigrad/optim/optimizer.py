"""``Optimizer``: parameter groups, per-parameter state, ``step`` and ``state_dict``.

An optimizer holds ``param_groups``, a list of dicts, each with ``"params"``
(a list of parameters) and the hyper-parameters for them (``"lr"``, ...).
Passing dicts instead of parameters gives several groups, each of which may
override the defaults::

    SGD([{"params": encoder.parameters()},
         {"params": head.parameters(), "lr": 1e-3}], lr=1e-2, momentum=0.9)

``step()`` updates every parameter that has a gradient. Updates work on the
backend arrays (``p.data``), so no graph is recorded and each parameter keeps
its identity (a module still owns the tensor the optimizer updates).
Subclasses implement one method, ``_update``, for one parameter.
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Callable, Iterable
from typing import Any

from backends.choices import did_you_mean, quoted
from minigrad.autograd import enable_grad
from minigrad.tensor import Tensor


def as_number(value: Any) -> Any:
    """A 0-d tensor or array as the Python number it holds (PyTorch accepts both as hyper-parameters);
    anything else unchanged."""
    if not isinstance(value, (bool, numbers.Number)) and getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        return value.item()
    return value


def check_nonnegative(who: str, name: str, value: Any) -> Any:
    """``value`` as a Python number (a 0-d tensor or array gives its item); a ValueError unless it is a
    real number >= 0."""
    value = as_number(value)
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not value >= 0:
        raise ValueError(f"{who}: invalid {name} {value!r}: expected a number >= 0")
    return value


def check_count(who: str, name: str, value: Any, minimum: int) -> int:
    """``value`` as an int (NumPy integers too); a ValueError unless it is an integer >= ``minimum``."""
    value = as_number(value)
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        kind = "a positive integer" if minimum == 1 else f"an int >= {minimum}"
        raise ValueError(f"{who}: {name} must be {kind}, got {value!r}")
    return int(value)


def check_betas(who: str, betas: Any) -> None:
    """Raise a ValueError unless ``betas`` is a pair of numbers in [0, 1)."""
    ok = isinstance(betas, (tuple, list)) and len(betas) == 2
    ok = ok and all(isinstance(b, numbers.Real) and not isinstance(b, bool) and 0.0 <= b < 1.0 for b in betas)
    if not ok:
        raise ValueError(f"{who}: invalid betas {betas!r}: expected a pair (beta1, beta2) with 0 <= beta < 1")


class Optimizer:
    """Base class of the optimizers.

    Args:
        params: parameters (e.g. ``model.parameters()``), or dicts each with a
            ``"params"`` entry and hyper-parameters overriding ``defaults``.
        defaults: the hyper-parameters of every group, including ``"lr"``.

    Attributes:
        param_groups: list of dicts ``{"params": [...], "lr": ..., ...}``.
        state: ``{parameter: {name: array or number}}``, the per-parameter
            buffers (momentum, moment estimates, step count).

    Raises:
        TypeError: ``params`` is a single tensor or dict, a set, or holds something other than tensors.
        ValueError: no parameters, a parameter twice, a non-leaf parameter, an invalid hyper-parameter,
            or a param group key that is not one of the optimizer's options (the message lists them).
    """

    state_names: tuple[str, ...] | None = None  # the per-parameter buffers; None: not checked on load

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.state: dict[Tensor, dict[str, Any]] = {}  # Tensor hashes by identity
        self.param_groups: list[dict[str, Any]] = []
        who = type(self).__name__
        if isinstance(params, (Tensor, dict)):
            kind = "a Tensor" if isinstance(params, Tensor) else "a dict"
            raise TypeError(
                f"{who}: params must be an iterable of parameters or of dicts (param groups), got {kind}; "
                "wrap it in a list"
            )
        groups = list(params)
        if not groups:
            raise ValueError(f"{who}: got an empty parameter list; pass e.g. model.parameters()")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # -- groups ---------------------------------------------------------------
    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyper-parameters (missing ones take the defaults).

        Useful to start training layers that were frozen so far.

        Raises:
            TypeError: ``group`` is not a dict with a ``"params"`` entry, or holds something other than tensors.
            ValueError: a key of ``group`` is not ``"params"`` or one of the optimizer's options (the
                message lists them); other invalid parameters or hyper-parameters.
        """
        who = type(self).__name__
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"{who}: a param group must be a dict with a 'params' entry, got {type(group).__name__}")
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{who}: params must be an ordered sequence, not a set (its order changes between runs)")
        params = list(params)
        for i, p in enumerate(params):
            if isinstance(p, tuple):
                raise TypeError(f"{who}: param {i} is a tuple; pass model.parameters(), not named_parameters()")
            if not isinstance(p, Tensor):
                raise TypeError(f"{who}: param {i} is a {type(p).__name__}, expected a Parameter or Tensor")
            if not p.is_leaf:
                raise ValueError(f"{who}: param {i} is not a leaf tensor (an op computed it); cannot optimize it")
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{who}: a param group lists the same parameter more than once")
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in existing for p in params):
            raise ValueError(f"{who}: some parameters appear in more than one parameter group")
        new = {k: v for k, v in group.items() if k != "params"}
        self._check_option_names(f"{who}: param group", new)
        for k, v in self.defaults.items():
            new.setdefault(k, v)
        if "lr" not in new:
            raise ValueError(f"{who}: param group has no 'lr' and the optimizer has no default lr")
        self._check_group(new)
        new["params"] = params
        self.param_groups.append(new)

    def _options(self) -> list[str]:
        """The hyper-parameter names a param group may set."""
        return list(self.defaults) + ([] if "lr" in self.defaults else ["lr"])

    def _check_option_names(self, where: str, group: dict[str, Any]) -> None:
        """Raise a ValueError naming the keys of ``group`` that are not options of this optimizer."""
        options = self._options()
        unknown = [k for k in group if k != "params" and k not in options]
        if unknown:
            raise ValueError(
                f"{where} has unknown option(s) {quoted(unknown)}; {type(self).__name__} options: "
                f"{quoted(['params', *options])}" + did_you_mean(unknown[0], options)
            )

    def _check_group(self, group: dict[str, Any]) -> None:
        """Raise a ValueError for invalid hyper-parameters (subclasses extend this)."""
        group["lr"] = check_nonnegative(type(self).__name__, "lr", group["lr"])

    # -- gradients and steps ------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's gradient: to None (default) or to zeros, in place (as in PyTorch: a
        reference to ``p.grad`` taken before sees the zeros)."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad.data[...] = 0

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; parameters without ``.grad`` are skipped.

        Args:
            closure: optional function that recomputes the loss (zero_grad,
                forward, backward) and returns it; it is called first.

        Returns:
            The closure's loss, or None.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.data
                if tuple(g.shape) != p.shape:
                    raise ValueError(f"{type(self).__name__}: gradient of shape {tuple(g.shape)} for a parameter "
                                     f"of shape {p.shape}")
                p.data = self._update(p, g, self.state.setdefault(p, {}), group)
        return loss

    def _update(self, p: Tensor, g: Any, state: dict[str, Any], group: dict[str, Any]) -> Any:
        """The new array of parameter ``p`` given its gradient array ``g``.

        ``state`` is this parameter's state dict (empty at the first step) and
        may be updated in place; ``group`` holds the hyper-parameters.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement _update()")

    # -- state --------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as plain data: numbers, lists, dicts and host NumPy arrays.

        Parameters are referred to by their position, counting through the
        groups in order (0, 1, ...), as in PyTorch::

            {"state": {0: {"step": 3, "exp_avg": array, ...}, ...},
             "param_groups": [{"lr": 0.001, ..., "params": [0, 1, 2]}, ...]}

        The result is a copy: later steps do not change it.
        """
        state: dict[int, dict[str, Any]] = {}
        groups = []
        index = 0
        for group in self.param_groups:
            packed = {k: _plain(v) for k, v in group.items() if k != "params"}
            packed["params"] = list(range(index, index + len(group["params"])))
            for p in group["params"]:
                if self.state.get(p):
                    state[index] = {k: _to_host(p, v) for k, v in self.state[p].items()}
                index += 1
            groups.append(packed)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a [`state_dict`][minigrad.optim.Optimizer.state_dict]: hyper-parameters and per-parameter buffers.

        The optimizer must have the same number of groups with the same
        number of parameters each, in the same order. Arrays are copied onto
        each parameter's backend and cast to its dtype (the step count stays
        a number, also when given as an integer 0-d array, e.g. after a round trip through ``.npz``).

        Raises:
            ValueError: ``state_dict`` does not fit this optimizer: other top-level keys than
                ``'state'`` and ``'param_groups'``, another number of groups or of parameters per group,
                a group option or a per-parameter buffer this optimizer does not have (e.g. a state
                saved from another optimizer class; the message lists the names it has), an array of
                the wrong shape, or state for an unknown parameter index.
        """
        who = type(self).__name__
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            keys = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            hint = ""
            if isinstance(state_dict, dict):
                extra = [k for k in state_dict if k not in ("state", "param_groups")]
                hint = did_you_mean(extra[0], ("state", "param_groups")) if extra else ""
            raise ValueError(
                f"{who}.load_state_dict: expected a dict with keys 'state' and 'param_groups', got {keys}{hint}"
            )
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{who}.load_state_dict: the state dict has {len(saved_groups)} parameter group(s), "
                f"this optimizer has {len(self.param_groups)}"
            )
        counts = [len(g["params"]) for g in self.param_groups]
        saved_counts = [len(g["params"]) for g in saved_groups]
        if counts != saved_counts:
            raise ValueError(
                f"{who}.load_state_dict: parameters per group differ: the state dict has {saved_counts}, "
                f"this optimizer has {counts}"
            )
        params = {}
        for saved, group in zip(saved_groups, self.param_groups):
            params.update(zip(saved["params"], group["params"]))
        unknown = [k for k in state_dict["state"] if k not in params]
        if unknown:
            raise ValueError(
                f"{who}.load_state_dict: state for unknown parameter index(es) {unknown}; "
                f"the param groups of the state dict list indices {min(params, default=None)} to "
                f"{max(params, default=None)}"
            )
        for i, saved in enumerate(saved_groups):
            self._check_option_names(f"{who}.load_state_dict: param group {i} of the state dict", saved)
        if self.state_names is not None:
            for index, buffers in state_dict["state"].items():
                extra = [k for k in buffers if k not in self.state_names]
                if extra:
                    raise ValueError(
                        f"{who}.load_state_dict: the state of parameter {index} has unknown entr(ies) "
                        f"{quoted(extra)}; {who} keeps {quoted(self.state_names)}"
                        + did_you_mean(extra[0], self.state_names)
                        + " (was the state saved from another optimizer class?)"
                    )
        new_state: dict[Tensor, dict[str, Any]] = {}
        for index, buffers in state_dict["state"].items():
            p = params[index]
            new_state[p] = {k: _to_backend(who, index, p, k, v) for k, v in buffers.items()}
        for saved, group in zip(saved_groups, self.param_groups):
            for k, v in saved.items():
                if k == "params":
                    continue
                current = group.get(k)
                group[k] = tuple(v) if isinstance(current, tuple) and isinstance(v, list) else copy.deepcopy(v)
        self.state = new_state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines) + "\n)"


def _plain(value: Any) -> Any:
    """A hyper-parameter as plain data (tuples become lists)."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return copy.deepcopy(value)


def _to_host(p: Tensor, value: Any) -> Any:
    """A state entry as plain data: backend arrays become host NumPy copies."""
    if p.backend.is_array(value):
        return p.backend.to_numpy(value)
    return _plain(value)


def _to_backend(who: str, index: int, p: Tensor, name: str, value: Any) -> Any:
    """A saved state entry for parameter ``p``: arrays become copies on p's backend and dtype."""
    if not hasattr(value, "shape") or not hasattr(value, "dtype"):
        return copy.deepcopy(value)
    if tuple(value.shape) == () and value.dtype.kind in "iu":
        return int(value.item())  # a counter such as "step" that went through a file as a 0-d array
    if tuple(value.shape) != p.shape:
        raise ValueError(
            f"{who}.load_state_dict: state {name!r} of parameter {index} has shape {tuple(value.shape)}, "
            f"the parameter has shape {p.shape}"
        )
    return p.backend.asarray(value).astype(p.dtype)  # astype copies: the caller's arrays stay untouched
