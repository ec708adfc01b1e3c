"""Transposed, Fortran-ordered and strided arrays behave exactly like contiguous ones.

The op table runs every op on non-contiguous inputs (``test_noncontiguous_inputs``
in test_ops*.py); here: gradcheck itself, checkpoints, state dicts, optimizers
and the recurrent layers.
"""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg

RNG = np.random.default_rng(0)


def _layouts(a):
    """The same values as C-contiguous, Fortran-ordered, transposed-back and strided arrays."""
    a = np.ascontiguousarray(a)
    strided = np.repeat(a, 2, axis=0)[::2]
    return {"c": a, "fortran": np.asfortranarray(a), "transposed": np.ascontiguousarray(a.T).T, "strided": strided}


def test_reported_gradcheck_example(backend):
    x = mg.tensor(np.ones((2, 3)).T)
    assert not x.data.flags.c_contiguous
    assert mg.gradcheck(lambda z: (z * z).sum(), [x])


@pytest.mark.parametrize("layout", ["fortran", "transposed", "strided"])
def test_gradcheck_sees_a_wrong_gradient_in_any_layout(backend, layout):
    """The perturbation reaches every element, so a wrong backward is caught whatever the layout."""
    x = mg.Tensor(_layouts(RNG.standard_normal((3, 4)))[layout])

    def wrong(z):  # forward z^3, but a backward that drops the factor 3 (via a detached copy)
        return z * z * z.detach()

    with pytest.raises(mg.GradcheckError, match="gradient mismatch"):
        mg.gradcheck(wrong, [x])


@pytest.mark.parametrize("layout", ["fortran", "transposed", "strided"])
def test_checkpoint_round_trip(backend, tmp_path, layout):
    data = _layouts(RNG.standard_normal((4, 3)))[layout]
    t = mg.Tensor(data)
    mg.save({"w": t, "col": t[:, 1]}, tmp_path / "ck.npz")
    back = mg.load(tmp_path / "ck.npz")
    np.testing.assert_array_equal(np.asarray(back["w"]), data)
    np.testing.assert_array_equal(np.asarray(back["col"]), data[:, 1])


def test_state_dict_from_fortran_arrays(backend):
    src = mg.nn.LSTM(3, 4, batch_first=True)
    state = {k: np.asfortranarray(np.asarray(v)) for k, v in src.state_dict().items()}
    dst = mg.nn.LSTM(3, 4, batch_first=True)
    dst.load_state_dict(state)
    x = mg.randn(2, 5, 3)
    np.testing.assert_array_equal(dst(x)[0].numpy(), src(x)[0].numpy())


@pytest.mark.parametrize("opt", ["SGD", "Adam", "RMSprop"])
def test_optimizer_step_on_a_fortran_parameter(backend, opt):
    data = RNG.standard_normal((3, 4))
    grad = RNG.standard_normal((3, 4))
    results = []
    for layout in ("c", "fortran"):
        p = mg.nn.Parameter(mg.Tensor(_layouts(data)[layout].copy(order="K")))
        p.grad = mg.Tensor(_layouts(grad)[layout])
        o = getattr(mg.optim, opt)([p], lr=0.1)
        o.step()
        o.step()
        results.append(p.numpy())
    np.testing.assert_array_equal(results[0], results[1])


@pytest.mark.parametrize("layer", ["RNN", "LSTM", "GRU"])
def test_recurrent_layer_on_a_transposed_input(backend, layer):
    """A time-major array transposed to batch-first (a view) gives the same outputs and gradients."""
    mg.manual_seed(1)
    net = getattr(mg.nn, layer)(3, 4, dtype="float64")
    time_major = RNG.standard_normal((5, 2, 3))
    outs = []
    for x_data in (np.ascontiguousarray(time_major.transpose(1, 0, 2)), time_major.transpose(1, 0, 2)):
        x = mg.Tensor(x_data, requires_grad=True)
        out = net(x)[0]
        (out * out).sum().backward()
        outs.append((out.numpy(), x.grad.numpy()))
        net.zero_grad()
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-13)
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-12)
