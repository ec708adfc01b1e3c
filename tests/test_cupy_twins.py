"""CuPy-only code against its NumPy twin, on a machine with CuPy and a GPU (skipped elsewhere).

The CuPy backend differs from the shared one in a few primitives (`backends.cupy_backend`:
``cupyx.scatter_add``, ``cupy.asnumpy``, stream synchronisation) and runs the fused recurrent
kernels' gate arithmetic on CuPy arrays. Without a GPU the test suite runs the same code paths on
the strict stand-in; here the real ones are compared with NumPy's, in float64.
"""

from __future__ import annotations

import numpy as np
import pytest

import backends
import minigrad as mg

REASON = backends.unavailable_reason("cupy")
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"needs CuPy with a GPU: {REASON}")


@pytest.fixture
def cupy_backend():
    return backends.get("cupy")


def test_scatter_add_matches_numpys(cupy_backend):
    host = backends.get("numpy")
    rng = np.random.default_rng(0)
    values = rng.standard_normal((5, 3))
    cases = [
        ((6, 3), np.array([0, 2, 2, 5, 0]), values),
        ((5, 3), np.array([True, False, True, True, False]), values[:3]),
        ((4, 3), (np.array([1, 1, 3]), np.array([0, 0, 2])), values[0]),
    ]
    for shape, index, v in cases:
        want = np.zeros(shape)
        host.scatter_add(want, index, v)
        got = cupy_backend.asarray(np.zeros(shape))
        dev_index = tuple(cupy_backend.asarray(i) for i in index) if isinstance(index, tuple) else \
            cupy_backend.asarray(index)
        cupy_backend.scatter_add(got, dev_index, cupy_backend.asarray(v))
        cupy_backend.synchronize()
        np.testing.assert_allclose(cupy_backend.to_numpy(got), want, rtol=1e-14)


def test_transfers_round_trip(cupy_backend):
    a = np.arange(12.0).reshape(3, 4)[:, ::2]
    d = cupy_backend.asarray(a)
    assert cupy_backend.is_array(d) and not isinstance(d, np.ndarray)
    np.testing.assert_array_equal(cupy_backend.to_numpy(d), a)
    np.testing.assert_array_equal(backends.get("numpy").asarray(d), a)  # a device array reaches the host explicitly


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("padded", [False, True])
def test_fused_kernels_on_the_gpu_match_numpy(kind, padded):
    """The fused kernels' gate arithmetic on CuPy arrays against NumPy's: outputs and every gradient."""
    results = {}
    for name in ("numpy", "cupy"):
        mg.manual_seed(0)
        with mg.use_backend(name), mg.nn.recurrent_impl("fused"):
            layer = getattr(mg.nn, kind)(3, 5, num_layers=2, bidirectional=True, dtype="float64")
            x = mg.randn(4, 6, 3, dtype="float64", requires_grad=True)
            out, _ = layer(x, lengths=[6, 3, 5, 1]) if padded else layer(x)
            (out * out).sum().backward()
            results[name] = [out.numpy(), x.grad.numpy(), *(p.grad.numpy() for p in layer.parameters())]
    for got, want in zip(results["cupy"], results["numpy"]):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
