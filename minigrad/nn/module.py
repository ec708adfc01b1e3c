"""``Module`` and ``Parameter``: PyTorch's container contract, kept small.

A module registers the parameters and sub-modules assigned to its attributes,
in definition order, so ``named_parameters()`` yields dotted names such as
``encoder.weight_ih_l0`` and a PyTorch ``state_dict`` maps onto it unchanged.
"""

from __future__ import annotations

import numbers
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any

from minigrad.backend import get_backend
from minigrad.graph_scope import _scope, module_scope
from minigrad.tensor import Tensor


def check_int_arg(who: str, name: str, value: Any, minimum: int) -> int:
    """``value`` as an int when it is an integer (not a bool) ``>= minimum``, else a ValueError
    naming ``who`` and the argument: ``LSTM: input_size must be an int >= 1, got 5.0``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{who}: {name} must be an int >= {minimum}, got {value!r}")
    return int(value)


class Parameter(Tensor):
    """A tensor that a [`Module`][minigrad.nn.Module] registers as trainable (``requires_grad=True`` by default)."""

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True, dtype: Any = None, backend: Any = None) -> None:
        if isinstance(data, Tensor):
            backend = backend or data.backend
            data = data.data
        super().__init__(data, requires_grad=requires_grad, dtype=dtype, backend=backend)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of every layer and model.

    Subclasses assign parameters and sub-modules as attributes in ``__init__``
    and implement ``forward``; calling the module calls ``forward``.
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # -- registration -------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"{type(self).__name__}: call super().__init__() before assigning attribute {name!r}"
            )
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` under ``name`` (None records an absent optional parameter, e.g. bias)."""
        if param is None:
            self._parameters.pop(name, None)
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    def add_module(self, name: str, module: "Module") -> None:
        """Register ``module`` as a child under ``name``."""
        setattr(self, name, module)

    # -- traversal ----------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        yield from self._modules.items()

    def children(self) -> Iterator["Module"]:
        for _, m in self.named_children():
            yield m

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        """This module and every descendant, with dotted paths ("" for self)."""
        seen: set[int] = set()
        stack = [(prefix, self)]
        while stack:
            name, m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            yield name, m
            kids = [(f"{name}.{k}" if name else k, c) for k, c in m._modules.items()]
            stack.extend(reversed(kids))

    def modules(self) -> Iterator["Module"]:
        for _, m in self.named_modules():
            yield m

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """``(dotted name, parameter)`` in definition order; a shared parameter appears once."""
        seen: set[int] = set()
        mods = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for mod_name, m in mods:
            for name, p in m._parameters.items():
                if id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    # -- modes and gradients ------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Set training mode (dropout active) on this module and all descendants."""
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> "Module":
        """Set evaluation mode (dropout off); same as ``train(False)``."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Reset every parameter's ``.grad`` to None."""
        for p in self.parameters():
            p.grad = None

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Freeze (False) or unfreeze (True) every parameter."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    # -- placement ----------------------------------------------------------
    def to(self, backend: Any = None, dtype: Any = None) -> "Module":
        """Move every parameter to ``backend`` and/or cast to ``dtype``, in place.

        Parameters keep their identity, so an optimizer built before the move
        still updates them.
        """
        be = get_backend(backend) if backend is not None else None
        for p in self.parameters():
            data = p.data
            if be is not None and be is not p.backend:
                data = be.asarray(p.backend.to_numpy(data))
                p.backend = be
            if dtype is not None:
                data = data.astype(p.backend.dtype(dtype))
            p.data = data
            p.grad = None
        return self

    def double(self) -> "Module":
        return self.to(dtype="float64")

    def float(self) -> "Module":
        return self.to(dtype="float32")

    # -- state --------------------------------------------------------------
    def state_dict(self) -> "OrderedDict[str, Any]":
        """``{dotted name: host NumPy copy}`` of every parameter, in definition order."""
        return OrderedDict((name, p.numpy()) for name, p in self.named_parameters())

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> tuple[list[str], list[str]]:
        """Copy arrays (NumPy, CuPy or tensors) into the parameters of the same names.

        Shapes must match. With ``strict``, missing and unexpected keys are
        errors too; every problem is listed in one ``ValueError``.

        Returns:
            ``(missing_keys, unexpected_keys)`` (both empty when strict succeeds).

        Raises:
            TypeError: ``state`` is not a mapping (a dict, or what ``minigrad.load`` returns).
            ValueError: keys or shapes do not fit (every problem listed).
        """
        if not isinstance(state, Mapping):
            raise TypeError(
                f"load_state_dict into {type(self).__name__}: state_dict must be a mapping of names to arrays "
                f"(such as model.state_dict() or minigrad.load(path)), got {type(state).__name__}"
            )
        params = dict(self.named_parameters())
        missing = [k for k in params if k not in state]
        unexpected = [k for k in state if k not in params]
        mismatched = []
        for k, p in params.items():
            if k in state:
                shape = tuple(getattr(state[k], "shape", ()))
                if shape != p.shape:
                    mismatched.append(f"{k}: expected shape {p.shape}, got {shape}")
        problems = list(mismatched)
        if strict:
            problems = [f"missing key: {k}" for k in missing] + [f"unexpected key: {k}" for k in unexpected] + problems
        if problems:
            raise ValueError(
                f"load_state_dict into {type(self).__name__}: {len(problems)} problem(s):\n  " + "\n  ".join(problems)
            )
        for k, p in params.items():
            if k in state:
                value = state[k]
                value = value.data if isinstance(value, Tensor) else value
                p.data = p.backend.asarray(value, dtype=p.dtype).copy()
        return missing, unexpected

    # -- calling ------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _scope.get() is None:
            return self.forward(*args, **kwargs)
        with module_scope(self):  # inside record_scopes (minigrad.viz): ops know their module
            return self.forward(*args, **kwargs)

    def extra_repr(self) -> str:
        """Constructor arguments shown by ``repr`` (override in layers)."""
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


class Sequential(Module):
    """Modules applied in order: ``Sequential(Linear(5, 3), Tanh(), Linear(3, 1))``."""

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: argument {i} is a {type(m).__name__}, not a Module")
            self.add_module(str(i), m)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, i: int) -> Module:
        return list(self._modules.values())[i]

    def forward(self, x: Any) -> Any:
        for m in self._modules.values():
            x = m(x)
        return x
