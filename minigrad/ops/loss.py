"""Pointwise loss primitives whose PyTorch gradient is not the derivative of a composition.

Binary cross-entropy on probabilities clamps each log at -100 so that p = 0
or 1 gives a finite loss, and PyTorch's gradient divides by p (1 - p) clamped
at 1e-12, finite there too. Composed from ``log`` and ``clip`` the gradient
would be 0/0 = nan at p = 0 and 1, so it is a primitive.
"""

from __future__ import annotations

from minigrad.autograd import Function, unbroadcast

LOG_CLAMP = -100.0  # PyTorch's lower bound on each log
EPSILON = 1e-12  # PyTorch's lower bound on p (1 - p) in the gradient


class BinaryCrossEntropy(Function):
    """l = -(y max(log p, -100) + (1 - y) max(log(1 - p), -100)) for probabilities p and targets y.

    dl/dp = (p - y) / max(p (1 - p), 1e-12): finite at p = 0 and 1 (e.g. -1e12 for
    p = 0, y = 1), as in PyTorch, which does not differentiate its clamp.
    dl/dy = log(1 - p) - log(p), unclamped: +inf at p = 0 and -inf at p = 1, as in PyTorch.
    log(1 - p) is computed as log1p(-p), exact for small p.
    """

    def forward(self, p, y):
        xp = self.xp
        inside_lo, inside_hi = p > 0, p < 1  # logs of 0 are -inf, written so that nothing warns
        log_p = xp.where(inside_lo, xp.log(xp.where(inside_lo, p, 1)), -xp.inf)
        log_q = xp.where(inside_hi, xp.log1p(-xp.where(inside_hi, p, 0)), -xp.inf)
        self.p, self.y = p, y
        if self.needs_input_grad[1]:
            self.log_odds = log_q - log_p
        return -(y * xp.maximum(log_p, LOG_CLAMP) + (1 - y) * xp.maximum(log_q, LOG_CLAMP))

    def backward(self, gy):
        p, y, xp = self.p, self.y, self.xp
        gp = gy * (p - y) / xp.maximum(p * (1 - p), EPSILON) if self.needs_input_grad[0] else None
        gt = gy * self.log_odds if self.needs_input_grad[1] else None
        return (None if gp is None else unbroadcast(gp, p.shape)), (None if gt is None else unbroadcast(gt, y.shape))
