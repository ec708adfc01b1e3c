"""Stochastic gradient descent with optional momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from minigrad.optim.optimizer import Optimizer, check_nonnegative
from minigrad.tensor import Tensor


class SGD(Optimizer):
    r"""Stochastic gradient descent, PyTorch's formulation.

    With gradient \(g_t\), weight decay \(\lambda\), momentum \(\mu\),
    dampening \(\tau\) and learning rate \(\gamma\):

    $$
    \begin{aligned}
    g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
    b_t &= g_t \ (t = 1), \qquad b_t = \mu b_{t-1} + (1 - \tau) g_t \ (t > 1) \\
    g_t &\leftarrow g_t + \mu b_t \ \text{(nesterov)}, \qquad g_t \leftarrow b_t \ \text{(otherwise)} \\
    \theta_t &= \theta_{t-1} - \gamma g_t
    \end{aligned}
    $$

    (the momentum lines only when \(\mu > 0\)).

    Args:
        params: parameters or param groups.
        lr: learning rate \(\gamma\) (PyTorch's default, 1e-3).
        momentum: \(\mu\).
        dampening: \(\tau\), damps the gradient's contribution to the momentum buffer.
        weight_decay: L2 penalty \(\lambda\) added to the gradient.
        nesterov: Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
    """

    state_names = ("momentum_buffer",)

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        defaults = {
            "lr": lr, "momentum": momentum, "dampening": dampening, "weight_decay": weight_decay, "nesterov": nesterov,
        }
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        for name in ("momentum", "dampening", "weight_decay"):
            group[name] = check_nonnegative("SGD", name, group[name])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                f"SGD: nesterov momentum needs momentum > 0 and dampening == 0, "
                f"got momentum={group['momentum']} and dampening={group['dampening']}"
            )

    def _update(self, p: Tensor, g: Any, state: dict[str, Any], group: dict[str, Any]) -> Any:
        mu = group["momentum"]
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * p.data
        if mu != 0:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = g.copy()
            else:
                buf = state["momentum_buffer"]
                buf *= mu
                buf += (1 - group["dampening"]) * g
            buf = state["momentum_buffer"]
            g = g + mu * buf if group["nesterov"] else buf
        return p.data - group["lr"] * g
