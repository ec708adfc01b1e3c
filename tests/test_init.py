"""Initialisers in minigrad.nn.init: statistics, fans, orthogonality, seeding, dtypes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import requires_torch

import minigrad as mg
from minigrad.nn import init


def _empty(*shape, dtype="float64"):
    return mg.zeros(*shape, dtype=dtype)


def _stats(t):
    a = t.numpy().astype("float64")
    return a, float(a.mean()), float(a.std())


# -- plain distributions ----------------------------------------------------------
def test_uniform_bounds_and_moments(backend):
    mg.manual_seed(0)
    a, b = -2.0, 3.0
    t = init.uniform_(_empty(300, 400), a, b)
    x, mean, std = _stats(t)
    assert x.min() >= a and x.max() < b
    assert x.min() < a + 0.01 and x.max() > b - 0.01  # the whole interval is used
    assert mean == pytest.approx((a + b) / 2, abs=0.02)
    assert std == pytest.approx((b - a) / math.sqrt(12), rel=0.01)


def test_uniform_default_is_unit_interval(backend):
    mg.manual_seed(1)
    x, mean, _ = _stats(init.uniform_(_empty(200, 200)))
    assert x.min() >= 0 and x.max() < 1
    assert mean == pytest.approx(0.5, abs=0.01)


def test_normal_moments(backend):
    mg.manual_seed(0)
    _, mean, std = _stats(init.normal_(_empty(300, 400), mean=1.5, std=0.25))
    assert mean == pytest.approx(1.5, abs=0.005)
    assert std == pytest.approx(0.25, rel=0.01)


def test_uniform_rejects_reversed_bounds_and_normal_negative_std():
    with pytest.raises(ValueError, match="a <= b"):
        init.uniform_(_empty(3), 1.0, 0.0)
    with pytest.raises(ValueError, match="std"):
        init.normal_(_empty(3), 0.0, -1.0)


# -- fans ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "shape, fans",
    [((3, 5), (5, 3)), ((4, 3, 5), (15, 20)), ((2, 6, 3, 3), (54, 18)), ((1, 7), (7, 1))],
)
def test_fan_in_and_fan_out_follow_weight_out_in_convention(shape, fans):
    assert init._fan_in_and_fan_out(_empty(*shape)) == fans


@requires_torch
@pytest.mark.parametrize("shape", [(3, 5), (4, 3, 5), (2, 6, 3, 3)])
def test_fans_match_torch(shape):
    import torch

    assert init._fan_in_and_fan_out(_empty(*shape)) == torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


@pytest.mark.parametrize(
    "fn", [init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_, init.kaiming_normal_, init.orthogonal_]
)
def test_fan_based_init_on_1d_tensor_is_a_clear_error(fn):
    with pytest.raises(ValueError, match=r"at least 2 dimensions.*\(7,\)"):
        fn(_empty(7))


def test_kaiming_rejects_unknown_mode():
    with pytest.raises(ValueError, match="fan_in.*fan_out.*'fan_avg'"):
        init.kaiming_uniform_(_empty(3, 4), mode="fan_avg")


# -- gains -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, param, expected",
    [
        ("linear", None, 1.0),
        ("sigmoid", None, 1.0),
        ("conv1d", None, 1.0),
        ("tanh", None, 5 / 3),
        ("relu", None, math.sqrt(2)),
        ("leaky_relu", None, math.sqrt(2 / (1 + 0.01**2))),
        ("leaky_relu", 0.2, math.sqrt(2 / (1 + 0.2**2))),
        ("leaky_relu", math.sqrt(5), math.sqrt(1 / 3)),
        ("selu", None, 0.75),
    ],
)
def test_calculate_gain(name, param, expected):
    assert init.calculate_gain(name, param) == pytest.approx(expected, rel=1e-12)


@requires_torch
@pytest.mark.parametrize(
    "name, param",
    [("linear", None), ("tanh", None), ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.3), ("selu", None)],
)
def test_calculate_gain_matches_torch(name, param):
    import torch

    assert init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param), rel=1e-12)


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="negative_slope"):
        init.calculate_gain("leaky_relu", "big")


# -- fan-scaled distributions ---------------------------------------------------------
def test_xavier_uniform_bound_and_std(backend):
    mg.manual_seed(0)
    fan_out, fan_in, gain = 300, 500, 2.0
    x, mean, std = _stats(init.xavier_uniform_(_empty(fan_out, fan_in), gain=gain))
    bound = gain * math.sqrt(6 / (fan_in + fan_out))
    assert np.abs(x).max() <= bound
    assert np.abs(x).max() > 0.99 * bound
    assert mean == pytest.approx(0.0, abs=0.01 * bound)
    assert std == pytest.approx(bound / math.sqrt(3), rel=0.01)


def test_xavier_normal_std(backend):
    mg.manual_seed(0)
    _, mean, std = _stats(init.xavier_normal_(_empty(300, 500), gain=0.5))
    expected = 0.5 * math.sqrt(2 / 800)
    assert mean == pytest.approx(0.0, abs=0.01 * expected)
    assert std == pytest.approx(expected, rel=0.01)


def test_glorot_aliases():
    assert init.glorot_uniform_ is init.xavier_uniform_
    assert init.glorot_normal_ is init.xavier_normal_


def test_kaiming_uniform_with_sqrt5_gives_one_over_sqrt_fan_in(backend):
    mg.manual_seed(0)
    x, _, std = _stats(init.kaiming_uniform_(_empty(400, 250), a=math.sqrt(5)))
    bound = 1 / math.sqrt(250)
    assert np.abs(x).max() <= bound * (1 + 1e-12)
    assert np.abs(x).max() > 0.99 * bound
    assert std == pytest.approx(bound / math.sqrt(3), rel=0.01)


def test_kaiming_uniform_relu_fan_out(backend):
    mg.manual_seed(0)
    x, _, _ = _stats(init.kaiming_uniform_(_empty(200, 600), mode="fan_out", nonlinearity="relu"))
    bound = math.sqrt(2) * math.sqrt(3 / 200)
    assert np.abs(x).max() <= bound
    assert np.abs(x).max() > 0.99 * bound


def test_kaiming_normal_std(backend):
    mg.manual_seed(0)
    _, mean, std = _stats(init.kaiming_normal_(_empty(300, 400), nonlinearity="relu"))
    assert mean == pytest.approx(0.0, abs=0.001)
    assert std == pytest.approx(math.sqrt(2 / 400), rel=0.01)
    _, _, std = _stats(init.kaiming_normal_(_empty(300, 400), mode="fan_out", nonlinearity="tanh"))
    assert std == pytest.approx((5 / 3) / math.sqrt(300), rel=0.01)


# -- orthogonal ------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(6, 6), (4, 9), (9, 4), (3, 2, 4)])
@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 1e-5)])
def test_orthogonal_rows_or_columns_are_orthonormal(backend, shape, dtype, tol):
    mg.manual_seed(0)
    gain = 1.5
    t = init.orthogonal_(_empty(*shape, dtype=dtype), gain=gain)
    assert t.shape == shape and t.dtype == np.dtype(dtype)
    w = t.numpy().astype("float64").reshape(shape[0], -1)
    rows, cols = w.shape
    gram = w @ w.T if rows <= cols else w.T @ w
    np.testing.assert_allclose(gram, gain**2 * np.eye(min(rows, cols)), atol=tol * 10)


def test_orthogonal_sign_correction_makes_the_first_entry_symmetric(backend):
    # Householder QR alone fixes the sign of R's diagonal, which would fix the
    # sign of W[0, 0]; the correction by sign(diag(R)) makes it +/- equally often.
    mg.manual_seed(0)
    t = _empty(3, 3)
    positive = sum(float(init.orthogonal_(t).numpy()[0, 0]) > 0 for _ in range(300))
    assert 90 < positive < 210


def test_orthogonal_draws_differ_between_calls():
    mg.manual_seed(0)
    a = init.orthogonal_(_empty(5, 5)).numpy()
    b = init.orthogonal_(_empty(5, 5)).numpy()
    assert not np.allclose(a, b)


# -- constants ----------------------------------------------------------------------------
def test_zeros_ones_constant(backend):
    t = mg.randn(4, 5)
    assert init.zeros_(t) is t
    assert np.all(t.numpy() == 0)
    init.ones_(t)
    assert np.all(t.numpy() == 1)
    init.constant_(t, -0.25)
    assert np.all(t.numpy() == -0.25)
    assert t.dtype == np.float32 and t.shape == (4, 5)


def test_constant_on_integer_tensor():
    t = mg.zeros(3, dtype="int64")
    init.constant_(t, 7)
    assert t.dtype == np.int64 and t.tolist() == [7, 7, 7]


# -- seeding, dtypes, backends, grad mode ------------------------------------------------------
ALL_RANDOM = [
    lambda t: init.uniform_(t, -1, 1),
    lambda t: init.normal_(t),
    init.xavier_uniform_,
    init.xavier_normal_,
    init.kaiming_uniform_,
    init.kaiming_normal_,
    init.orthogonal_,
]


@pytest.mark.parametrize("fn", ALL_RANDOM)
def test_manual_seed_makes_init_reproducible(backend, fn):
    mg.manual_seed(123)
    a = fn(_empty(6, 7)).numpy()
    mg.manual_seed(123)
    b = fn(_empty(6, 7)).numpy()
    mg.manual_seed(124)
    c = fn(_empty(6, 7)).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("fn", ALL_RANDOM + [init.zeros_, init.ones_])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_init_preserves_dtype_backend_shape_and_identity(backend, fn, dtype):
    p = mg.nn.Parameter(mg.zeros(5, 4, dtype=dtype))
    out = fn(p)
    assert out is p
    assert p.dtype == np.dtype(dtype)
    assert p.shape == (5, 4)
    assert p.backend.name == backend
    assert p.backend.is_array(p.data)
    assert p.requires_grad and p.is_leaf and p.grad is None


@pytest.mark.parametrize("fn", ALL_RANDOM)
def test_init_works_under_no_grad_and_records_nothing(fn):
    p = mg.nn.Parameter(mg.zeros(4, 4, dtype="float64"))
    with mg.no_grad():
        fn(p)
    assert p.is_leaf and p.requires_grad
    assert np.any(p.numpy() != 0)
    (p * 2).sum().backward()  # still a usable leaf afterwards
    np.testing.assert_array_equal(p.grad.numpy(), np.full((4, 4), 2.0))


def test_random_init_rejects_integer_tensors_and_non_tensors():
    with pytest.raises(TypeError, match="floating-point.*int64"):
        init.normal_(mg.zeros(3, 3, dtype="int64"))
    with pytest.raises(TypeError, match="Tensor or Parameter, got ndarray"):
        init.xavier_uniform_(np.zeros((3, 3)))


def test_zero_element_tensor_is_left_alone():
    t = mg.zeros(0, 5)
    assert init.kaiming_uniform_(t) is t and t.shape == (0, 5)
    assert init.orthogonal_(t).shape == (0, 5)


def test_init_is_reachable_as_mg_nn_init():
    assert mg.nn.init.xavier_uniform_ is init.xavier_uniform_
    assert "init" in mg.nn.__all__
