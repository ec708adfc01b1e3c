"""0-d tensors: one rule in every reduction and movement op, PyTorch's.

On a 0-d tensor, axis 0 and -1 name the tensor itself (a reduction or move
along them is the identity); any other axis is an error that names the op the
user called and the 0-d shape. Values, shapes and gradients against torch.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import HAVE_TORCH

import minigrad as mg
import minigrad.nn.functional as F

if HAVE_TORCH:
    import torch

# name: (minigrad function of a 0-d tensor, torch function of a 0-d tensor)
OPS = {}
for _axis in (None, 0, -1):
    _kw = {} if _axis is None else {"dim": _axis}
    OPS[f"sum_{_axis}"] = (lambda x, a=_axis: x.sum(axis=a), lambda t, k=_kw: t.sum(**k))
    OPS[f"sum_keepdims_{_axis}"] = (lambda x, a=_axis: x.sum(axis=a, keepdims=True),
                                    lambda t, k=_kw: t.sum(**k, keepdim=True) if k else t.sum())
    OPS[f"mean_{_axis}"] = (lambda x, a=_axis: x.mean(axis=a), lambda t, k=_kw: t.mean(**k))
    OPS[f"max_{_axis}"] = (lambda x, a=_axis: x.max(axis=a), lambda t, k=_kw: t.amax(**k))
    OPS[f"min_{_axis}"] = (lambda x, a=_axis: x.min(axis=a), lambda t, k=_kw: t.amin(**k))
    OPS[f"std_{_axis}"] = (lambda x, a=_axis: x.std(axis=a, correction=0), lambda t, k=_kw: t.std(**k, correction=0))
    OPS[f"var_{_axis}"] = (lambda x, a=_axis: x.var(axis=a, correction=0), lambda t, k=_kw: t.var(**k, correction=0))
for _axis in (0, -1):
    OPS[f"softmax_{_axis}"] = (lambda x, a=_axis: F.softmax(x, axis=a), lambda t, a=_axis: torch.softmax(t, a))
    OPS[f"log_softmax_{_axis}"] = (lambda x, a=_axis: F.log_softmax(x, axis=a),
                                   lambda t, a=_axis: torch.log_softmax(t, a))
    OPS[f"logsumexp_{_axis}"] = (lambda x, a=_axis: F.logsumexp(x, axis=a), lambda t, a=_axis: torch.logsumexp(t, a))
    OPS[f"cumsum_{_axis}"] = (lambda x, a=_axis: x.cumsum(a), lambda t, a=_axis: t.cumsum(a))
    OPS[f"flip_{_axis}"] = (lambda x, a=_axis: x.flip(a), lambda t, a=_axis: t.flip(a))
    OPS[f"squeeze_{_axis}"] = (lambda x, a=_axis: x.squeeze(a), lambda t, a=_axis: t.squeeze(a))
    OPS[f"unsqueeze_{_axis}"] = (lambda x, a=_axis: x.unsqueeze(a), lambda t, a=_axis: t.unsqueeze(a))
    OPS[f"stack_{_axis}"] = (lambda x, a=_axis: mg.stack([x, x * 2], axis=a),
                             lambda t, a=_axis: torch.stack([t, t * 2], a))
    OPS[f"swapaxes_{_axis}"] = (lambda x, a=_axis: x.swapaxes(a, 0), lambda t, a=_axis: t.transpose(a, 0))
OPS.update({
    "squeeze_all": (lambda x: x.squeeze(), lambda t: t.squeeze()),
    "flatten": (lambda x: x.flatten(), lambda t: t.flatten()),
    "transpose": (lambda x: x.transpose(), lambda t: t.permute(())),
    "T": (lambda x: x.T, lambda t: t.T if t.ndim != 2 else t.t()),
    "reshape": (lambda x: x.reshape(1, 1), lambda t: t.reshape(1, 1)),
    "expand": (lambda x: x.expand(3), lambda t: t.expand(3)),
    "broadcast_to": (lambda x: x.broadcast_to((2, 2)), lambda t: t.broadcast_to((2, 2))),
    "repeat": (lambda x: x.repeat(3), lambda t: t.repeat(3)),
    "index_none": (lambda x: x[None], lambda t: t[None]),
    "index_ellipsis": (lambda x: x[...], lambda t: t[...]),
})


@pytest.mark.parametrize("name", list(OPS))
def test_zero_d_matches_torch(backend, name):
    fn, tfn = OPS[name]
    x = mg.tensor(1.5, dtype="float64", requires_grad=True)
    out = fn(x)
    w = np.linspace(0.5, 1.5, out.numel()).reshape(out.shape)
    (out * mg.tensor(w)).sum().backward()
    assert mg.gradcheck(fn, [mg.tensor(1.5, dtype="float64")])
    if HAVE_TORCH:
        t = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
        tout = tfn(t)
        (tout * torch.as_tensor(w)).sum().backward()
        assert out.shape == tuple(tout.shape), name
        np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("op", ["argmax", "argmin"])
@pytest.mark.parametrize("axis", [None, 0, -1])
def test_zero_d_argmax(backend, op, axis):
    out = getattr(mg.tensor(1.5), op)(axis=axis)
    assert out.shape == () and out.item() == 0


BAD_AXIS = {
    "sum": lambda x: x.sum(axis=1),
    "mean": lambda x: x.mean(axis=1),
    "max": lambda x: x.max(axis=1),
    "min": lambda x: x.min(axis=-2),
    "argmax": lambda x: x.argmax(axis=1),
    "argmin": lambda x: x.argmin(axis=1),
    "var": lambda x: x.var(axis=1),
    "std": lambda x: x.std(axis=1),
    "cumsum": lambda x: x.cumsum(1),
    "flip": lambda x: x.flip(1),
    "squeeze": lambda x: x.squeeze(1),
    "unsqueeze": lambda x: x.unsqueeze(2),
    "swapaxes": lambda x: x.swapaxes(0, 1),
    "flatten": lambda x: x.flatten(1),
    "softmax": lambda x: F.softmax(x, axis=1),
    "log_softmax": lambda x: F.log_softmax(x, axis=1),
    "logsumexp": lambda x: F.logsumexp(x, axis=-2),
}


@pytest.mark.parametrize("op", list(BAD_AXIS))
def test_zero_d_bad_axis_names_the_op(backend, op):
    with pytest.raises((ValueError, IndexError)) as info:
        BAD_AXIS[op](mg.tensor(1.5))
    msg = str(info.value)
    assert msg.startswith(f"{op}:"), msg
    assert "0 dimensions" in msg or "0-d" in msg, msg


def test_reported_examples():
    assert mg.tensor(1.5).mean(axis=0).item() == 1.5
    assert mg.tensor(1.5).mean(axis=-1).item() == 1.5
    with pytest.raises(ValueError, match="concat: 0-d tensors"):
        mg.concat([mg.tensor(1.0), mg.tensor(2.0)])
    with pytest.raises(ValueError, match="^min:"):
        mg.ones(2, 3).min(axis=5)
