"""RMSprop, with optional momentum, centering and weight decay."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from minigrad.optim.optimizer import Optimizer, check_nonnegative
from minigrad.tensor import Tensor


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture 6e), PyTorch's formulation.

    $$
    \begin{aligned}
    g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
    v_t &= \alpha v_{t-1} + (1 - \alpha) g_t^2 \\
    \bar g_t &= \alpha \bar g_{t-1} + (1 - \alpha) g_t \quad \text{(centered)} \\
    d_t &= \sqrt{v_t - \bar g_t^2} + \epsilon \ \text{(centered)}, \qquad
          d_t = \sqrt{v_t} + \epsilon \ \text{(otherwise)} \\
    b_t &= \mu b_{t-1} + g_t / d_t, \quad \theta_t = \theta_{t-1} - \gamma b_t \ \text{(momentum)} \\
    \theta_t &= \theta_{t-1} - \gamma g_t / d_t \ \text{(no momentum)}
    \end{aligned}
    $$

    Args:
        params: parameters or param groups.
        lr: learning rate \(\gamma\).
        alpha: smoothing constant \(\alpha\) of the squared-gradient average.
        eps: \(\epsilon\), added after the square root.
        weight_decay: L2 penalty \(\lambda\) added to the gradient.
        momentum: \(\mu\).
        centered: normalise by an estimate of the gradient's variance instead
            of its second moment.
    """

    state_names = ("step", "square_avg", "grad_avg", "momentum_buffer")

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        defaults = {
            "lr": lr, "alpha": alpha, "eps": eps,
            "weight_decay": weight_decay, "momentum": momentum, "centered": centered,
        }
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        for name in ("alpha", "eps", "weight_decay", "momentum"):
            group[name] = check_nonnegative("RMSprop", name, group[name])

    def _update(self, p: Tensor, g: Any, state: dict[str, Any], group: dict[str, Any]) -> Any:
        xp = p.backend.xp
        alpha, mu = group["alpha"], group["momentum"]
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * p.data
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(p.data)
        state["step"] += 1
        v = state["square_avg"]
        v *= alpha
        v += (1 - alpha) * g * g  # scaled first, as torch.addcmul: g * g alone overflows float32 above 1.8e19
        if group["centered"]:
            g_avg = state.setdefault("grad_avg", xp.zeros_like(p.data))
            g_avg *= alpha
            g_avg += (1 - alpha) * g
            denom = xp.sqrt(v - g_avg * g_avg) + group["eps"]
        else:
            denom = xp.sqrt(v) + group["eps"]
        if mu > 0:
            buf = state.setdefault("momentum_buffer", xp.zeros_like(p.data))
            buf *= mu
            buf += g / denom
            return p.data - group["lr"] * buf
        return p.data - group["lr"] * (g / denom)
