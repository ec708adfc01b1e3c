"""``Bidirectional``: run any forward recurrent layer both ways and merge.

    h_t = merge(forward_t, backward_t)

The backward copy reads each sequence reversed *within its length*: for a
row of length 3 padded to 5, ``[a b c _ _]`` becomes ``[c b a _ _]``, so it
starts at the last real token, never at the padding; its outputs are
un-reversed the same way, so step t of both directions refers to token t.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Sequence
from typing import Any

from backends.choices import did_you_mean
from minigrad.nn.masking import check_lengths, reverse_padded
from minigrad.nn.module import Module
from minigrad.tensor import Tensor, check_float_input, check_input, concat

MERGE_MODES = ("concat", "sum", "mul", "ave")


def _check_recurrent(name: str, layer: Any) -> None:
    """Raise a TypeError unless ``layer`` is a Module that can be called as ``layer(x, hx)``."""
    what = f"Bidirectional: {name} must be a recurrent layer called as layer(x, hx) -> (output, state), such as nn.LSTM"
    if not isinstance(layer, Module):
        raise TypeError(f"{what}; got {type(layer).__name__}, which is not a Module")
    try:
        signature = inspect.signature(layer.forward)
    except (TypeError, ValueError):  # no signature to inspect: left to the call
        return
    try:
        signature.bind(None, None)
    except TypeError:
        args = ", ".join(signature.parameters)
        raise TypeError(f"{what}; got {type(layer).__name__}, whose forward({args}) takes no hidden state") from None


class Bidirectional(Module):
    """Wrap a forward-only recurrent layer (built-in or your own) into a bidirectional one.

    Args:
        layer: a module called as ``layer(x, hx, lengths=...)`` (``lengths`` only when given)
            returning ``(output, state)`` with ``output (N, T, H)`` (time first if
            ``layer.batch_first`` is False).
        merge_mode: how the two directions combine at each step: ``'concat'``
            (``(N, T, 2H)``), ``'sum'``, ``'mul'`` or ``'ave'`` (``(N, T, H)``).
        backward_layer: the layer for the reverse direction; by default a copy of
            ``layer`` with freshly initialised parameters.

    ``forward(x, hx=None, lengths=None)`` returns ``(output, (state_forward, state_backward))``;
    ``hx``, when given, is such a pair.

    Raises:
        TypeError: ``layer`` or ``backward_layer`` is not a recurrent layer: not a Module, or one
            whose ``forward`` cannot be called as ``forward(x, hx)`` (such as ``Linear``); the
            input of ``forward`` is not a floating-point Tensor.
        ValueError: ``merge_mode`` is not one of ``MERGE_MODES`` (the message lists them), or
            ``layer`` is already bidirectional.
    """

    def __init__(self, layer: Module, merge_mode: str = "concat", backward_layer: Module | None = None) -> None:
        super().__init__()
        _check_recurrent("layer", layer)
        if backward_layer is not None:
            _check_recurrent("backward_layer", backward_layer)
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"Bidirectional: merge_mode must be one of {MERGE_MODES}, got {merge_mode!r}"
                             + did_you_mean(merge_mode, MERGE_MODES))
        if getattr(layer, "bidirectional", False):
            raise ValueError("Bidirectional: the wrapped layer is already bidirectional; wrap a forward-only layer")
        if backward_layer is None:
            backward_layer = copy.deepcopy(layer)
            if hasattr(backward_layer, "reset_parameters"):
                backward_layer.reset_parameters()
        self.merge_mode = merge_mode
        self.forward_layer = layer
        self.backward_layer = backward_layer

    def extra_repr(self) -> str:
        return f"merge_mode={self.merge_mode!r}"

    def forward(self, x: Tensor, hx: Any = None, lengths: Sequence[int] | None = None):
        check_float_input("Bidirectional", check_input("Bidirectional", x))
        time_axis = 1 if getattr(self.forward_layer, "batch_first", True) else 0
        if x.ndim != 3:
            raise ValueError(f"Bidirectional: expected a batched 3-D input, got shape {x.shape}")
        N, T = (x.shape[0], x.shape[1]) if time_axis == 1 else (x.shape[1], x.shape[0])
        if lengths is not None:
            lengths = check_lengths(lengths, N, T, "Bidirectional")
        h_f, h_b = (None, None) if hx is None else hx
        out_f, state_f = self._run(self.forward_layer, x, h_f, lengths)
        out_b, state_b = self._run(self.backward_layer, reverse_padded(x, lengths, time_axis), h_b, lengths)
        out_b = reverse_padded(out_b, lengths, time_axis)
        return self._merge(out_f, out_b), (state_f, state_b)

    @staticmethod
    def _run(layer: Module, x: Tensor, hx: Any, lengths: list[int] | None):
        result = layer(x, hx) if lengths is None else layer(x, hx, lengths=lengths)
        return result if isinstance(result, tuple) else (result, None)

    def _merge(self, a: Tensor, b: Tensor) -> Tensor:
        if self.merge_mode == "concat":
            return concat([a, b], axis=-1)
        if self.merge_mode == "sum":
            return a + b
        if self.merge_mode == "mul":
            return a * b
        return (a + b) * 0.5
