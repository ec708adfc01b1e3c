"""Learning-rate schedules: step decay, exponential decay, cosine annealing, reduce on plateau.

A scheduler wraps an optimizer and rewrites ``group["lr"]`` of each param
group when ``step()`` is called, usually once per epoch after the optimizer's
own steps::

    opt = SGD(model.parameters(), lr=0.1)
    sched = StepLR(opt, step_size=10, gamma=0.5)
    for epoch in range(epochs):
        train_one_epoch(model, opt)
        sched.step()

The schedules follow PyTorch's: each new rate is computed from the group's
current rate (so a rate changed by hand carries on from there), and the
values agree with ``torch.optim.lr_scheduler`` at every epoch. To resume
training, save and load both the optimizer's and the scheduler's
``state_dict()``.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from backends.choices import did_you_mean, quoted
from minigrad.optim.optimizer import Optimizer, check_count, check_nonnegative

MODES = ("min", "max")  # ReduceLROnPlateau's mode
THRESHOLD_MODES = ("rel", "abs")


class LRScheduler:
    """Base class of the epoch-based schedules.

    Subclasses implement ``_next_lr(lr, base_lr)``: the rate for epoch
    ``self.last_epoch`` (1, 2, ...) from the group's current rate ``lr`` and
    its initial rate ``base_lr``.

    Attributes:
        base_lrs: each group's learning rate when the scheduler was created.
        last_epoch: how many times ``step()`` was called.
    """

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lrs = [group["lr"] for group in optimizer.param_groups]
        self.last_epoch = 0
        self._last_lr = list(self.base_lrs)

    def _groups(self) -> list[dict[str, Any]]:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.base_lrs):
            raise RuntimeError(
                f"{type(self).__name__}: the optimizer has {len(groups)} param groups but had "
                f"{len(self.base_lrs)} when the scheduler was created; create the scheduler after add_param_group"
            )
        return groups

    def step(self) -> None:
        """Advance one epoch and set every group's learning rate."""
        self.last_epoch += 1
        groups = self._groups()
        lrs = [self._next_lr(group["lr"], base) for group, base in zip(groups, self.base_lrs)]
        for group, lr in zip(groups, lrs):
            group["lr"] = lr
        self._last_lr = lrs

    def _next_lr(self, lr: float, base_lr: float) -> float:
        raise NotImplementedError(f"{type(self).__name__} must implement _next_lr()")

    def get_last_lr(self) -> list[float]:
        """The learning rate of each group as set by the last ``step()`` (or the initial ones)."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer, as plain Python data (a copy)."""
        return {k: copy.deepcopy(v) for k, v in vars(self).items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a [`state_dict`][minigrad.optim.lr_scheduler.LRScheduler.state_dict] of the same scheduler class.

        Raises:
            ValueError: the keys differ from this scheduler's (the message lists the missing, the
                unexpected and the expected keys).
        """
        own = {k for k in vars(self) if k != "optimizer"}
        unexpected = sorted(set(state_dict) - own)
        missing = sorted(own - set(state_dict))
        if unexpected or missing:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: missing keys {missing}, unexpected keys {unexpected}; "
                f"expected keys: {quoted(sorted(own))} (was the state saved from another scheduler class?)"
            )
        for k, v in state_dict.items():
            setattr(self, k, copy.deepcopy(v))


class StepLR(LRScheduler):
    r"""Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

    \(\eta_t = \eta_{t-1} \gamma\) when \(t\) is a multiple of ``step_size``,
    else \(\eta_t = \eta_{t-1}\); so \(\eta_t = \eta_0 \gamma^{\lfloor t / s \rfloor}\).

    Args:
        optimizer: the optimizer whose learning rates to schedule.
        step_size: epochs between decays (a positive integer).
        gamma: multiplicative factor.

    Raises:
        ValueError: ``step_size`` is not a positive int, or ``gamma`` is negative or nan.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        step_size = check_count("StepLR", "step_size", step_size, 1)
        gamma = check_nonnegative("StepLR", "gamma", gamma)
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer)

    def _next_lr(self, lr: float, base_lr: float) -> float:
        return lr * self.gamma if self.last_epoch % self.step_size == 0 else lr


class ExponentialLR(LRScheduler):
    r"""Multiply the learning rate by ``gamma`` every epoch: \(\eta_t = \eta_{t-1} \gamma\).

    Args:
        optimizer: the optimizer whose learning rates to schedule.
        gamma: multiplicative factor.

    Raises:
        ValueError: ``gamma`` is negative or nan.
    """

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        gamma = check_nonnegative("ExponentialLR", "gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer)

    def _next_lr(self, lr: float, base_lr: float) -> float:
        return lr * self.gamma


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from the initial rate \(\eta_{max}\) down to ``eta_min`` over ``T_max`` epochs.

    The closed form (SGDR without restarts) is

    $$
    \eta_t = \eta_{min} + \tfrac12 (\eta_{max} - \eta_{min}) (1 + \cos(\pi t / T_{max})),
    $$

    computed, like PyTorch, by the recursion

    $$
    \eta_t = \eta_{min} + (\eta_{t-1} - \eta_{min})
        \frac{1 + \cos(\pi t / T_{max})}{1 + \cos(\pi (t - 1) / T_{max})},
    $$

    which carries on from a rate changed by hand. Where the denominator is zero
    (\(t - 1\) an odd multiple of \(T_{max}\), the bottom of the cosine)
    the step is the closed form's increment
    \(\tfrac12 (\eta_{max} - \eta_{min}) (1 - \cos(\pi / T_{max}))\).
    Past ``T_max`` the rate climbs back along the cosine.

    Args:
        optimizer: the optimizer whose learning rates to schedule.
        T_max: epochs of one half cosine period (a positive integer).
        eta_min: the lowest learning rate.

    Raises:
        ValueError: ``T_max`` is not a positive int, or ``eta_min`` is negative or nan.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        T_max = check_count("CosineAnnealingLR", "T_max", T_max, 1)
        eta_min = check_nonnegative("CosineAnnealingLR", "eta_min", eta_min)
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer)

    def _next_lr(self, lr: float, base_lr: float) -> float:
        t, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        if (t - 1 - T) % (2 * T) == 0:
            return lr + (base_lr - eta_min) * (1 - math.cos(math.pi / T)) / 2
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return eta_min + (lr - eta_min) * ratio


class ReduceLROnPlateau(LRScheduler):
    """Divide the learning rate when a metric has stopped improving.

    ``step(metric)`` once per epoch (e.g. with the validation loss). A metric
    counts as an improvement on the best so far when, for ``mode="min"``, it is
    below ``best * (1 - threshold)`` (``threshold_mode="rel"``) or
    ``best - threshold`` (``"abs"``); for ``mode="max"``, above
    ``best * (1 + threshold)`` or ``best + threshold``. After more than
    ``patience`` epochs in a row without improvement, every group's rate
    becomes ``max(lr * factor, min_lr)`` (unchanged when that changes it by at
    most ``eps``), and then ``cooldown`` epochs pass in which bad epochs are
    not counted.

    Args:
        optimizer: the optimizer whose learning rates to schedule.
        mode: ``"min"`` (lower is better, e.g. a loss) or ``"max"`` (e.g. accuracy).
        factor: multiplicative factor, < 1.
        patience: bad epochs tolerated before reducing.
        threshold: how much better counts as an improvement.
        threshold_mode: ``"rel"`` or ``"abs"``.
        cooldown: epochs to wait after a reduction before counting bad epochs again.
        min_lr: lower bound, one number or one per param group.
        eps: smallest change of the rate worth applying.

    Raises:
        ValueError: ``mode`` is not ``"min"`` or ``"max"``, ``threshold_mode`` is not ``"rel"`` or
            ``"abs"`` (the messages suggest the closest), ``factor`` is not in [0, 1), ``patience`` or
            ``cooldown`` is not an int >= 0, ``threshold``, ``eps`` or a ``min_lr`` is negative or nan,
            or ``min_lr`` has the wrong length.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | list[float] = 0.0,
        eps: float = 1e-8,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}"
                             + did_you_mean(mode, MODES))
        if threshold_mode not in THRESHOLD_MODES:
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}"
                             + did_you_mean(threshold_mode, THRESHOLD_MODES))
        factor = check_nonnegative("ReduceLROnPlateau", "factor", factor)
        if not factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be < 1, got {factor!r}")
        patience = check_count("ReduceLROnPlateau", "patience", patience, 0)
        cooldown = check_count("ReduceLROnPlateau", "cooldown", cooldown, 0)
        threshold = check_nonnegative("ReduceLROnPlateau", "threshold", threshold)
        eps = check_nonnegative("ReduceLROnPlateau", "eps", eps)
        if isinstance(min_lr, (list, tuple)):
            min_lr = [check_nonnegative("ReduceLROnPlateau", "min_lr", value) for value in min_lr]
        else:
            min_lr = check_nonnegative("ReduceLROnPlateau", "min_lr", min_lr)
        super().__init__(optimizer)
        n_groups = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n_groups:
                raise ValueError(f"ReduceLROnPlateau: got {len(min_lr)} min_lr values for {n_groups} param groups")
            self.min_lrs = list(min_lr)
        else:
            self.min_lrs = [min_lr] * n_groups
        self.mode = mode
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.cooldown = cooldown
        self.eps = eps
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0

    def _is_better(self, metric: float) -> bool:
        best, th = self.best, self.threshold
        if self.mode == "min":
            return metric < (best * (1.0 - th) if self.threshold_mode == "rel" else best - th)
        return metric > (best * (th + 1.0) if self.threshold_mode == "rel" else best + th)

    def step(self, metric: Any) -> None:  # type: ignore[override]
        """Record this epoch's ``metric`` (a number or one-element tensor) and reduce the rates if it plateaued."""
        metric = float(metric)
        self.last_epoch += 1
        if self._is_better(metric):
            self.best = metric
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        groups = self._groups()
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(groups, self.min_lrs):
                old = float(group["lr"])
                new = max(old * self.factor, min_lr)
                if old - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in groups]
