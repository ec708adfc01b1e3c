"""``mg.nn.Bidirectional``: parity with PyTorch's bidirectional layers on packed
sequences, wrapping a user's own recurrent module, merge modes and errors."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import requires_torch

import minigrad as mg
from minigrad.nn import Parameter

# every test runs on each twin of the layers: composed, fused, fused with compiled loops
pytestmark = pytest.mark.usefixtures("impl")

try:
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
except ImportError:  # the torch tests are skipped by requires_torch
    torch = None


def close(actual, expected, rtol=1e-6, atol=1e-10):
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=rtol, atol=atol)


class Elman(mg.nn.Module):
    """A user's own forward-only recurrent layer: a hand-written loop over time.

    ``forward(x (N, T, I), h (N, H) or None, lengths=None) -> (output (N, T, H), h_last (N, H))``;
    with ``lengths`` the state is carried unchanged and the output is zero at padded steps.
    """

    def __init__(self, input_size: int, hidden_size: int, seed: int) -> None:
        super().__init__()
        rng = np.random.default_rng(seed)
        self.hidden_size = hidden_size
        self.w_x = Parameter(rng.uniform(-0.8, 0.8, (input_size, hidden_size)))
        self.w_h = Parameter(rng.uniform(-0.8, 0.8, (hidden_size, hidden_size)))
        self.b = Parameter(rng.uniform(-0.3, 0.3, (hidden_size,)))
        self.calls = 0

    def forward(self, x, h=None, lengths=None):
        self.calls += 1
        N, T, _ = x.shape
        if h is None:
            h = mg.zeros(N, self.hidden_size, dtype=x.dtype)
        outputs = []
        for t in range(T):
            new = (x[:, t] @ self.w_x + h @ self.w_h + self.b).tanh()
            if lengths is None:
                h = new
                outputs.append(h)
            else:
                real = mg.tensor(np.array([[t < n] for n in lengths]))
                h = mg.where(real, new, h)
                outputs.append(mg.where(real, new, 0.0))
        return mg.stack(outputs, axis=1), h


def numpy_elman(layer: Elman, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The same layer in NumPy on one unpadded sequence ``(T, I)``."""
    w_x, w_h, b = layer.w_x.numpy(), layer.w_h.numpy(), layer.b.numpy()
    h = np.zeros(w_h.shape[0])
    out = []
    for x_t in x:
        h = np.tanh(x_t @ w_x + h @ w_h + b)
        out.append(h)
    return np.stack(out), h


def custom_pair(I=2, H=3):
    return Elman(I, H, seed=1), Elman(I, H, seed=2)


# -- parity with a torch bidirectional layer ------------------------------------------------


def torch_halves(tlayer):
    """The forward and reverse weights of a torch bidirectional layer as two forward-only state dicts."""
    sd = {k: v.detach().numpy() for k, v in tlayer.state_dict().items()}
    forward = {k: v for k, v in sd.items() if not k.endswith("_reverse")}
    backward = {k.removesuffix("_reverse"): v for k, v in sd.items() if k.endswith("_reverse")}
    return forward, backward


@requires_torch
@pytest.mark.parametrize("use_hx", [False, True], ids=["nohx", "hx"])
@pytest.mark.parametrize("batch_first", [True, False], ids=["batch_first", "time_first"])
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_wrapped_builtin_layer_matches_torch_bidirectional_packed(backend, kind, batch_first, use_hx):
    N, T, I, H = 3, 5, 2, 3
    lengths = [4, 1, 3]  # unsorted, longest < T
    torch.manual_seed(0)
    tlayer = getattr(torch.nn, kind)(I, H, bidirectional=True, batch_first=batch_first).double()
    fwd_sd, bwd_sd = torch_halves(tlayer)
    fwd = getattr(mg.nn, kind)(I, H, batch_first=batch_first, dtype="float64")
    bwd = getattr(mg.nn, kind)(I, H, batch_first=batch_first, dtype="float64")
    fwd.load_state_dict(fwd_sd)
    bwd.load_state_dict(bwd_sd)
    bi = mg.nn.Bidirectional(fwd, merge_mode="concat", backward_layer=bwd)

    rng = np.random.default_rng(1)
    shape = (N, T, I) if batch_first else (T, N, I)
    x_np = rng.standard_normal(shape)
    n_states = 2 if kind == "LSTM" else 1
    h_np = [rng.standard_normal((2, N, H)) for _ in range(n_states)] if use_hx else None
    w_out = rng.standard_normal(shape[:2] + (2 * H,))
    w_state = [rng.standard_normal((2, N, H)) for _ in range(n_states)]

    # torch, on packed sequences
    tx = torch.tensor(x_np, requires_grad=True)
    th = None if h_np is None else [torch.tensor(h, requires_grad=True) for h in h_np]
    packed = pack_padded_sequence(tx, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=False)
    t_arg = None if th is None else (tuple(th) if kind == "LSTM" else th[0])
    tout, tstate = tlayer(packed, t_arg)
    tout, _ = pad_packed_sequence(tout, batch_first=batch_first, total_length=T)
    tstate = list(tstate) if kind == "LSTM" else [tstate]
    tloss = (tout * torch.tensor(w_out)).sum() + sum((s * torch.tensor(w)).sum() for s, w in zip(tstate, w_state))
    tloss.backward()

    # minigrad: two forward-only layers, wrapped
    x = mg.tensor(x_np, requires_grad=True)
    hx = None
    if h_np is not None:
        hs = [mg.tensor(h, requires_grad=True) for h in h_np]
        def half(d):
            return tuple(h[d : d + 1] for h in hs) if kind == "LSTM" else hs[0][d : d + 1]

        hx = (half(0), half(1))
    out, (state_f, state_b) = bi(x, hx, lengths=lengths)
    ours = [mg.concat([f, b], axis=0) for f, b in zip(*(
        (list(s) if kind == "LSTM" else [s]) for s in (state_f, state_b)))]
    loss = (out * mg.tensor(w_out)).sum()
    for s, w in zip(ours, w_state):
        loss = loss + (s * mg.tensor(w)).sum()
    loss.backward()

    assert out.shape == tuple(tout.shape)
    close(out.numpy(), tout.detach().numpy())
    for a, b in zip(ours, tstate):
        close(a.numpy(), b.detach().numpy())
    close(x.grad.numpy(), tx.grad.numpy())
    if h_np is not None:
        for a, b in zip(hs, th):
            close(a.grad.numpy(), b.grad.numpy())
    tgrads = {n: p.grad.numpy() for n, p in tlayer.named_parameters()}
    for name, p in fwd.named_parameters():
        close(p.grad.numpy(), tgrads[name])
    for name, p in bwd.named_parameters():
        close(p.grad.numpy(), tgrads[name + "_reverse"])


def test_wrapped_lstm_matches_builtin_bidirectional_lstm(backend):
    """Without torch in the loop: the wrapper equals the layer's own bidirectional mode."""
    both = mg.nn.LSTM(2, 3, bidirectional=True, dtype="float64")
    sd = both.state_dict()
    fwd, bwd = mg.nn.LSTM(2, 3, dtype="float64"), mg.nn.LSTM(2, 3, dtype="float64")
    fwd.load_state_dict({k: v for k, v in sd.items() if not k.endswith("_reverse")})
    bwd.load_state_dict({k.removesuffix("_reverse"): v for k, v in sd.items() if k.endswith("_reverse")})
    x = mg.tensor(np.random.default_rng(2).standard_normal((3, 5, 2)))
    a, (h, c) = both(x, lengths=[5, 2, 3])
    b, ((hf, cf), (hb, cb)) = mg.nn.Bidirectional(fwd, backward_layer=bwd)(x, lengths=[5, 2, 3])
    close(b.numpy(), a.numpy(), rtol=1e-12)
    close(mg.concat([hf, hb]).numpy(), h.numpy(), rtol=1e-12)
    close(mg.concat([cf, cb]).numpy(), c.numpy(), rtol=1e-12)


# -- a user's own recurrent module -----------------------------------------------------------


def test_custom_layer_reverse_direction_starts_at_last_real_token(backend):
    fwd, bwd = custom_pair()
    bi = mg.nn.Bidirectional(fwd, merge_mode="concat", backward_layer=bwd)
    lengths = [5, 2, 4]
    rng = np.random.default_rng(3)
    x_np = rng.standard_normal((3, 5, 2))
    for i, n in enumerate(lengths):
        x_np[i, n:] = 50.0  # padding that would saturate tanh if it were read
    out, (h_f, h_b) = bi(mg.tensor(x_np), lengths=lengths)
    out, h_f, h_b = out.numpy(), h_f.numpy(), h_b.numpy()
    H = 3
    assert out.shape == (3, 5, 2 * H)
    for i, n in enumerate(lengths):
        seq = x_np[i, :n]
        f_out, f_h = numpy_elman(fwd, seq)
        r_out, r_h = numpy_elman(bwd, seq[::-1].copy())  # the row reversed, alone
        close(out[i, :n, :H], f_out, rtol=1e-12)
        close(out[i, :n, H:], r_out[::-1], rtol=1e-12)
        close(h_f[i], f_h, rtol=1e-12)
        close(h_b[i], r_h, rtol=1e-12)
        # the reverse direction's first step reads the last real token from a zero state
        first = np.tanh(x_np[i, n - 1] @ bwd.w_x.numpy() + bwd.b.numpy())
        close(out[i, n - 1, H:], first, rtol=1e-12)
        assert np.all(out[i, n:] == 0.0)


def test_custom_layer_with_minigrad_reference_and_gradients(backend):
    """Same check through minigrad itself, with gradients: each row alone vs the padded batch."""
    fwd, bwd = custom_pair()
    bi = mg.nn.Bidirectional(fwd, merge_mode="sum", backward_layer=bwd)
    lengths = [3, 5]
    rng = np.random.default_rng(4)
    x_np = rng.standard_normal((2, 5, 2))
    w = rng.standard_normal((2, 5, 3))
    x = mg.tensor(x_np, requires_grad=True)
    out, _ = bi(x, lengths=lengths)
    (out * mg.tensor(w)).sum().backward()
    batch_grads = {id(p): p.grad.numpy() for p in bi.parameters()}
    bi.zero_grad()
    for i, n in enumerate(lengths):
        xi = mg.tensor(x_np[i : i + 1, :n], requires_grad=True)
        f, _ = fwd(xi)
        rev = mg.tensor(np.arange(n)[::-1].copy())
        r, _ = bwd(xi[:, rev])  # the row reversed, alone
        expected = f + r[:, rev]
        close(out.numpy()[i, :n], expected.numpy()[0], rtol=1e-12)
        (expected * mg.tensor(w[i : i + 1, :n])).sum().backward()
        close(x.grad.numpy()[i, :n], xi.grad.numpy()[0], rtol=1e-10)
        assert np.all(x.grad.numpy()[i, n:] == 0.0)
    # parameter gradients accumulate over the rows: their sum must equal the batch's
    for p in bi.parameters():
        close(p.grad.numpy(), batch_grads[id(p)], rtol=1e-10)


def test_custom_layer_gradcheck(backend):
    fwd, bwd = custom_pair(I=2, H=2)
    bi = mg.nn.Bidirectional(fwd, merge_mode="concat", backward_layer=bwd)
    names = [n for n, _ in bi.named_parameters()]
    assert names == ["forward_layer.w_x", "forward_layer.w_h", "forward_layer.b",
                     "backward_layer.w_x", "backward_layer.w_h", "backward_layer.b"]
    first: dict = {}

    def fn(x, **params):
        if not first:
            first.update(params, x=x)
        saved = {}
        for name, t in params.items():
            owner, attr = name.split(".")
            saved[name] = getattr(getattr(bi, owner), attr)
            object.__setattr__(getattr(bi, owner), attr, t)
        try:
            out, (hf, hb) = bi(x, lengths=[3, 2])
        finally:
            for name, p in saved.items():
                owner, attr = name.split(".")
                object.__setattr__(getattr(bi, owner), attr, p)
        return mg.concat([out.reshape(-1), hf.reshape(-1), hb.reshape(-1)])

    x = mg.tensor(np.random.default_rng(5).standard_normal((2, 3, 2)))
    assert mg.gradcheck(fn, {"x": x, **dict(bi.named_parameters())})
    for name, t in first.items():
        assert t.grad is not None and np.abs(t.grad.numpy()).max() > 0, name
    assert all(p.grad is None for p in bi.parameters())


@pytest.mark.parametrize("use_lengths", [False, True], ids=["full", "lengths"])
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave"])
def test_merge_modes_compute_what_they_say(backend, merge_mode, use_lengths):
    fwd, bwd = custom_pair()
    bi = mg.nn.Bidirectional(fwd, merge_mode=merge_mode, backward_layer=bwd)
    assert merge_mode in repr(bi)
    lengths = [4, 2] if use_lengths else [4, 4]
    x_np = np.random.default_rng(6).standard_normal((2, 4, 2))
    out, _ = bi(mg.tensor(x_np), lengths=lengths if use_lengths else None)
    out = out.numpy()
    H = 3
    a = np.zeros((2, 4, H))
    b = np.zeros((2, 4, H))
    for i, n in enumerate(lengths):
        a[i, :n] = numpy_elman(fwd, x_np[i, :n])[0]
        b[i, :n] = numpy_elman(bwd, x_np[i, :n][::-1].copy())[0][::-1]
    expected = {
        "concat": np.concatenate([a, b], axis=-1),
        "sum": a + b,
        "mul": a * b,
        "ave": (a + b) / 2,
    }[merge_mode]
    assert out.shape == expected.shape
    close(out, expected, rtol=1e-12)


def test_hx_is_a_pair_of_states(backend):
    fwd, bwd = custom_pair()
    bi = mg.nn.Bidirectional(fwd, backward_layer=bwd)
    x = mg.tensor(np.random.default_rng(7).standard_normal((2, 3, 2)))
    h_f = mg.tensor(np.full((2, 3), 0.5))
    h_b = mg.tensor(np.full((2, 3), -0.5))
    out, _ = bi(x, (h_f, h_b))
    f, _ = fwd(x, h_f)
    r, _ = bwd(x[:, ::-1], h_b)
    close(out.numpy(), np.concatenate([f.numpy(), r.numpy()[:, ::-1]], axis=-1), rtol=1e-12)
    plain, _ = bi(x)
    assert not np.allclose(plain.numpy(), out.numpy())


# -- default backward layer ------------------------------------------------------------------


def test_default_backward_layer_is_a_fresh_copy(backend):
    layer = mg.nn.LSTM(2, 3, dtype="float64")
    bi = mg.nn.Bidirectional(layer)
    assert bi.forward_layer is layer and bi.backward_layer is not layer
    fwd_params = dict(layer.named_parameters())
    for name, p in bi.backward_layer.named_parameters():
        assert p is not fwd_params[name] and p.shape == fwd_params[name].shape
        assert p.backend is fwd_params[name].backend
        assert not np.array_equal(p.numpy(), fwd_params[name].numpy())  # freshly initialised
    out, _ = bi(mg.tensor(np.random.default_rng(8).standard_normal((2, 4, 2))), lengths=[4, 2])
    assert out.shape == (2, 4, 6)


def test_parameters_of_both_directions_are_registered(backend):
    fwd, bwd = custom_pair()
    bi = mg.nn.Bidirectional(fwd, backward_layer=bwd)
    params = list(bi.parameters())
    assert len(params) == 6
    assert {id(p) for p in params} == {id(p) for p in list(fwd.parameters()) + list(bwd.parameters())}


# -- errors ---------------------------------------------------------------------------------------


def test_bad_merge_mode(backend):
    fwd, bwd = custom_pair()
    with pytest.raises(ValueError, match="merge_mode"):
        mg.nn.Bidirectional(fwd, merge_mode="max", backward_layer=bwd)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_already_bidirectional_layer_is_rejected(backend, kind):
    layer = getattr(mg.nn, kind)(2, 3, bidirectional=True)
    with pytest.raises(ValueError, match="already bidirectional"):
        mg.nn.Bidirectional(layer, backward_layer=getattr(mg.nn, kind)(2, 3))


def test_bad_input_and_lengths(backend):
    fwd, bwd = custom_pair()
    bi = mg.nn.Bidirectional(fwd, backward_layer=bwd)
    with pytest.raises(ValueError, match="3-D"):
        bi(mg.zeros(4, 2, dtype="float64"))
    x = mg.zeros(2, 4, 2, dtype="float64")
    for lengths in ([4], [4, 0], [4, 5], [4.0, 2.0], "ab"):
        with pytest.raises((ValueError, TypeError), match="lengths"):
            bi(x, lengths=lengths)
    assert fwd.calls == 0 and bwd.calls == 0  # checked before running either direction
