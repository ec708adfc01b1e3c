"""Feed-forward layers: ``Linear``, ``Embedding``, ``Dropout`` and activations as modules.

Shape legend: N batch, T time, I input features, O output features,
V vocabulary (``num_embeddings``), E embedding size; ``...`` any leading dims.

Parameter names, shapes and default initialisation are PyTorch's, so a
PyTorch ``state_dict`` loads unchanged.
"""

from __future__ import annotations

import math
from typing import Any

from backends.base import is_device_array
from backends.choices import did_you_mean
from minigrad.backend import get_backend
from minigrad.creation import zeros
from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn.module import Module, Parameter
from minigrad.tensor import DEFAULT_FLOAT, Tensor, _host_array, check_float_input, check_input, where


def _check_size(layer: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{layer}: {name} must be a non-negative int, got {value!r}")
    return value


class Linear(Module):
    """An affine map ``y = x W^T + b``.

    Args:
        in_features: I, the size of each input's last axis.
        out_features: O, the size of each output's last axis.
        bias: learn the additive bias ``b``.
        dtype: parameter dtype (float32 by default).
        backend: backend of the parameters (the default backend if None).

    Shapes:
        x ``(..., I)`` -> y ``(..., O)``; ``weight (O, I)``, ``bias (O,)``.

    Both ``weight`` and ``bias`` start as U(-1/sqrt(I), 1/sqrt(I)), PyTorch's
    default (``kaiming_uniform_`` with ``a = sqrt(5)`` on the weight).
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, dtype: Any = None, backend: Any = None
    ) -> None:
        super().__init__()
        self.in_features = _check_size("Linear", "in_features", in_features)
        self.out_features = _check_size("Linear", "out_features", out_features)
        dtype = dtype or DEFAULT_FLOAT
        self.weight = Parameter(zeros(out_features, in_features, dtype=dtype, backend=backend))
        if bias:
            self.bias = Parameter(zeros(out_features, dtype=dtype, backend=backend))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw fresh weights and bias: U(-1/sqrt(in_features), 1/sqrt(in_features))."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        """``x (..., I)`` -> ``(..., O)``; lists and arrays are converted to the weight's dtype.

        Raises:
            TypeError: ``x`` is a tuple (such as a recurrent layer's ``(output, h_n)``) or a bool or
                integer tensor (token ids need an ``Embedding``).
            ValueError: the last axis of ``x`` is not ``in_features``.
        """
        if isinstance(x, tuple):
            check_input("Linear", x)
        if not isinstance(x, Tensor):
            x = Tensor(x, dtype=self.weight.dtype, backend=self.weight.backend)
        check_float_input("Linear", x)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"Linear: expected input of shape (..., in_features={self.in_features}), got shape {x.shape}"
            )
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Embedding(Module):
    """A lookup table: integer ids ``(...)`` -> rows of ``weight`` ``(..., E)``.

    Args:
        num_embeddings: V, the number of rows (ids must be in [0, V)).
        embedding_dim: E, the size of each row.
        padding_idx: an id whose row starts at zero and never receives a
            gradient (for padding tokens); negative values count from the end,
            as in PyTorch.
        dtype: weight dtype (float32 by default).
        backend: backend of the weight (the default backend if None).

    ``weight (V, E)`` starts as N(0, 1). Repeated ids accumulate their
    gradients in the same row. The padding row is excluded from the gradient
    by selecting it through a detached copy of the weight, so no backward code
    is written here.
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        dtype: Any = None,
        backend: Any = None,
    ) -> None:
        super().__init__()
        self.num_embeddings = _check_size("Embedding", "num_embeddings", num_embeddings)
        self.embedding_dim = _check_size("Embedding", "embedding_dim", embedding_dim)
        self.padding_idx = self._normalize_padding_idx(padding_idx)
        self.weight = Parameter(zeros(num_embeddings, embedding_dim, dtype=dtype or DEFAULT_FLOAT, backend=backend))
        self.reset_parameters()

    def _normalize_padding_idx(self, padding_idx: int | None) -> int | None:
        if padding_idx is None:
            return None
        V = self.num_embeddings
        if isinstance(padding_idx, bool) or not isinstance(padding_idx, int) or not -V <= padding_idx < V:
            raise ValueError(f"Embedding: padding_idx must be an int in [{-V}, {V}), got {padding_idx!r}")
        return padding_idx % V

    def reset_parameters(self) -> None:
        """Draw a fresh N(0, 1) weight and zero the padding row."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings: Any, freeze: bool = True, padding_idx: int | None = None) -> Embedding:
        """An Embedding whose weight is a copy of ``embeddings (V, E)``; ``freeze`` stops its training."""
        w = embeddings if isinstance(embeddings, Tensor) else Tensor(embeddings)
        if w.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D (V, E), got shape {w.shape}")
        emb = cls(w.shape[0], w.shape[1], padding_idx=padding_idx, dtype=w.dtype, backend=w.backend)
        emb.weight.data = w.backend.xp.array(w.data, copy=True)
        emb.weight.requires_grad_(not freeze)
        return emb

    def _ids(self, ids: Any) -> Any:
        """``ids`` as an integer array on the weight's backend, range-checked."""
        be = self.weight.backend
        if isinstance(ids, Tensor):
            if ids.backend is not be:
                raise RuntimeError(
                    f"Embedding: ids live on backend {ids.backend.name!r} but the weight on {be.name!r}; "
                    f"move the ids with .to({be.name!r})"
                )
            array, owner = ids.data, be
        else:  # host ids (lists, NumPy arrays) are checked on the host, before they move to the device
            owner = be if is_device_array(ids) else get_backend("numpy")
            array = owner.asarray(ids) if hasattr(ids, "dtype") else _host_array("Embedding", ids)
            if array.size == 0 and array.dtype.kind == "f":  # an empty list
                array = array.astype("int64")
        if array.dtype.kind not in "iu":
            raise TypeError(f"Embedding: ids must be integers, got dtype {array.dtype}")
        if array.size:  # on a device: one read back for both bounds
            lo, hi = owner.to_numpy(owner.xp.stack([array.min(), array.max()])).tolist()
            if lo < 0 or hi >= self.num_embeddings:
                raise IndexError(
                    f"Embedding: ids must be in [0, {self.num_embeddings}) (num_embeddings={self.num_embeddings}), "
                    f"got values in [{lo}, {hi}]"
                )
        return array if owner is be else be.asarray(array)

    def forward(self, ids: Any) -> Tensor:
        """Look up ``ids (...)`` (a Tensor, list or array of ints) -> ``(..., E)``."""
        ids = self._ids(ids)
        rows = self.weight[ids]
        if self.padding_idx is None:
            return rows
        pad = (ids == self.padding_idx)[..., None]
        return where(pad, self.weight.detach()[self.padding_idx], rows)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s if self.padding_idx is None else s + f", padding_idx={self.padding_idx}"


class Dropout(Module):
    """Inverted dropout: in training, zero each element with probability ``p`` and scale the rest by 1/(1-p).

    The identity in eval mode (``module.eval()``).
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
            raise ValueError(f"Dropout: p must be a probability in [0, 1], got {p!r}")
        self.p = float(p)

    def forward(self, x: Tensor) -> Tensor:
        x = check_input("Dropout", x)
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Tanh(Module):
    """Elementwise tanh(x)."""

    def forward(self, x: Tensor) -> Tensor:
        x = check_input("Tanh", x)
        return x.tanh()


class ReLU(Module):
    """Elementwise max(x, 0)."""

    def forward(self, x: Tensor) -> Tensor:
        x = check_input("ReLU", x)
        return x.relu()


class Sigmoid(Module):
    """Elementwise 1 / (1 + exp(-x))."""

    def forward(self, x: Tensor) -> Tensor:
        x = check_input("Sigmoid", x)
        return x.sigmoid()


def _check_real(layer: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ValueError(f"{layer}: {name} must be a number, got {value!r}")
    return float(value)


class Softplus(Module):
    """Elementwise softplus ``(1/beta) log(1 + exp(beta x))``, and ``x`` where ``beta x > threshold``.

    Full relative precision in float32 for every x; see
    `minigrad.nn.functional.softplus` for the threshold at the defaults.

    Args:
        beta: the sharpness, nonzero.
        threshold: where ``beta * x`` exceeds it, the output is ``x``.

    Raises:
        ValueError: ``beta`` is 0 or not a number, or ``threshold`` is not a number.
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = _check_real("Softplus", "beta", beta)
        if self.beta == 0:
            raise ValueError("Softplus: beta must be nonzero, got 0")
        self.threshold = _check_real("Softplus", "threshold", threshold)

    def forward(self, x: Tensor) -> Tensor:
        x = check_input("Softplus", x)
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class LogSigmoid(Module):
    """Elementwise ``log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|))``, precise in float32 for every x."""

    def forward(self, x: Tensor) -> Tensor:
        x = check_input("LogSigmoid", x)
        return F.log_sigmoid(x)


class LeakyReLU(Module):
    """Elementwise ``x`` where x > 0, ``negative_slope * x`` elsewhere.

    Args:
        negative_slope: the slope for x <= 0 (also the derivative at 0, as in PyTorch).
    """

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = _check_real("LeakyReLU", "negative_slope", negative_slope)

    def forward(self, x: Tensor) -> Tensor:
        x = check_input("LeakyReLU", x)
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """Elementwise ``x`` where x > 0, ``alpha * (exp(x) - 1)`` elsewhere (computed with expm1).

    Args:
        alpha: the output approaches ``-alpha`` as x -> -inf.
    """

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = _check_real("ELU", "alpha", alpha)

    def forward(self, x: Tensor) -> Tensor:
        x = check_input("ELU", x)
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class GELU(Module):
    """Elementwise ``x Phi(x)``, Phi the standard normal CDF (or its tanh approximation).

    Args:
        approximate: ``"none"`` (exact, with erf) or ``"tanh"``; see
            `minigrad.nn.functional.gelu`.

    Raises:
        ValueError: ``approximate`` is neither ``"none"`` nor ``"tanh"``.
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in F.GELU_APPROXIMATIONS:
            raise ValueError(f"GELU: approximate must be one of {F.GELU_APPROXIMATIONS}, got {approximate!r}"
                             + did_you_mean(approximate, F.GELU_APPROXIMATIONS))
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        x = check_input("GELU", x)
        return F.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Identity(Module):
    """Returns its input unchanged; constructor arguments are accepted and ignored (a placeholder)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Any) -> Any:
        return x


class Flatten(Module):
    """Merge axes ``start_dim..end_dim`` into one: ``(N, a, b) -> (N, a*b)`` by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x: Tensor) -> Tensor:
        x = check_input("Flatten", x)
        nd = max(x.ndim, 1)
        start, end = self.start_dim, self.end_dim
        if not (-nd <= start < nd and -nd <= end < nd):
            raise ValueError(f"Flatten: start_dim={start}, end_dim={end} out of range for shape {x.shape}")
        start, end = start % nd, end % nd
        if start > end:
            raise ValueError(
                f"Flatten: start_dim={self.start_dim} comes after end_dim={self.end_dim} for shape {x.shape}"
            )
        if x.ndim == 0:
            return x.reshape(1)
        merged = 1
        for n in x.shape[start : end + 1]:
            merged *= n
        return x.reshape(x.shape[:start] + (merged,) + x.shape[end + 1 :])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


__all__ = [
    "Dropout", "ELU", "Embedding", "Flatten", "GELU", "Identity", "LeakyReLU", "Linear", "LogSigmoid", "ReLU",
    "Sigmoid", "Softplus", "Tanh",
]
