"""Situations a new user ran into, each with PyTorch's answer (or a clear error)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import HAVE_TORCH

import minigrad as mg
import minigrad.nn.functional as F

if HAVE_TORCH:
    import torch


@pytest.mark.parametrize("index", [np.int64(1), mg.tensor(1), 1], ids=["numpy-int", "0d-tensor", "int"])
def test_any_int_selects_before_index_arrays(backend, index):
    x = mg.tensor(np.arange(60.0).reshape(3, 4, 5))
    y = x[index, :, [0, 2]]
    assert y.shape == (4, 2)
    np.testing.assert_array_equal(y.numpy(), np.arange(60.0).reshape(3, 4, 5)[1][:, [0, 2]])


def test_empty_index_lists(backend):
    assert mg.zeros(3)[[]].shape == (0,)
    assert mg.zeros(3, 4, 5)[1, [], :].shape == (0, 5)


def test_numpy_integers_as_axes_and_sizes(backend):
    x, i = mg.ones(2, 4), np.int64
    assert x.sum(i(1)).shape == (2,)
    assert x.sum((i(0), 1)).shape == ()
    assert [p.shape for p in x.split(2, i(1))] == [(2, 2), (2, 2)]
    assert x.chunk(i(2))[0].shape == (1, 4)
    assert x.repeat(i(2), 1).shape == (4, 4)
    assert x.argmax(i(1)).shape == (2,)
    assert x.cumsum(i(1)).shape == (2, 4)
    assert F.softmax(x, i(1)).shape == (2, 4)
    out, _ = mg.nn.GRU(3, 2)(mg.zeros(2, 4, 3), lengths=[np.int64(4), np.int64(2)])
    assert out.shape == (2, 4, 2)


@pytest.mark.parametrize("axis", [1.0, True, "0"])
def test_non_integer_axes_are_type_errors_naming_the_op(backend, axis):
    with pytest.raises(TypeError, match="^sum: axis must be an int"):
        mg.ones(2, 3).sum(axis)


def test_logsumexp_over_several_axes_matches_torch(backend):
    data = np.array([[1.0, 2, 3], [4, 5, 6]])
    x = mg.tensor(data, requires_grad=True)
    y = F.logsumexp(x, (0, 1))
    y.backward()
    assert y.shape == ()
    np.testing.assert_allclose(y.item(), np.log(np.exp(data).sum()), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), np.exp(data) / np.exp(data).sum(), rtol=1e-5)
    assert F.logsumexp(x, (1,), keepdims=True).shape == (2, 1)
    with pytest.raises(TypeError, match="^softmax: axis must be an int"):
        F.softmax(x, (0, 1))


def test_softmax_family_on_an_empty_axis(backend):
    assert F.softmax(mg.zeros(3, 0)).shape == (3, 0)
    assert F.log_softmax(mg.zeros(3, 0)).shape == (3, 0)
    assert F.logsumexp(mg.zeros(3, 0)).tolist() == [-np.inf] * 3


@pytest.mark.parametrize("fn", ["softmax", "log_softmax", "logsumexp", "softplus", "log_sigmoid", "leaky_relu",
                                "elu", "gelu"])
def test_float_only_functions_turn_integers_into_float32(backend, fn):
    assert getattr(F, fn)(mg.tensor([1, 2])).dtype == np.float32


def test_bool_sign_and_non_numeric_data(backend):
    assert mg.tensor([True, False]).sign().tolist() == [True, False]
    for bad in (None, ["abc"], 1j):
        with pytest.raises(TypeError, match="is not numeric"):
            mg.tensor(bad)
    x = mg.tensor([1.0, 2.0])
    assert (x == None) is False and (x != None) is True  # noqa: E711 (the comparison is the test)
    with pytest.raises(TypeError):
        x < "a"  # noqa: B015


def test_squeeze_leaves_an_axis_of_another_size(backend):
    assert mg.ones(1, 3).squeeze(1).shape == (1, 3)
    assert mg.ones(1, 3).squeeze(0).shape == (3,)
    if HAVE_TORCH:
        assert tuple(torch.ones(1, 3).squeeze(1).shape) == (1, 3)


def test_empty_reductions_and_products(backend):
    assert mg.zeros(0, 3).max(1).shape == (0,)
    with pytest.raises(ValueError, match="^max: axis 0 of shape"):
        mg.zeros(0, 3).max(0)
    assert F.linear(mg.zeros(2, 0), mg.zeros(4, 0)).tolist() == [[0.0] * 4] * 2
    with pytest.raises(ValueError, match="no time steps"):
        mg.nn.LSTM(3, 4)(mg.zeros(2, 0, 3))


def test_recurrent_impl_needs_a_name():
    with pytest.raises(ValueError, match="recurrent_impl: impl must be one of"), mg.nn.recurrent_impl(None):
        pass


def test_turkish_capital_i_lower_cases_to_i():
    assert mg.data.tokenize("İyi iyi") == ["iyi", "iyi"]
    vocab = mg.data.Vocab.build(["İstanbul iyi", "istanbul İyi"])
    assert vocab.encode("İstanbul") == vocab.encode("istanbul")


@pytest.mark.parametrize("shape", [(), (3,), (2, 0, 4)])
def test_size_and_dim_as_in_pytorch(shape):
    t = mg.zeros(*shape)
    assert t.size() == shape and t.dim() == len(shape)
    for d in range(-len(shape), len(shape)):
        assert t.size(d) == shape[d]
        assert t.size(np.int64(d)) == shape[d]
    with pytest.raises(IndexError, match=r"size: dim .* out of range"):
        t.size(len(shape))
    with pytest.raises(TypeError, match="dim must be an int"):
        t.size(1.0)
    if HAVE_TORCH:
        import torch

        ref = torch.zeros(shape)
        assert tuple(ref.size()) == t.size() and ref.dim() == t.dim()
        for d in range(-len(shape), len(shape)):
            assert ref.size(d) == t.size(d)
        with pytest.raises(IndexError):
            ref.size(len(shape))
