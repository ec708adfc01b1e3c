"""Recurrent cells: one time step of an RNN, LSTM or GRU, written as its equations.

Shape legend: N batch, I input features, H hidden units, G = gates * H.

Each cell has PyTorch's parameters (``weight_ih (G, I)``, ``weight_hh (G, H)``,
``bias_ih (G,)``, ``bias_hh (G,)``), gate order and initialisation
U(-1/sqrt(H), 1/sqrt(H)), so a PyTorch ``state_dict`` loads unchanged.

The recurrence of each cell is a module-level ``*_step`` function that takes
the input already projected, ``xw = x W_ih^T + b_ih``, and the recurrent
weight already transposed, ``W_hh_T = W_hh^T (H, G)`` (a sequence layer
computes both once, not at every step); the cells and the multi-step layers in
[`minigrad.nn.rnn`][minigrad.nn.rnn] share it, so each set of equations is written exactly
once. A step returns the new state and a dict of its gate activations (read by
the BPTT inspector).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from backends.choices import did_you_mean
from minigrad.backend import get_backend
from minigrad.nn.module import Module, Parameter, check_int_arg
from minigrad.tensor import DEFAULT_FLOAT, Tensor, check_float_input, check_input

NONLINEARITIES = ("tanh", "relu", "sigmoid")


def check_nonlinearity(who: str, nonlinearity: Any) -> str:
    """``nonlinearity`` if it is one of ``NONLINEARITIES``; else a ValueError naming ``who`` and listing them."""
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"{who}: nonlinearity must be one of {NONLINEARITIES}, got {nonlinearity!r}"
                         + did_you_mean(str(nonlinearity), NONLINEARITIES))
    return nonlinearity


def rnn_step(xw: Tensor, h: Tensor, W_hh_T: Tensor, b_hh: Tensor | None, nonlinearity: str = "tanh"):
    """h' = f(x W_ih^T + b_ih + h W_hh^T + b_hh), with f = tanh, relu or sigmoid.

    Args:
        xw: ``(N, H)`` input projection x W_ih^T + b_ih.
        h: ``(N, H)`` previous hidden state.
        W_hh_T: ``(H, H)`` recurrent weight, transposed.
        b_hh: ``(H,)`` recurrent bias, or None (absent, or already in ``xw``).
        nonlinearity: one of ``NONLINEARITIES``; else a ValueError listing them.
    """
    check_nonlinearity("rnn_step", nonlinearity)  # else getattr below could call any Tensor method
    a = xw + h @ W_hh_T
    if b_hh is not None:
        a = a + b_hh
    h = getattr(a, nonlinearity)()
    return h, {"h": h}


def lstm_step(xw: Tensor, state: tuple[Tensor, Tensor], W_hh_T: Tensor, b_hh: Tensor | None):
    """One LSTM step (gate order i, f, g, o, as in PyTorch)::

        i  = sigmoid(W_ii x + b_ii + W_hi h + b_hi)
        f  = sigmoid(W_if x + b_if + W_hf h + b_hf)
        g  = tanh(W_ig x + b_ig + W_hg h + b_hg)
        o  = sigmoid(W_io x + b_io + W_ho h + b_ho)
        c' = f * c + i * g
        h' = o * tanh(c')

    Args:
        xw: ``(N, 4H)`` input projection x W_ih^T + b_ih.
        state: ``(h, c)``, each ``(N, H)``.
        W_hh_T: ``(H, 4H)`` recurrent weight, transposed.
        b_hh: ``(4H,)`` recurrent bias, or None (absent, or already in ``xw``).
    """
    h, c = state
    H = h.shape[-1]
    gates = xw + h @ W_hh_T
    if b_hh is not None:
        gates = gates + b_hh
    i = gates[:, 0:H].sigmoid()
    f = gates[:, H : 2 * H].sigmoid()
    g = gates[:, 2 * H : 3 * H].tanh()
    o = gates[:, 3 * H : 4 * H].sigmoid()
    c = f * c + i * g
    h = o * c.tanh()
    return (h, c), {"i": i, "f": f, "g": g, "o": o, "c": c, "h": h}


def gru_step(xw: Tensor, h: Tensor, W_hh_T: Tensor, b_hh: Tensor | None):
    """One GRU step (gate order r, z, n, as in PyTorch)::

        r  = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
        z  = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
        n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))
        h' = (1 - z) * n + z * h

    Args:
        xw: ``(N, 3H)`` input projection x W_ih^T + b_ih.
        h: ``(N, H)`` previous hidden state.
        W_hh_T: ``(H, 3H)`` recurrent weight, transposed.
        b_hh: ``(3H,)`` recurrent bias (inside the reset gate's product for n), or None.
    """
    H = h.shape[-1]
    hw = h @ W_hh_T
    if b_hh is not None:
        hw = hw + b_hh
    r = (xw[:, 0:H] + hw[:, 0:H]).sigmoid()
    z = (xw[:, H : 2 * H] + hw[:, H : 2 * H]).sigmoid()
    n = (xw[:, 2 * H : 3 * H] + r * hw[:, 2 * H : 3 * H]).tanh()
    h = (1 - z) * n + z * h
    return h, {"r": r, "z": z, "n": n, "h": h}


def init_recurrent_(params: list[Parameter], hidden_size: int) -> None:
    """PyTorch's recurrent initialisation: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H))."""
    k = 1.0 / math.sqrt(hidden_size)
    for p in params:
        p.data = p.backend.uniform(-k, k, p.shape, p.dtype)


class _CellBase(Module):
    """Parameters and initialisation shared by the three cells."""

    gates = 1
    state_names: tuple[str, ...] = ("h",)

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, dtype: Any = None, backend: Any = None):
        super().__init__()
        name = type(self).__name__
        for arg, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                check_int_arg(name, arg, value, 1)
            if value < 1:
                raise ValueError(f"{name}: input_size and hidden_size must be >= 1, got {arg}={value!r}")
        input_size, hidden_size = int(input_size), int(hidden_size)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        be = get_backend(backend)
        dt = be.dtype(dtype or DEFAULT_FLOAT)
        G = self.gates * hidden_size

        def param(*shape: int) -> Parameter:
            return Parameter(be.xp.zeros(shape, dtype=dt), backend=be)

        self.weight_ih = param(G, input_size)
        self.weight_hh = param(G, hidden_size)
        self.register_parameter("bias_ih", param(G) if bias else None)
        self.register_parameter("bias_hh", param(G) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init_recurrent_(list(self.parameters()), self.hidden_size)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")

    def _project(self, x: Tensor) -> Tensor:
        check_float_input(type(self).__name__, check_input(type(self).__name__, x))
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{type(self).__name__}: expected input (N, {self.input_size}) or ({self.input_size},), got {x.shape}"
            )
        xw = x @ self.weight_ih.T
        return xw + self.bias_ih if self.bias else xw

    def _zeros(self, x: Tensor) -> Tensor:
        shape = (x.shape[0], self.hidden_size) if x.ndim == 2 else (self.hidden_size,)
        return Tensor._wrap(x.backend.xp.zeros(shape, dtype=self.weight_hh.dtype), x.backend)

    def _check_state(self, x: Tensor, h: Tensor, what: str) -> None:
        expected = (x.shape[0], self.hidden_size) if x.ndim == 2 else (self.hidden_size,)
        if h.shape != expected:
            raise ValueError(f"{type(self).__name__}: {what} should have shape {expected}, got {h.shape}")

    def forward(self, x: Tensor, state: Any = None) -> Any:
        """One step: ``x (N, I)`` or ``(I,)`` and the state (zeros when None) -> the new state."""
        xw = self._project(x)
        paired = len(self.state_names) > 1
        if state is None:
            state = tuple(self._zeros(x) for _ in self.state_names) if paired else self._zeros(x)
        for name, s in zip(self.state_names, state if paired else (state,)):
            self._check_state(x, s, name)
        if x.ndim == 2:
            return self.step(xw, state)
        # unbatched (I,): run as a batch of one, as PyTorch's cells do
        batch = tuple(s.unsqueeze(0) for s in state) if paired else state.unsqueeze(0)
        new = self.step(xw.unsqueeze(0), batch)
        return tuple(s.squeeze(0) for s in new) if paired else new.squeeze(0)

    def step(self, xw: Tensor, state: Any) -> Any:
        """The recurrence on a batch: projected input ``xw (N, G)`` and state -> new state."""
        raise NotImplementedError


class RNNCell(_CellBase):
    """Elman cell: h' = f(x W_ih^T + b_ih + h W_hh^T + b_hh), f = tanh, relu or sigmoid.

    ``forward(x (N, I) or (I,), h (N, H) or None) -> h' (N, H)``.
    The sigmoid option is not in PyTorch; it is here for the vanishing-gradient lessons.

    Raises:
        ValueError: ``nonlinearity`` is not one of ``NONLINEARITIES`` (the message lists them).
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 dtype: Any = None, backend: Any = None):
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"RNNCell: nonlinearity must be one of {NONLINEARITIES}, got {nonlinearity!r}"
                             + did_you_mean(nonlinearity, NONLINEARITIES))
        super().__init__(input_size, hidden_size, bias, dtype, backend)
        self.nonlinearity = nonlinearity

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.nonlinearity == "tanh" else f", nonlinearity={self.nonlinearity!r}")

    def step(self, xw: Tensor, h: Tensor) -> Tensor:
        return rnn_step(xw, h, self.weight_hh.T, self.bias_hh, self.nonlinearity)[0]


class LSTMCell(_CellBase):
    """Long short-term memory cell (equations in [`lstm_step`][minigrad.nn.cells.lstm_step]).

    ``forward(x (N, I) or (I,), (h, c) or None) -> (h', c')``, each ``(N, H)``.
    """

    gates = 4
    state_names = ("h", "c")

    def step(self, xw: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        return lstm_step(xw, state, self.weight_hh.T, self.bias_hh)[0]


class GRUCell(_CellBase):
    """Gated recurrent unit cell (equations in [`gru_step`][minigrad.nn.cells.gru_step]).

    ``forward(x (N, I) or (I,), h (N, H) or None) -> h' (N, H)``.
    """

    gates = 3

    def step(self, xw: Tensor, h: Tensor) -> Tensor:
        return gru_step(xw, h, self.weight_hh.T, self.bias_hh)[0]
