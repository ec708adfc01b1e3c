"""Adam (L2 weight decay added to the gradient) and AdamW (decoupled weight decay)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from minigrad.optim.optimizer import Optimizer, check_betas, check_nonnegative
from minigrad.tensor import Tensor


class Adam(Optimizer):
    r"""Adam (Kingma and Ba, 2015), PyTorch's default (non-amsgrad) formulation.

    With gradient \(g_t\) and step count \(t\) (1, 2, ...):

    $$
    \begin{aligned}
    g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
    m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t \\
    v_t &= \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
    \theta_t &= \theta_{t-1} - \frac{\gamma}{1 - \beta_1^t}
        \frac{m_t}{\sqrt{v_t} / \sqrt{1 - \beta_2^t} + \epsilon}
    \end{aligned}
    $$

    Args:
        params: parameters or param groups.
        lr: learning rate \(\gamma\).
        betas: \((\beta_1, \beta_2)\), decay rates of the moment estimates.
        eps: \(\epsilon\), added to the denominator.
        weight_decay: L2 penalty \(\lambda\) added to the gradient.
    """

    decoupled_weight_decay = False
    state_names = ("step", "exp_avg", "exp_avg_sq")

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        betas = tuple(betas) if isinstance(betas, list) else betas
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay})

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        who = type(self).__name__
        check_betas(who, group["betas"])
        group["eps"] = check_nonnegative(who, "eps", group["eps"])
        group["weight_decay"] = check_nonnegative(who, "weight_decay", group["weight_decay"])

    def _update(self, p: Tensor, g: Any, state: dict[str, Any], group: dict[str, Any]) -> Any:
        xp = p.backend.xp
        lr, (beta1, beta2), wd = group["lr"], group["betas"], group["weight_decay"]
        w = p.data
        if wd != 0:
            if self.decoupled_weight_decay:
                w = w * (1 - lr * wd)
            else:
                g = g + wd * w
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(w)
            state["exp_avg_sq"] = xp.zeros_like(w)
        state["step"] += 1
        t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g  # scaled first, as torch.addcmul: g * g alone overflows float32 above 1.8e19
        bias_correction1 = 1 - beta1**t
        bias_correction2 = 1 - beta2**t
        denom = xp.sqrt(v) / math.sqrt(bias_correction2) + group["eps"]
        return w - (lr / bias_correction1) * (m / denom)


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov and Hutter, 2019).

    Before the Adam step (which then gets no L2 term), the weights shrink:
    \(\theta_{t-1} \leftarrow \theta_{t-1} (1 - \gamma \lambda)\).

    Args:
        params: parameters or param groups.
        lr: learning rate \(\gamma\).
        betas: \((\beta_1, \beta_2)\).
        eps: \(\epsilon\).
        weight_decay: \(\lambda\) (default 1e-2, as in PyTorch).
    """

    decoupled_weight_decay = True

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
