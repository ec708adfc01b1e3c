"""Multi-step recurrent layers: RNN, LSTM and GRU, stacked and bidirectional.

Shape legend: N batch, T time steps, I input features, H hidden units,
D directions (2 if bidirectional else 1), L layers.

A layer is a Python loop over time steps that applies one cell step (from
[`minigrad.nn.cells`][minigrad.nn.cells]) with the same weights at every step. The loop
records an ordinary graph, the network unrolled in time, so
backpropagation through time is ``loss.backward()`` on it.

``lengths`` makes a padded batch exact: at a padded step the state is carried
unchanged and the output is zero, so the forward direction's final state is
the state at each row's last real token and the reverse direction, which
walks from T-1 down to 0, starts from the initial state at each row's last
real token. Padded inputs are zeroed before use, so garbage there cannot
reach any output or gradient.

The one deliberate difference from PyTorch: ``batch_first=True`` by default,
(N, T, I) like Keras and the lecture notes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from backends.choices import did_you_mean
from minigrad import ops
from minigrad.backend import get_backend
from minigrad.graph_scope import graph_scope, step_scope
from minigrad.nn import functional as F
from minigrad.nn.cells import NONLINEARITIES, check_nonlinearity, gru_step, init_recurrent_, lstm_step, rnn_step
from minigrad.nn.inspector import active_inspector
from minigrad.nn.masking import check_lengths, step_mask
from minigrad.nn.module import Module, Parameter
from minigrad.tensor import DEFAULT_FLOAT, Tensor, _apply, concat, promote, stack, where

IMPLS = ("fused", "composed")

_default_impl: ContextVar[str] = ContextVar("minigrad_recurrent_impl", default="fused")


@contextmanager
def recurrent_impl(impl: str) -> Iterator[None]:
    """Run recurrent layers with ``impl`` inside the block: ``"fused"`` (the default) or ``"composed"``.

    ``"composed"`` runs the readable loop of cell steps (one graph node per op,
    what the course teaches); ``"fused"`` runs one kernel per layer and
    direction with a hand-written BPTT backward. Both give the same numbers
    (the tests compare them). A layer's own ``impl`` argument wins over this.

        >>> with mg.nn.recurrent_impl("composed"):
        ...     output, h_n = rnn(x)

    Raises:
        ValueError: ``impl`` is not one of ``IMPLS`` (the message lists them).
    """
    if impl is None:
        raise ValueError(f"recurrent_impl: impl must be one of {IMPLS}, got None")
    token = _default_impl.set(_check_impl("recurrent_impl", impl))
    try:
        yield
    finally:
        _default_impl.reset(token)


def _check_impl(who: str, impl: Any) -> Any:
    if impl is not None and impl not in IMPLS:
        raise ValueError(f"{who}: impl must be one of {IMPLS}, got {impl!r}" + did_you_mean(str(impl), IMPLS))
    return impl


class RNNBase(Module):
    """Parameters, checks and the time loop shared by [`RNN`][minigrad.nn.RNN], [`LSTM`][minigrad.nn.LSTM] and
    [`GRU`][minigrad.nn.GRU]."""

    gates = 1
    gate_names: tuple[str, ...] = ("h",)
    is_lstm = False
    fold_hidden_bias = True  # b_hh can join b_ih in the input projection (not for GRU)

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = True, dropout: float = 0.0, bidirectional: bool = False,
                 dtype: Any = None, backend: Any = None, impl: str | None = None):
        super().__init__()
        name = type(self).__name__
        self.impl = _check_impl(name, impl)
        import numbers

        from minigrad.nn.module import check_int_arg
        sizes = {"input_size": input_size, "hidden_size": hidden_size, "num_layers": num_layers}
        for arg, value in sizes.items():
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                check_int_arg(name, arg, value, 1)
            if value < 1:
                raise ValueError(f"{name}: input_size, hidden_size and num_layers must be >= 1, got {arg}={value!r}")
        input_size, hidden_size, num_layers = int(input_size), int(hidden_size), int(num_layers)
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0 <= dropout < 1:
            raise ValueError(f"{name}: dropout must be in [0, 1), got {dropout}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout, self.bidirectional = bias, batch_first, dropout, bidirectional
        self.num_directions = 2 if bidirectional else 1
        be = get_backend(backend)
        dt = be.dtype(dtype or DEFAULT_FLOAT)
        G = self.gates * hidden_size
        for layer in range(num_layers):
            in_size = input_size if layer == 0 else hidden_size * self.num_directions
            for suffix in self._suffixes(layer):
                setattr(self, f"weight_ih{suffix}", Parameter(be.xp.zeros((G, in_size), dtype=dt), backend=be))
                setattr(self, f"weight_hh{suffix}", Parameter(be.xp.zeros((G, hidden_size), dtype=dt), backend=be))
                if bias:
                    setattr(self, f"bias_ih{suffix}", Parameter(be.xp.zeros((G,), dtype=dt), backend=be))
                    setattr(self, f"bias_hh{suffix}", Parameter(be.xp.zeros((G,), dtype=dt), backend=be))
        self.reset_parameters()

    def _suffixes(self, layer: int) -> list[str]:
        return [f"_l{layer}", f"_l{layer}_reverse"][: self.num_directions]

    def reset_parameters(self) -> None:
        """Every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H)), as in PyTorch."""
        init_recurrent_(list(self.parameters()), self.hidden_size)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if not self.batch_first:
            s += ", batch_first=False"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s

    def weights(self, layer: int, direction: int) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        """``(weight_ih, weight_hh, bias_ih, bias_hh)`` of one layer and direction."""
        suffix = self._suffixes(layer)[direction]
        get = lambda name: getattr(self, f"{name}{suffix}", None)  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")

    def summary_breakdown(self) -> list[str]:
        """Per layer, direction and gate: H*I + H*H + 2H parameters per gate (used by ``nn.summary``)."""
        H, G = self.hidden_size, self.gates
        bias = 2 if self.bias else 0
        lines = [f"{G} gate(s) ({', '.join(self.gate_names)}) per direction: {G}(H*I + H*H + {bias}H)"]
        for layer in range(self.num_layers):
            I = self.input_size if layer == 0 else H * self.num_directions
            per_gate = H * I + H * H + bias * H
            for direction in range(self.num_directions):
                side = "reverse" if direction else "forward"
                lines.append(
                    f"layer {layer} {side}: {G} x ({H}*{I} + {H}*{H} + {bias}*{H}) = {G} x {per_gate} = {G * per_gate}"
                )
        if self.bias:
            one_bias = G * (H * self.input_size + H * H + H)
            lines.append(
                f"two bias vectors per gate (b_ih and b_hh, PyTorch's layout); with one (Keras, the notes) "
                f"layer 0 forward would have {one_bias}"
            )
        return lines

    # -- the recurrence of one cell type (overridden) --------------------------
    def step(self, xw: Tensor, state: Any, W_hh_T: Tensor, b_hh: Tensor | None) -> tuple[Any, dict]:
        """One time step: ``(new state, gate activations)`` (see [`minigrad.nn.cells`][minigrad.nn.cells])."""
        raise NotImplementedError

    # -- checks -------------------------------------------------------------
    def _check_state(self, h: Tensor, batch: int | None, what: str) -> None:
        """``h`` must be ``(D*L, N, H)``, or ``(D*L, H)`` for unbatched input (``batch`` None)."""
        DL = self.num_layers * self.num_directions
        expected = (DL, self.hidden_size) if batch is None else (DL, batch, self.hidden_size)
        if not isinstance(h, Tensor):
            raise TypeError(f"{type(self).__name__}: initial {what} must be a Tensor of shape {expected}, got "
                            f"{type(h).__name__} (wrap it: minigrad.tensor(...))")
        if h.shape != expected:
            raise ValueError(f"{type(self).__name__}: initial {what} should have shape {expected}, got {h.shape}")

    # -- forward ------------------------------------------------------------
    def forward(self, x: Tensor, hx: Any = None, lengths: Sequence[int] | None = None) -> tuple[Tensor, Any]:
        """Run the layer over a whole sequence.

        Args:
            x: ``(N, T, I)`` (``(T, N, I)`` if not ``batch_first``), or unbatched ``(T, I)``.
            hx: initial state ``(D*L, N, H)`` (``(D*L, H)`` unbatched); for LSTM a pair ``(h_0, c_0)``.
                Zeros when None.
            lengths: real length of each sequence (N ints in [1, T]) for padded batches.

        Returns:
            ``(output, h_n)``; for LSTM ``(output, (h_n, c_n))``. ``output`` is
            ``(N, T, D*H)`` (zero at padded steps) and ``h_n`` is ``(D*L, N, H)``,
            the state at each sequence's last real step.

        Raises:
            TypeError: ``x`` or an initial state is not a Tensor, ``x`` holds integers or booleans
                (token ids go through an ``Embedding`` first), or an LSTM's ``hx`` is not a pair.
            ValueError: ``x`` or an initial state has the wrong shape, ``x`` has no time steps, or
                ``lengths`` does not fit the batch (see `minigrad.nn.masking.check_lengths`).
        """
        name = type(self).__name__
        if not isinstance(x, Tensor) or x.dtype.kind != "f":
            from minigrad.tensor import check_float_input, check_input
            check_float_input(name, check_input(name, x))
        batched = x.ndim == 3
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            layout = "(N, T, I)" if self.batch_first else "(T, N, I)"
            raise ValueError(
                f"{name}: expected input {layout} or unbatched (T, I) with I = {self.input_size}, got {x.shape}"
            )
        if not batched:
            x = x.unsqueeze(0)
        elif not self.batch_first:
            x = x.transpose(1, 0, 2)
        N, T, _ = x.shape
        if T == 0:
            raise ValueError(f"{name}: the input has no time steps (T = 0, shape {x.shape}); give at least one")
        lengths = None if lengths is None else check_lengths(lengths, N, T, name)
        if hx is not None:
            if self.is_lstm:
                if not (isinstance(hx, tuple) and len(hx) == 2):
                    raise TypeError(f"{name}: hx must be a tuple (h_0, c_0)")
                self._check_state(hx[0], N if batched else None, "h_0")
                self._check_state(hx[1], N if batched else None, "c_0")
            else:
                self._check_state(hx, N if batched else None, "h_0")
            if not batched:
                hx = _map_state(hx, lambda h: h.unsqueeze(1))
        mask = step_mask(lengths, T, x.backend)
        if mask is not None:
            x = where(mask, x, 0.0)
        output, finals = self._layers(x, hx, mask)
        h_n = _map_state_list(finals)
        if not batched:
            output = output.squeeze(0)
            h_n = _map_state(h_n, lambda h: h.squeeze(1))
        elif not self.batch_first:
            output = output.transpose(1, 0, 2)
        return output, h_n

    def _initial(self, x: Tensor, hx: Any, index: int, batch_axis: int = 0) -> Any:
        """The initial state of one layer and direction (zeros when ``hx`` is None)."""
        if hx is None:
            shape = (x.shape[batch_axis], self.hidden_size)
            zeros = Tensor._wrap(x.backend.xp.zeros(shape, dtype=x.dtype), x.backend)
            return (zeros, zeros) if self.is_lstm else zeros
        return _map_state(hx, lambda h: h[index])

    def runs_fused(self, inspector: Any = None) -> bool:
        """The one place that chooses between the twins: the fused kernel unless this layer's
        ``impl``, or else [`recurrent_impl`][minigrad.nn.recurrent_impl], asks for the composed loop, or the BPTT
        inspector is recording (it reads every step's gates from the composed graph)."""
        return inspector is None and (self.impl or _default_impl.get()) == "fused"

    def _layers(self, x: Tensor, hx: Any, mask: Any) -> tuple[Tensor, list]:
        inspector = active_inspector()
        if self.runs_fused(inspector):
            return self._layers_fused(x, hx, mask)
        finals = []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                state = self._initial(x, hx, layer * self.num_directions + direction)
                with graph_scope(layer=layer, direction=direction):  # records only while drawing (viz)
                    out, state = self._scan(x, state, layer, direction, mask, inspector)
                outputs.append(out)
                finals.append(state)
            x = outputs[0] if len(outputs) == 1 else concat(outputs, axis=-1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        return x, finals

    def _layers_fused(self, x: Tensor, hx: Any, mask: Any) -> tuple[Tensor, list]:
        """The fused twin of `_layers`: time-major, one kernel per layer (for a bidirectional layer
        one op with both directions and their input projections, `ops.BidirectionalSequence`, which
        may run the two at once)."""
        T, D = x.shape[1], self.num_directions
        x = x.transpose(1, 0, 2)  # (T, N, I): each step's rows are contiguous
        mask = None if mask is None else x.backend.xp.ascontiguousarray(mask.transpose(1, 0, 2))
        finals = []
        for layer in range(self.num_layers):
            states = [self._initial(x, hx, layer * D + d, batch_axis=1) for d in range(D)]
            if D == 1:
                with graph_scope(layer=layer, direction=0):  # records only while drawing (viz)
                    xw, W_hh_T, b_hh = self._projection(x, layer, 0)
                    kernel, rest, options = self._kernel_inputs(states[0], W_hh_T, b_hh)
                    inputs = promote(type(self).__name__, xw, *rest)  # one dtype, as in the composed twin
                    out = _apply(kernel, *inputs, mask=mask, reverse=False, **options)
            else:
                with graph_scope(layer=layer):
                    out = self._bidirectional_kernel(x, states, layer, mask)
            outputs, last = _kernel_outputs(out, D, T, self.is_lstm)
            finals += last
            x = outputs[0] if D == 1 else concat(outputs, axis=-1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                # the mask is drawn in the composed twin's (N, T, D*H) layout, so both drop the same units
                x = F.dropout(x.transpose(1, 0, 2), self.dropout, True).transpose(1, 0, 2)
        return x.transpose(1, 0, 2), finals

    def _bidirectional_kernel(self, x: Tensor, states: list, layer: int, mask: Any) -> Tensor:
        """Both directions of one layer, input projections included, as one op: ``(2, T + 1 or 2, N, H)``."""
        linears, rests = [], []
        for direction in (0, 1):
            w_ih, bias, W_hh_T, b_hh = self._projection_weights(layer, direction)
            kernel, rest, options = self._kernel_inputs(states[direction], W_hh_T, b_hh)
            linears.append([w_ih] if bias is None else [w_ih, bias])
            rests.append(list(rest))
        x, *flat = promote(type(self).__name__, x, *linears[0], *rests[0], *linears[1], *rests[1])
        return _apply(ops.BidirectionalSequence, x, *flat, kernel=kernel, linear_inputs=len(linears[0]),
                      kernel_inputs=len(rests[0]), mask=mask, **options)

    def _projection_weights(self, layer: int, direction: int) -> tuple[Tensor, Tensor | None, Tensor, Tensor | None]:
        """``(W_ih, bias, W_hh^T, b_hh)``: the input projection's weight and bias and the recurrent weight.

        ``b_hh`` joins ``b_ih`` in ``bias`` (added once for all steps) except for GRU, where it sits
        inside r * (...) and is returned apart.
        """
        w_ih, w_hh, b_ih, b_hh = self.weights(layer, direction)
        bias = b_ih
        if b_hh is not None and self.fold_hidden_bias:
            bias, b_hh = b_ih + b_hh, None  # one (G,) vector, added once for all steps
        return w_ih, bias, w_hh.T, b_hh

    def _projection(self, x: Tensor, layer: int, direction: int) -> tuple[Tensor, Tensor, Tensor | None]:
        """``(xw, W_hh^T, b_hh)``: the input projection of every step as one matmul, shared by both twins."""
        w_ih, bias, W_hh_T, b_hh = self._projection_weights(layer, direction)
        return F.linear(x, w_ih, bias), W_hh_T, b_hh

    def _kernel_inputs(self, state: Any, W_hh_T: Tensor, b_hh: Tensor | None) -> tuple[type, tuple, dict]:
        """``(kernel, inputs after xw, options)`` of this cell type's fused kernel (overridden): the op,
        its inputs but the first (the input projection ``xw``), and its options other than ``mask``
        and ``reverse``. The kernel's output is ``(T + 1 or T + 2, N, H)``."""
        raise NotImplementedError

    def _scan(self, x: Tensor, state: Any, layer: int, direction: int, mask: Any, inspector: Any):
        """One layer, one direction: ``x (N, T, in)`` -> ``(outputs (N, T, H), final state)``."""
        xw, W_hh_T, b_hh = self._projection(x, layer, direction)  # (N, T, G), all steps in one matmul
        T = x.shape[1]
        outputs: list = [None] * T
        if inspector is not None:
            inspector.begin(self, layer, direction)
        for t in range(T - 1, -1, -1) if direction else range(T):
            with step_scope(t):  # records only while drawing (viz)
                new, gates = self.step(xw[:, t], state, W_hh_T, b_hh)
                if mask is None:
                    state = new
                    h = new[0] if self.is_lstm else new
                    outputs[t] = h
                else:
                    real = mask[:, t]  # (N, 1): padded rows keep their state and output zeros
                    state = _where_state(real, new, state)
                    h = state[0] if self.is_lstm else state
                    outputs[t] = where(real, h, 0.0)
            if inspector is not None:
                inspector.record(self, layer, direction, t, h, gates)
        return stack(outputs, axis=1), state


def _kernel_outputs(out: Tensor, D: int, T: int, is_lstm: bool) -> tuple[list, list]:
    """Per direction, the outputs ``(T, N, H)`` and the final state(s), each one index into the kernel's
    output (``out[d, :T]``), so that backward accumulates them all into a single gradient buffer."""

    def at(d: int, i: Any) -> Tensor:
        return out[i] if D == 1 else out[d, i]

    outputs = [at(d, slice(None, T)) for d in range(D)]
    finals = [(at(d, T), at(d, T + 1)) if is_lstm else at(d, T) for d in range(D)]
    return outputs, finals


def _map_state(state: Any, fn: Any) -> Any:
    return tuple(fn(s) for s in state) if isinstance(state, tuple) else fn(state)


def _where_state(real: Any, new: Any, old: Any) -> Any:
    """``new`` where ``real`` (rows at a real step), else ``old``; for a tensor or a tuple (LSTM's ``(h, c)``)."""
    if isinstance(new, tuple):
        return tuple(where(real, a, b) for a, b in zip(new, old))
    return where(real, new, old)


def _map_state_list(finals: list) -> Any:
    """Per layer-and-direction states -> ``(D*L, N, H)`` (a pair of them for LSTM)."""
    if isinstance(finals[0], tuple):
        return tuple(stack([s[k] for s in finals], axis=0) for k in range(len(finals[0])))
    return stack(finals, axis=0)


class RNN(RNNBase):
    """Elman RNN over sequences: h_t = f(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh).

    Args:
        input_size: I.  hidden_size: H.  num_layers: stacked layers L.
        nonlinearity: ``'tanh'``, ``'relu'`` or ``'sigmoid'`` (the last is not in PyTorch;
            it is here for the vanishing-gradient lessons).
        bias: use ``bias_ih``/``bias_hh``.  batch_first: ``(N, T, I)`` input (default True).
        dropout: dropout on the outputs of every layer but the last, in training mode.
        bidirectional: add a reverse direction (D = 2).

    Raises:
        ValueError: ``nonlinearity`` is not one of ``NONLINEARITIES`` (the message lists them).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = True, dropout: float = 0.0, bidirectional: bool = False,
                 dtype: Any = None, backend: Any = None, impl: str | None = None):
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"RNN: nonlinearity must be one of {NONLINEARITIES}, got {nonlinearity!r}"
                             + did_you_mean(nonlinearity, NONLINEARITIES))
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, dtype, backend,
                         impl)
        self.nonlinearity = nonlinearity

    def extra_repr(self) -> str:
        extra = "" if self.nonlinearity == "tanh" else f", nonlinearity={self.nonlinearity!r}"
        return super().extra_repr() + extra

    def step(self, xw, h, W_hh_T, b_hh):
        return rnn_step(xw, h, W_hh_T, b_hh, self.nonlinearity)

    def _kernel_inputs(self, h0, W_hh_T, b_hh):
        return ops.RNNSequence, (h0, W_hh_T), {"nonlinearity": check_nonlinearity("RNN", self.nonlinearity)}


class LSTM(RNNBase):
    """Long short-term memory over sequences (gate equations in [`lstm_step`][minigrad.nn.cells.lstm_step]).

    Same arguments as [`RNN`][minigrad.nn.RNN] without ``nonlinearity``. ``forward`` returns
    ``(output, (h_n, c_n))``.
    """

    gates = 4
    gate_names = ("i", "f", "g", "o")
    is_lstm = True

    def step(self, xw, state, W_hh_T, b_hh):
        return lstm_step(xw, state, W_hh_T, b_hh)

    def _kernel_inputs(self, state, W_hh_T, b_hh):
        return ops.LSTMSequence, (*state, W_hh_T), {}


class GRU(RNNBase):
    """Gated recurrent unit over sequences (gate equations in [`gru_step`][minigrad.nn.cells.gru_step]).

    Same arguments as [`RNN`][minigrad.nn.RNN] without ``nonlinearity``.
    """

    gates = 3
    gate_names = ("r", "z", "n")
    fold_hidden_bias = False  # n = tanh(W_in x + b_in + r * (W_hn h + b_hn)): b_hn sits inside r * (...)

    def step(self, xw, h, W_hh_T, b_hh):
        return gru_step(xw, h, W_hh_T, b_hh)

    def _kernel_inputs(self, h0, W_hh_T, b_hh):
        return ops.GRUSequence, (h0, W_hh_T) + (() if b_hh is None else (b_hh,)), {}
