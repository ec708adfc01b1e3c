"""The one example given for each defect class, exactly as reported, with the right answer.

Each class has its own thorough tests elsewhere (the op-table axes, the
precision sweep, the type-promotion table...); this file keeps the reported
situations themselves, so each can be read next to its fix.
"""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F

INF = float("inf")


def test_1_pow_zero_exponent_at_zero_has_zero_gradient():
    x = mg.tensor([0.0], requires_grad=True)
    (x**0).sum().backward()
    assert x.grad.tolist() == [0.0]


def test_2_logsumexp_with_infinities():
    out = F.logsumexp(mg.tensor([[-INF, -INF], [1.0, INF]]))
    assert out.tolist() == [-INF, INF]


def test_3_sigmoid_keeps_float32_precision():
    y = mg.tensor([-20.0]).sigmoid()
    assert y.dtype == np.float32
    assert y.item() == pytest.approx(2.0611536e-09, rel=1e-6)


def test_4_gradcheck_on_a_transposed_array():
    assert mg.gradcheck(lambda z: (z * z).sum(), [mg.tensor(np.ones((2, 3)).T)])


def test_5_no_grad_on_a_generator():
    @mg.no_grad
    def gen():
        yield mg.is_grad_enabled()

    assert next(gen()) is False
    assert mg.is_grad_enabled()


def test_6_clip_grad_norm_does_not_overflow():
    p = mg.nn.Parameter(mg.zeros(1))
    p.grad = mg.tensor(np.array([3e19], np.float32))
    total = mg.nn.clip_grad_norm_([p], 1.0)
    assert total == pytest.approx(3e19, rel=1e-7)
    assert p.grad.item() == pytest.approx(1.0, rel=1e-5)


def test_7_tokenize_keeps_a_combining_mark_in_its_word():
    assert mg.data.tokenize("cafe\u0301") == mg.data.tokenize("caf\u00e9") == ["caf\u00e9"]


def test_8_zero_d_tensors():
    assert mg.tensor(1.5).mean(axis=0).item() == 1.5
    assert mg.tensor(1.5).mean(axis=-1).item() == 1.5
    with pytest.raises(ValueError, match="^concat: 0-d tensors"):
        mg.concat([mg.tensor(1.0), mg.tensor(2.0)])
    with pytest.raises(ValueError, match="^min: axis 2 is out of range"):
        mg.ones(3).min(axis=2)


def test_9_python_scalars_next_to_boolean_tensors():
    mask = mg.tensor([False, True])
    assert mg.where(mask, 4, 2).tolist() == [2, 4]
    assert (mask * 2).tolist() == [0, 2]
    assert (mask + 1).tolist() == [1, 2]


def test_10_an_int_mixed_with_index_arrays_selects_first():
    data = np.arange(60.0).reshape(3, 4, 5)
    x = mg.tensor(data, requires_grad=True)
    y = x[1, :, [0, 2]]
    assert y.shape == (4, 2)
    np.testing.assert_array_equal(y.numpy(), data[1][:, [0, 2]])
    (y * mg.tensor(np.arange(8.0).reshape(4, 2), dtype="float32")).sum().backward()
    expected = np.zeros((3, 4, 5))
    expected[1][:, [0, 2]] = np.arange(8.0).reshape(4, 2)
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_11_unknown_backend_lists_the_backends():
    with pytest.raises((ValueError, TypeError)) as info:
        mg.tensor([1.0]).to("cupyy")
    msg = str(info.value)
    assert "backend" in msg and "numpy" in msg and "cupy" in msg
