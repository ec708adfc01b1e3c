"""Activation functions: forward and backward side by side, precise in float32.

Each op keeps full *relative* precision across its dtype's range: no
``1 - (something close to 1)``, no ``log(1 + tiny)``. Exponentials are taken
of ``-|x|`` only, so they never overflow, and the two halves of the sigmoid are
written out separately::

    e = exp(-|x|)                          in (0, 1]
    sigmoid(x)  = 1 / (1 + e)   (x >= 0),    e / (1 + e)   (x < 0)
    sigmoid(-x) = e / (1 + e)   (x >= 0),    1 / (1 + e)   (x < 0)

GELU needs the error function, which NumPy lacks: `erf` and
`erfc` below are W. J. Cody's rational approximations, written once in
``xp`` operations so that NumPy and CuPy share them.
"""

from __future__ import annotations

import math

from minigrad.autograd import Function


def _sigmoid(xp, e, positive):
    """sigmoid(t) from ``e = exp(-|t|)`` and ``positive = t >= 0``, to full relative precision."""
    return xp.where(positive, xp.ones((), dtype=e.dtype), e) / (1 + e)


def _sigmoid_parts(xp, t):
    """``(exp(-|t|), t >= 0)``: what `_sigmoid` needs, for t and for -t."""
    return xp.exp(-xp.abs(t)), t >= 0


class Softplus(Function):
    """y = log(1 + e^x) = max(x, 0) + log1p(e^-|x|); dy/dx = sigmoid(x).

    Full relative precision for very negative x, where y ~ e^x (log(1 + e^x) would round to 0);
    ``F.softplus`` adds PyTorch's ``beta`` and ``threshold`` around it.
    """

    def forward(self, x):
        xp = self.xp
        self.e, self.positive = _sigmoid_parts(xp, x)
        return xp.maximum(x, 0) + xp.log1p(self.e)

    def backward(self, gy):
        return (gy * _sigmoid(self.xp, self.e, self.positive),)


class LogSigmoid(Function):
    """y = log sigmoid(x) = min(x, 0) - log1p(e^-|x|); dy/dx = sigmoid(-x)."""

    def forward(self, x):
        xp = self.xp
        self.e, self.positive = _sigmoid_parts(xp, x)
        return xp.minimum(x, 0) - xp.log1p(self.e)

    def backward(self, gy):
        return (gy * _sigmoid(self.xp, self.e, ~self.positive),)


class LeakyRelu(Function):
    """y = x (x > 0), s x otherwise; dy/dx = 1 (x > 0), s otherwise (also at 0 and nan, as in PyTorch)."""

    def forward(self, x, negative_slope):
        self.mask, self.slope = x > 0, negative_slope
        return self.xp.where(self.mask, x, x * negative_slope)

    def backward(self, gy):
        return (self.xp.where(self.mask, gy, gy * self.slope),)


class Elu(Function):
    """y = x (x > 0), a (e^x - 1) otherwise; dy/dx = 1 (x > 0), a e^x otherwise (a at 0, as in PyTorch).

    The negative branch uses expm1, exact for small |x|; exponentials are of
    min(x, 0), so they never overflow.
    """

    def forward(self, x, alpha):
        xp = self.xp
        self.negative = x <= 0  # nan is not: it takes the identity branch, as in PyTorch
        self.xn, self.alpha = xp.minimum(x, 0), alpha
        return xp.where(self.negative, alpha * xp.expm1(self.xn), x)

    def backward(self, gy):
        return (self.xp.where(self.negative, gy * (self.alpha * self.xp.exp(self.xn)), gy),)


# ---------------------------------------------------------------------------
# the error function (W. J. Cody, "Rational Chebyshev approximations for the
# error function", Math. Comp. 23 (1969) 631-637; the coefficients of his
# SPECFUN routine CALERF). Three ranges of y = |x|:
#   y <= 0.46875:   erf(y)  = y R1(y^2)
#   0.46875 < y <= 4: erfc(y) = exp(-y^2) R2(y)
#   y > 4:          erfc(y) = exp(-y^2) (1/sqrt(pi) - z R3(z)) / y,  z = 1/y^2
# each R a ratio of polynomials, accurate to float64 rounding.
# ---------------------------------------------------------------------------
_THRESH = 0.46875
_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02, 3.20937758913846947e03,
      1.85777706184603153e-1)
_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03, 2.84423683343917062e03)
_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01, 2.98635138197400131e02,
      8.81952221241769090e02, 1.71204761263407058e03, 2.05107837782607147e03, 1.23033935479799725e03,
      2.15311535474403846e-8)
_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02, 1.62138957456669019e03,
      3.29079923573345963e03, 4.36261909014324716e03, 3.43936767414372164e03, 1.23033935480374942e03)
_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1, 1.60837851487422766e-2,
      6.58749161529837803e-4, 1.63153871373020978e-2)
_Q = (2.56852019228982242e00, 1.87295284992346725e00, 5.27905102951428412e-1, 6.05183413124413191e-2,
      2.33520497626869185e-3)
_RSQRT_PI = 0.56418958354775628695  # 1/sqrt(pi)
_SQRT1_2 = math.sqrt(0.5)
_RSQRT_2PI = 1 / math.sqrt(2 * math.pi)


def _ratio(t, top, num, den):
    """Cody's (num[top] t^k + ... ) / (t^k + ...) evaluated by Horner's rule, as in CALERF."""
    n, d = num[top] * t, t
    for a, b in zip(num[: len(den) - 1], den[: len(den) - 1]):
        n, d = (n + a) * t, (d + b) * t
    return (n + num[len(den) - 1]) / (d + den[-1])


def _erf_small(xp, x):
    """erf(x) for |x| <= 0.46875 (larger x are clamped: callers select this range only)."""
    x = xp.maximum(xp.minimum(x, _THRESH), -_THRESH)
    return x * _ratio(x * x, 4, _A, _B)


def _exp_neg_sq(xp, t, scale):
    """exp(-scale t^2) for t >= 0, without losing the relative precision of e to the rounding of t^2.

    t is split into ts = trunc(16 t)/16, whose square is exact, and the rest:
    exp(-scale ts^2) exp(-scale (t - ts)(t + ts)) (Cody's device).
    """
    t = xp.minimum(t, 1e3)  # the result is 0 long before; keeps inf - inf out
    ts = xp.trunc(t * 16) / 16
    return xp.exp(-scale * ts * ts) * xp.exp(-scale * (t - ts) * (t + ts))


def _erfc_nonneg(xp, y, e):
    """erfc(y) for y >= 0 (or nan), given ``e = exp(-y^2)`` computed precisely by the caller."""
    mid = xp.minimum(xp.maximum(y, _THRESH), 4.0)
    big = xp.minimum(xp.maximum(y, 4.0), 100.0)  # erfc is 0 beyond 27; keeps 1/y^2 finite
    z = 1 / (big * big)
    tail = xp.where(y <= 4, _ratio(mid, 8, _C, _D), (_RSQRT_PI - z * _ratio(z, 5, _P, _Q)) / big)
    return xp.where(y <= _THRESH, 1 - _erf_small(xp, y), e * tail)


def erf(xp, x):
    """The error function erf(x) = 2/sqrt(pi) int_0^x exp(-t^2) dt, elementwise on an ``xp`` array.

    Cody's rational approximations: to float64 rounding (relative error
    below 1e-15) in float64, to float32 rounding in float32.
    """
    y = xp.abs(x)
    big = xp.sign(x) * (1 - _erfc_nonneg(xp, y, _exp_neg_sq(xp, y, 1.0)))
    return xp.where(y <= _THRESH, _erf_small(xp, x), big)


def erfc(xp, x):
    """The complementary error function erfc(x) = 1 - erf(x), to full relative precision for large x."""
    c = _erfc_nonneg(xp, xp.abs(x), _exp_neg_sq(xp, xp.abs(x), 1.0))
    return xp.where(x < 0, 2 - c, c)


def _normal_cdf(xp, x):
    """``(Phi(x), exp(-x^2 / 2))`` for the standard normal: Phi(x) = erfc(-x / sqrt 2) / 2.

    exp(-x^2/2) is computed from x itself, not from the rounded x / sqrt 2,
    so Phi keeps its relative precision far into the lower tail (x = -13 in float32).
    """
    ax = xp.abs(x)
    e = _exp_neg_sq(xp, ax, 0.5)
    lower = 0.5 * _erfc_nonneg(xp, ax * _SQRT1_2, e)  # Phi(-|x|)
    return xp.where(x < 0, lower, 1 - lower), e


_GELU_APPROXIMATIONS = ("none", "tanh")
_K = math.sqrt(2 / math.pi)  # the tanh approximation's sqrt(2/pi) and 0.044715
_KAPPA = 0.044715
_XBIG = 1e4  # beyond, Phi(x) and the tanh approximation's sigmoid are exactly 0 or 1 in any float dtype


class Gelu(Function):
    """y = x Phi(x), Phi the standard normal CDF; dy/dx = Phi(x) + x phi(x).

    With ``approximate="tanh"``: y = x (1 + tanh u) / 2 = x sigmoid(2u) with
    u = sqrt(2/pi) (x + 0.044715 x^3), and dy/dx = s + 2 x s (1 - s) u',
    s = sigmoid(2u). Both forms avoid ``1 + erf`` and ``1 + tanh``, which
    lose all relative precision for negative x. The tanh form is evaluated in
    float64 for every input dtype: exp would amplify the rounding error of
    2u in float32 (|2u| times a few ulps) into 1e-5 relative for x near -9,
    and its tail values pass through subnormal intermediates. The derivative at
    |x| > 1e4 is computed at +-1e4, where it is already exactly 1 or 0:
    PyTorch's is nan at +-inf (and for the tanh form already at +-1e300) from inf * 0.
    """

    def forward(self, x, approximate):
        xp = self.xp
        self.approximate = approximate
        xc = xp.maximum(xp.minimum(x, _XBIG), -_XBIG)
        if approximate == "tanh":  # in float64: see the class docstring
            self.w = w = xc.astype(xp.float64, copy=False)
            self.e, self.positive = _sigmoid_parts(xp, 2 * _K * w * (1 + _KAPPA * w * w))
            s = _sigmoid(xp, self.e, self.positive)
            with self.backend.ignore_fp_errors():  # -inf * 0 = nan, PyTorch's value at -inf
                return (x.astype(xp.float64, copy=False) * s).astype(x.dtype, copy=False)
        self.cdf, e = _normal_cdf(xp, x)
        self.x_pdf = xc * (e * _RSQRT_2PI)
        with self.backend.ignore_fp_errors():  # -inf * 0 = nan, PyTorch's value at -inf
            return x * self.cdf

    def backward(self, gy):
        xp = self.xp
        if self.approximate == "tanh":
            w = self.w
            s, s_neg = _sigmoid(xp, self.e, self.positive), _sigmoid(xp, self.e, ~self.positive)
            du = 2 * _K * (1 + 3 * _KAPPA * w * w)
            return (gy * (s + w * du * s * s_neg).astype(gy.dtype, copy=False),)
        return (gy * (self.cdf + self.x_pdf),)
