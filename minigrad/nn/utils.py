"""Utilities for training recurrent networks, under PyTorch's names (``minigrad.nn.utils``).

Gradient clipping (defined in [`minigrad.nn.clip`][minigrad.nn.clip]):

- [`clip_grad_norm_`][minigrad.nn.clip_grad_norm_]: rescale all gradients to a maximum joint norm.
- [`clip_grad_value_`][minigrad.nn.clip_grad_value_]: clamp every gradient element to a range.

Truncated BPTT (defined in [`minigrad.nn.tbptt`][minigrad.nn.tbptt]):

- [`detach_state`][minigrad.nn.utils.detach_state]: keep a hidden state's values, cut its graph.
- [`time_chunks`][minigrad.nn.utils.time_chunks]: cut sequences into chunks of k time steps.
"""

from minigrad.nn.clip import clip_grad_norm_, clip_grad_value_
from minigrad.nn.tbptt import detach_state, time_chunks

__all__ = ["clip_grad_norm_", "clip_grad_value_", "detach_state", "time_chunks"]
