r"""Collectives on parameters, gradients, metrics and small objects: every rank calls each, in the same order.

The gradient all-reduce is weighted by each rank's number of examples. With $n_r$ examples on rank
$r$ and $g_r$ the gradient of its mean loss,

$$ g = \frac{\sum_r n_r \, g_r}{\sum_r n_r}, $$

which is exactly the gradient of the mean loss over the whole global batch, the one a single process
computes, also when ranks hold different numbers of examples or none (the unweighted mean of per-rank
means, $\frac{1}{P}\sum_r g_r$, is not: it over-weights the examples of small shards). Clip the
gradient **after** this call: clipping before it clips each rank's piece, not the global gradient.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import backends
from minigrad.distributed.transport import OPS, HostTransport, transport_for
from minigrad.distributed.world import DistributedError, World, world

_host = backends.get("numpy")


def _named(parameters: Any) -> list[tuple[str, Any]]:
    """``(name, tensor)`` pairs of a Module (``named_parameters``), a dict, or an iterable (named by position)."""
    if hasattr(parameters, "named_parameters"):
        return list(parameters.named_parameters())
    if isinstance(parameters, dict):
        return list(parameters.items())
    return [(str(i), p) for i, p in enumerate(parameters)]


def _describe(named: list[tuple[str, Any]]) -> list[tuple[str, tuple, str]]:
    return [(name, tuple(p.shape), str(p.dtype)) for name, p in named]


def first_difference(reference: list[tuple], other: list[tuple], rank: int) -> str | None:
    """How rank ``rank``'s ``(name, shape, dtype)`` list differs from rank 0's, first difference only."""
    for (name0, shape0, dtype0), (name, shape, dtype) in zip(reference, other):
        if name != name0:
            return f"parameter {name0!r} on rank 0 is {name!r} on rank {rank} (a model built differently?)"
        if shape != shape0:
            return f"parameter {name!r} has shape {shape} on rank {rank} but {shape0} on rank 0"
        if dtype != dtype0:
            return f"parameter {name!r} is {dtype} on rank {rank} but {dtype0} on rank 0"
    if len(other) != len(reference):
        more, fewer, r_more = (other, reference, rank) if len(other) > len(reference) else (reference, other, 0)
        return (f"rank {r_more} has {len(more)} parameters, the other {len(fewer)}: "
                f"{more[len(fewer)][0]!r} is extra")
    return None


def check_same_parameters(parameters: Any, w: World | None = None) -> None:
    """Raise on every rank, naming the first difference, unless all ranks have the same parameter names,
    shapes and dtypes in the same order (a collective).

    Raises:
        DistributedError: e.g. ``parameter 'rnn.weight_hh_l0' has shape (128, 32) on rank 1 but (256, 64) on rank 0``.
    """
    w = w or world()
    if w.size == 1:
        return
    everyone = w.comm.allgather(_describe(_named(parameters)))
    for rank, theirs in enumerate(everyone[1:], start=1):
        problem = first_difference(everyone[0], theirs, rank)
        if problem:
            raise DistributedError(f"the ranks disagree about the model: {problem}")


def broadcast_parameters(parameters: Any, root: int = 0, w: World | None = None) -> None:
    """Copy ``root``'s parameter values to every rank, after `check_same_parameters`.

    Args:
        parameters: a Module, a ``{name: tensor}`` dict or an iterable of tensors.
        root: the rank whose values everyone gets.

    Raises:
        DistributedError: the ranks disagree about names, shapes or dtypes (named), before any copy.
    """
    w = w or world()
    if w.size == 1:
        return
    named = _named(parameters)
    check_same_parameters(dict(named), w)
    for _, p in named:
        transport = HostTransport(w, p.backend)
        host = p.data if p.backend.xp is transport.host and p.data.flags.c_contiguous else p.backend.to_numpy(p.data)
        w.comm.Bcast(host, root=root)
        if host is not p.data:
            p.data[...] = p.backend.asarray(host)


def broadcast_object(obj: Any, root: int = 0, w: World | None = None) -> Any:
    """``root``'s ``obj`` on every rank (pickled by MPI: for small things such as seeds, a vocabulary,
    a checkpoint read once); returns ``obj`` itself in a world of one."""
    w = w or world()
    if w.size == 1:
        return obj
    return w.comm.bcast(obj, root=root)


def barrier(w: World | None = None) -> None:
    """Wait until every rank gets here."""
    w = w or world()
    if w.size > 1:
        w.comm.Barrier()


def all_reduce(array: Any, op: str = "sum", w: World | None = None) -> Any:
    """Replace ``array`` (NumPy or CuPy, contiguous) by its element-wise ``op`` over ranks, in place; return it.

    Raises:
        ValueError: an unknown ``op`` or a non-contiguous array.
    """
    if op not in OPS:
        raise ValueError(f"all_reduce: op must be one of {', '.join(OPS)}, got {op!r}")
    w = w or world()
    if w.size == 1:
        return array
    if not array.flags.c_contiguous:
        raise ValueError(f"all_reduce: the array (shape {array.shape}) must be C-contiguous")
    backend = _backend_of_array(array)
    return transport_for(w, backend).allreduce_(array, op)


def _backend_of_array(array: Any) -> Any:
    for name in backends.available():
        candidate = backends.get(name)
        if type(array).__module__.split(".")[0] == candidate.xp.__name__.split(".")[0]:
            return candidate
    raise ValueError(f"all_reduce: a {type(array).__name__} is no array of a backend here "
                     f"({', '.join(backends.available())})")


def reduce_sums(w: World | None = None, **values: float) -> dict[str, float]:
    """Each value summed over ranks, in float64 (one collective): e.g. ``correct``, ``loss * n`` and ``n``,
    whose ratios are then exact global figures (a mean of per-rank means is not)."""
    w = w or world()
    if w.size == 1:
        return {k: float(v) for k, v in values.items()}
    buf = _host.xp.array([float(values[k]) for k in values], dtype=_host.xp.float64)
    HostTransport(w, _host).allreduce_(buf)
    return {k: float(v) for k, v in zip(values, buf.tolist())}


def allreduce_gradients(parameters: Iterable[Any] | Any, weight: float, w: World | None = None) -> float:
    r"""Make every rank's gradients the example-weighted mean over ranks, $\sum_r n_r g_r / \sum_r n_r$.

    Call after ``backward()`` and before clipping and ``optimizer.step()``, on every rank at every step,
    also on a rank that had no example this step (``weight=0``, gradients None or zero). One collective
    per dtype: each rank packs ``weight * grad`` of every parameter, a flag per parameter (has a gradient)
    and ``weight`` into one buffer; after the sum, the gradients are divided by the summed weight. A
    parameter without a gradient counts as zeros; one without a gradient on every rank keeps ``grad``
    None, so the optimizer skips it as a single process would. Does nothing in a world of one.

    Args:
        parameters: the tensors (or a Module), the same ones in the same order on every rank.
        weight: $n_r$, this rank's examples in the step (or tokens: whatever its mean loss divides by).

    Returns:
        $\sum_r n_r$, the examples of the global batch (``weight`` in a world of one).

    Raises:
        ValueError: ``weight`` < 0; parameters on several backends.
    """
    if not weight >= 0:
        raise ValueError(f"allreduce_gradients: weight must be a number of examples >= 0, got {weight!r}")
    w = w or world()
    if w.size == 1:
        return float(weight)
    params = [p for _, p in _named(parameters)]
    if not params:
        return float(w.comm.allreduce(float(weight)))
    groups: dict[tuple[str, str], list[Any]] = {}
    for p in params:
        groups.setdefault((p.backend.name, str(p.dtype)), []).append(p)
    total = 0.0
    for (_, dtype), group in sorted(groups.items()):
        total = _allreduce_group(group, dtype, float(weight), w)
    return total


def _allreduce_group(group: list[Any], dtype: str, weight: float, w: World) -> float:
    from minigrad.tensor import Tensor

    backend = group[0].backend
    xp = backend.xp
    sizes = [p.numel() for p in group]
    n = sum(sizes)
    buf = xp.zeros(n + len(group) + 1, dtype=dtype)
    offset = 0
    for k, (p, size) in enumerate(zip(group, sizes)):
        if p.grad is not None:
            xp.multiply(p.grad.data.reshape(-1), weight, out=buf[offset:offset + size])
            buf[n + k] = 1
        offset += size
    buf[-1] = weight
    transport_for(w, backend).allreduce_(buf)
    total = float(buf[-1])
    scale = 1.0 / total if total > 0 else 0.0
    present = backend.to_numpy(buf[n:n + len(group)])
    offset = 0
    for k, (p, size) in enumerate(zip(group, sizes)):
        if present[k] > 0:
            p.grad = Tensor(buf[offset:offset + size].reshape(p.shape) * scale, backend=backend)
        offset += size
    return total


__all__ = ["DistributedError", "all_reduce", "allreduce_gradients", "barrier", "broadcast_object",
           "broadcast_parameters", "check_same_parameters", "reduce_sums"]
