"""The pointwise gate arithmetic of the fused recurrent kernels, one time step at a time.

This is the only part of a fused sequence kernel that differs by device: the
matrix products and the time loop live in [`minigrad.ops.recurrent`][minigrad.ops.recurrent].
The methods here write into preallocated arrays (``out=``), so a step
allocates next to nothing. A device backend may override any of them with
fused device kernels (one launch per step), keeping these signatures and
variable names; the NumPy versions below are the reference.

Shape legend: N batch, H hidden units. ``a`` holds a step's gate
pre-activations and is overwritten in place with the activations.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class RecurrentPointwise:
    """Gate arithmetic of RNN, LSTM and GRU steps on arrays of one array module ``xp``.

    ``use_compiled`` (default: True unless ``$MINIGRAD_JIT`` is ``0``) lets the
    kernels run whole time loops compiled by numba (`backends.recurrent_jit`)
    on NumPy arrays, when numba is installed.
    """

    def __init__(self, xp: Any) -> None:
        self.xp = xp
        self.use_compiled = os.environ.get("MINIGRAD_JIT", "1") != "0"

    def compiled(self, dtype: Any) -> Any:
        """The module of compiled time loops for arrays of ``dtype`` (`backends.recurrent_jit`), or None:
        then the kernels loop in Python over NumPy calls.

        Measured against the NumPy loops with a one-thread BLAS (a training step of one layer, N x H
        from 8 x 32 to 128 x 1024): 0.3-0.9x the time for LSTM and GRU, 0.7-1.2x for RNN, and without
        the GIL, so the two directions of a bidirectional layer can run at once. With two BLAS threads
        too, since each step's product goes to NumPy's own BLAS: LSTM at N 64, T 100, I 128, H 256, a
        training step took 117 against 146-150 ms with the NumPy loops.
        """
        if not self.use_compiled or self.xp.__name__ != "numpy" or str(dtype) not in ("float32", "float64"):
            return None
        return _compiled_loops()

    def directions_at_once(self, dtype: Any) -> bool:
        """Whether both directions of a bidirectional layer may run at the same time, in two threads,
        inside `one_blas_thread`.

        Only the compiled loops release the GIL (the NumPy loops are dozens of small calls that
        each hold it), and a second CPU must be free to the process.
        """
        return _usable_cpus() >= 2 and self.compiled(dtype) is not None

    @contextmanager
    def one_blas_thread(self) -> Iterator[None]:
        """Inside, NumPy's BLAS runs one thread per call (for the whole process; its count is restored
        after), as two threads each calling a multi-threaded OpenBLAS wait on each other's pool
        (measured: the forward of a bidirectional LSTM 4.5x slower than one direction after the
        other). OpenBLAS's per-thread count (``openblas_set_num_threads_local``) is no way out: in the
        build NumPy ships, setting it in one thread changed the count of the others too.

        Being process-wide, it races with thread limits set in other Python threads at the same time
        (as two ``threadpool_limits`` in two threads race with each other): a limit entered in another
        thread inside this block records one thread as the count to restore. Run bidirectional layers
        in several threads with one limit set outside them, or ``MINIGRAD_JIT=0``.
        """
        blas = _numpy_blas()
        before = _blas_threads()
        if blas is None or before == 1:
            yield
            return
        blas.set_num_threads(1)
        try:
            yield
        finally:
            blas.set_num_threads(before)

    # -- activations, in place ------------------------------------------------
    def sigmoid_(self, v: Any) -> None:
        """v <- 1 / (1 + exp(-v)): relatively exact in both tails (exp overflowing gives 0)."""
        xp = self.xp
        xp.negative(v, out=v)
        xp.exp(v, out=v)
        v += 1
        xp.reciprocal(v, out=v)

    def activation_(self, v: Any, nonlinearity: str) -> None:
        """v <- f(v) for an Elman RNN's nonlinearity ``tanh``, ``relu`` or ``sigmoid``."""
        if nonlinearity == "tanh":
            self.xp.tanh(v, out=v)
        elif nonlinearity == "relu":
            self.xp.maximum(v, 0, out=v)
        else:
            self.sigmoid_(v)

    def activation_grad_(self, dh: Any, h: Any, nonlinearity: str) -> None:
        """dh <- dh * f'(a), written with the output h = f(a): 1 - h^2, [h > 0] or h (1 - h)."""
        if nonlinearity == "tanh":
            dh *= 1 - h * h
        elif nonlinearity == "relu":
            dh *= h > 0
        else:
            dh *= h * (1 - h)

    # -- LSTM -----------------------------------------------------------------
    def lstm_forward(self, a: Any, c_prev: Any, c: Any, tanh_c: Any, h: Any) -> None:
        """Gates i, f, g, o from pre-activations ``a (N, 4H)``, then the new cell and hidden state::

            i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o);   g = tanh(a_g)
            c = f * c_prev + i * g;   h = o * tanh(c)
        """
        xp = self.xp
        H = c.shape[-1]
        i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
        g_pre = xp.array(g, copy=True)  # contiguous: passes over whole contiguous rows are twice as fast
        self.sigmoid_(a)  # all four columns blocks at once; g is then replaced
        xp.tanh(g_pre, out=g_pre)
        g[...] = g_pre
        xp.multiply(f, c_prev, out=c)
        c += i * g
        xp.tanh(c, out=tanh_c)
        xp.multiply(o, tanh_c, out=h)

    def lstm_backward(self, a: Any, c_prev: Any, tanh_c: Any, dh: Any, dc: Any, da: Any) -> None:
        """From dL/dh and dL/dc of a step to dL/d(pre-activations) ``da (N, 4H)``; ``dc`` becomes dL/dc_prev::

            dc += dh * o * (1 - tanh(c)^2)
            da = [dc g, dc c_prev, dc i, dh tanh(c)] * [i (1 - i), f (1 - f), 1 - g^2, o (1 - o)]
            dc_prev = dc * f

        ``da`` may be ``a`` itself: ``a`` is read in full before ``da`` is written.
        """
        xp = self.xp
        N, H = dh.shape
        i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
        t = tanh_c * tanh_c
        xp.subtract(1, t, out=t)
        t *= o
        t *= dh
        dc += t
        d = 1 - a  # the derivatives of the four activations, all as s (1 - s) first ...
        d *= a
        dg = d[:, 2 * H : 3 * H]  # ... then 1 - g^2 for the tanh gate
        xp.multiply(g, g, out=dg)
        xp.subtract(1, dg, out=dg)
        d[:, :H] *= g
        d[:, H : 2 * H] *= c_prev
        d[:, 2 * H : 3 * H] *= i
        d[:, 3 * H :] *= tanh_c
        d[:, : 3 * H].reshape(N, 3, H)[...] *= dc[:, None, :]
        d[:, 3 * H :] *= dh
        dc *= f
        da[...] = d

    # -- GRU ------------------------------------------------------------------
    def gru_forward(self, xw: Any, hw: Any, h_prev: Any, a: Any, h: Any) -> None:
        """Gates r, z, n into ``a (N, 3H)`` and the new state ``h``, from the input part ``xw``
        and the recurrent part ``hw = h_prev W_hh^T + b_hh`` (both ``(N, 3H)``)::

            r = sigmoid(xw_r + hw_r);  z = sigmoid(xw_z + hw_z)
            n = tanh(xw_n + r * hw_n); h = (1 - z) * n + z * h_prev = n + z * (h_prev - n)
        """
        xp = self.xp
        H = h.shape[-1]
        rz = xw[:, : 2 * H] + hw[:, : 2 * H]  # contiguous: passes over whole rows are twice as fast
        self.sigmoid_(rz)
        a[:, : 2 * H] = rz
        r, z, n = rz[:, :H], rz[:, H:], a[:, 2 * H :]
        xp.multiply(r, hw[:, 2 * H :], out=n)
        n += xw[:, 2 * H :]
        xp.tanh(n, out=n)
        xp.subtract(h_prev, n, out=h)
        h *= z
        h += n

    def gru_backward(self, a: Any, hw_n: Any, h_prev: Any, dh: Any, dhw: Any, dn: Any) -> None:
        """From dL/dh of a step to dL/dhw ``(N, 3H)`` and dL/d(n's pre-activation) ``dn (N, H)``;
        ``dh`` becomes its direct part dL/dh_prev = dh * z (the part through ``hw`` is ``dhw W_hh``,
        added by the caller). ``dhw`` and ``dn`` may be ``a`` and ``hw_n``: they are read first::

            dn = dh (1 - z) (1 - n^2);    dz = dh (h_prev - n) z (1 - z)
            dr = dn * hw_n * r (1 - r);   dhw = [dr, dz, dn * r]   (dxw = [dr, dz, dn])
        """
        H = dh.shape[-1]
        r, z, n = a[:, :H], a[:, H : 2 * H], a[:, 2 * H :]
        dn_t = dh * (1 - z) * (1 - n * n)
        dz = dh * (h_prev - n) * z * (1 - z)
        dr = dn_t * hw_n * r * (1 - r)
        dn_r = dn_t * r
        dh *= z
        dhw[:, :H], dhw[:, H : 2 * H], dhw[:, 2 * H :] = dr, dz, dn_r
        dn[...] = dn_t


@functools.cache
def _compiled_loops() -> Any:
    """`backends.recurrent_jit` when numba imports and NumPy's BLAS gemm is found, else None (looked up once)."""
    try:
        from backends import recurrent_jit
    except ImportError:
        return None
    return recurrent_jit if recurrent_jit.available() else None


@functools.cache
def _usable_cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@functools.cache
def _numpy_blas() -> Any:
    """threadpoolctl's handle on NumPy's own BLAS (the library in NumPy's wheel), or None."""
    from threadpoolctl import ThreadpoolController

    numpy_dir = os.path.dirname(os.path.dirname(os.path.abspath(__import__("numpy").__file__)))
    libs = ThreadpoolController().select(user_api="blas").lib_controllers
    ours = [lib for lib in libs if os.path.abspath(lib.filepath).startswith(os.path.join(numpy_dir, "numpy"))]
    return ours[0] if ours else None


def _blas_threads() -> int:
    """The threads NumPy's BLAS uses per call now (1 when it is not known)."""
    blas = _numpy_blas()
    return 1 if blas is None else blas.num_threads
