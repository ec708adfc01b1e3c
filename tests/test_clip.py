"""Gradient clipping (``minigrad.nn.utils``) against ``torch.nn.utils``."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import requires_torch

import minigrad as mg

try:
    import torch
except ImportError:  # the torch comparisons are skipped by requires_torch
    torch = None

SHAPES = [(3, 4), (4,), (2, 3, 2)]


def grads(scale: float = 1.0) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    return [rng.standard_normal(s) * scale for s in SHAPES]


def pairs(arrays):
    """minigrad and torch parameters with the given gradients (None leaves a parameter without one)."""
    mps, tps = [], []
    for a, s in zip(arrays, SHAPES):
        m = mg.nn.Parameter(np.ones(s), dtype="float64")
        t = torch.ones(s, dtype=torch.float64, requires_grad=True)
        if a is not None:
            m.grad = mg.tensor(a, dtype="float64")
            t.grad = torch.tensor(a)
        mps.append(m)
        tps.append(t)
    return mps, tps


def assert_same_grads(mps, tps):
    for m, t in zip(mps, tps):
        if t.grad is None:
            assert m.grad is None
        else:
            np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-15)


NORM_TYPES = [2.0, 1, 3.5, float("inf"), "inf"]


@requires_torch
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
@pytest.mark.parametrize("norm_type", NORM_TYPES, ids=[str(n) for n in NORM_TYPES])
def test_clip_grad_norm_matches_torch(backend, norm_type, max_norm):
    mps, tps = pairs(grads())
    total = mg.nn.utils.clip_grad_norm_(mps, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(tps, max_norm, norm_type=norm_type)
    assert type(total) is float
    assert total == pytest.approx(expected.item(), rel=1e-12)
    assert_same_grads(mps, tps)
    assert all(m.grad.backend.name == backend for m in mps)


@requires_torch
def test_clip_grad_norm_clips_to_max_norm_and_skips_missing_grads():
    mps, tps = pairs([grads()[0], None, grads()[2]])
    total = mg.nn.utils.clip_grad_norm_(iter(mps), 1.0)
    expected = torch.nn.utils.clip_grad_norm_(tps, 1.0)
    assert total == pytest.approx(expected.item(), rel=1e-12) and total > 1.0
    assert_same_grads(mps, tps)
    after = np.sqrt(sum((m.grad.numpy() ** 2).sum() for m in mps if m.grad is not None))
    assert after == pytest.approx(1.0, rel=1e-5)


@requires_torch
def test_clip_grad_norm_single_tensor():
    mps, tps = pairs(grads(10.0))
    total = mg.nn.clip_grad_norm_(mps[0], 2.0, norm_type=1)
    expected = torch.nn.utils.clip_grad_norm_(tps[0], 2.0, norm_type=1)
    assert total == pytest.approx(expected.item(), rel=1e-12)
    assert_same_grads(mps[:1], tps[:1])


@requires_torch
def test_clip_grad_norm_nonfinite():
    arrays = grads()
    arrays[1][2] = np.inf
    mps, tps = pairs(arrays)
    with pytest.raises(RuntimeError, match="total norm .* is inf"):
        mg.nn.utils.clip_grad_norm_(mps, 1.0, error_if_nonfinite=True)
    with np.errstate(invalid="ignore"):  # inf * 0 is nan, as in torch
        total = mg.nn.utils.clip_grad_norm_(mps, 1.0)
    expected = torch.nn.utils.clip_grad_norm_(tps, 1.0)
    assert total == expected.item() == float("inf")
    for m, t in zip(mps, tps):
        np.testing.assert_array_equal(m.grad.numpy(), t.grad.numpy())  # nan where inf * 0


@requires_torch
@pytest.mark.parametrize("clip_value", [0.3, 5])
def test_clip_grad_value_matches_torch(backend, clip_value):
    mps, tps = pairs([grads()[0], None, grads()[2]])
    assert mg.nn.utils.clip_grad_value_(mps, clip_value) is None
    torch.nn.utils.clip_grad_value_(tps, clip_value)
    assert_same_grads(mps, tps)
    assert all(np.abs(m.grad.numpy()).max() <= clip_value for m in mps if m.grad is not None)


def test_clip_after_backward_updates_param_grad(backend):
    w = mg.nn.Parameter(np.array([3.0, 4.0]), dtype="float64")
    (w * w).sum().backward()  # gradient [6, 8], norm 10
    grad_tensor = w.grad
    assert mg.nn.utils.clip_grad_norm_([w], 5.0) == pytest.approx(10.0)
    assert w.grad is grad_tensor
    np.testing.assert_allclose(w.grad.numpy(), np.array([6.0, 8.0]) * 5 / (10 + 1e-6), rtol=1e-12)
    mg.nn.utils.clip_grad_value_(w, 2.0)
    np.testing.assert_allclose(w.grad.numpy(), [2.0, 2.0])


def test_no_grads_and_errors():
    w = mg.nn.Parameter([1.0, 2.0])
    assert mg.nn.utils.clip_grad_norm_([w], 1.0) == 0.0
    assert mg.nn.utils.clip_grad_norm_([], 1.0) == 0.0
    with pytest.raises(ValueError, match="norm_type must be > 0 or inf"):
        mg.nn.utils.clip_grad_norm_([w], 1.0, norm_type=0)
    with pytest.raises(TypeError, match="parameter 0 is a list"):
        mg.nn.utils.clip_grad_norm_([[1.0]], 1.0)
    with pytest.raises(ValueError, match="clip_value must be >= 0"):
        mg.nn.utils.clip_grad_value_([w], -1.0)
    assert mg.nn.utils.clip_grad_norm_ is mg.nn.clip_grad_norm_
