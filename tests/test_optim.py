"""Optimizers and learning-rate schedules against ``torch.optim``, plus state dicts and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import requires_torch

import minigrad as mg
from minigrad.optim import lr_scheduler

try:
    import torch
except ImportError:  # the torch comparisons are skipped by requires_torch
    torch = None

SHAPES = [(4, 5), (5,), (5, 2)]  # w1, b1, w2 of a tiny tanh network


def initial_arrays() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.standard_normal(s) * 0.5 for s in SHAPES]


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    return rng.standard_normal((8, 4)), rng.standard_normal((8, 2))


def mg_params(arrays=None, dtype="float64") -> list[mg.nn.Parameter]:
    arrays = initial_arrays() if arrays is None else arrays
    return [mg.nn.Parameter(a.copy(), dtype=dtype) for a in arrays]


def mg_loss(params, x, y):
    w1, b1, w2 = params
    return ((((x @ w1) + b1).tanh() @ w2 - y) ** 2).mean()


def run_mg(params, opt, steps: int) -> None:
    xa, ya = data()
    dtype = params[0].dtype
    x, y = mg.tensor(xa, dtype=dtype), mg.tensor(ya, dtype=dtype)
    for _ in range(steps):
        opt.zero_grad()
        mg_loss(params, x, y).backward()
        opt.step()


def run_torch(opt_name: str, spec, kwargs: dict, steps: int) -> list[np.ndarray]:
    params = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in initial_arrays()]
    opt = getattr(torch.optim, opt_name)(spec(params), **kwargs)
    xa, ya = data()
    x, y = torch.tensor(xa), torch.tensor(ya)
    for _ in range(steps):
        opt.zero_grad()
        w1, b1, w2 = params
        (((x @ w1 + b1).tanh() @ w2 - y) ** 2).mean().backward()
        opt.step()
    return [p.detach().numpy() for p in params]


def all_params(ps):
    return ps


def two_groups(ps):
    return [{"params": ps[:2]}, {"params": ps[2:], "lr": 0.03}]


# (optimizer, how params are grouped, keyword arguments)
CASES = [
    ("SGD", all_params, {"lr": 0.1}),
    ("SGD", all_params, {"lr": 0.1, "momentum": 0.9}),
    ("SGD", all_params, {"lr": 0.1, "momentum": 0.9, "dampening": 0.3}),
    ("SGD", all_params, {"lr": 0.1, "weight_decay": 0.05}),
    ("SGD", all_params, {"lr": 0.1, "momentum": 0.8, "weight_decay": 0.05, "dampening": 0.1}),
    ("SGD", all_params, {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("SGD", all_params, {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.05}),
    ("Adam", all_params, {}),
    ("Adam", all_params, {"lr": 0.05}),
    ("Adam", all_params, {"lr": 0.05, "weight_decay": 0.1}),
    ("Adam", all_params, {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6}),
    ("AdamW", all_params, {"lr": 0.05}),
    ("AdamW", all_params, {"lr": 0.05, "weight_decay": 0.3, "betas": (0.5, 0.9)}),
    ("RMSprop", all_params, {}),
    ("RMSprop", all_params, {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", all_params, {"lr": 0.01, "centered": True}),
    ("RMSprop", all_params, {"lr": 0.01, "centered": True, "momentum": 0.5}),
    ("RMSprop", all_params, {"lr": 0.01, "weight_decay": 0.1, "alpha": 0.9}),
    # param groups with their own learning rate (and other overrides)
    ("SGD", two_groups, {"lr": 0.1, "momentum": 0.9}),
    ("SGD", lambda ps: [{"params": ps[:1], "momentum": 0.5}, {"params": ps[1:], "lr": 0.01}], {"lr": 0.1}),
    ("Adam", two_groups, {"lr": 0.05}),
    ("Adam", lambda ps: [{"params": ps[:2], "betas": (0.7, 0.9)}, {"params": ps[2:]}], {"lr": 0.05}),
    ("AdamW", two_groups, {"lr": 0.05}),
    ("RMSprop", two_groups, {"lr": 0.01, "centered": True, "momentum": 0.9}),
]


def case_id(case) -> str:
    name, spec, kwargs = case
    groups = "" if spec is all_params else "groups-"
    return f"{name}-{groups}" + ("-".join(f"{k}={v}" for k, v in kwargs.items()) or "defaults")


@requires_torch
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_matches_torch_after_10_steps(backend, case):
    name, spec, kwargs = case
    params = mg_params()
    opt = getattr(mg.optim, name)(spec(params), **kwargs)
    run_mg(params, opt, 10)
    expected = run_torch(name, spec, kwargs, 10)
    for p, e, a0 in zip(params, expected, initial_arrays()):
        assert p.backend.name == backend
        assert not np.allclose(e, a0)  # the run really moved the parameters
        np.testing.assert_allclose(p.numpy(), e, rtol=1e-7, atol=1e-10)


@requires_torch
def test_add_param_group_mid_training_matches_torch():
    params = mg_params()
    opt = mg.optim.Adam(params[:2], lr=0.05)
    run_mg(params, opt, 3)
    opt.add_param_group({"params": params[2:], "lr": 0.01, "betas": (0.5, 0.9)})
    run_mg(params, opt, 4)

    tparams = [torch.tensor(a, requires_grad=True) for a in initial_arrays()]
    topt = torch.optim.Adam(tparams[:2], lr=0.05)
    xa, ya = data()
    x, y = torch.tensor(xa), torch.tensor(ya)
    for i in range(7):
        if i == 3:
            topt.add_param_group({"params": tparams[2:], "lr": 0.01, "betas": (0.5, 0.9)})
        topt.zero_grad()
        w1, b1, w2 = tparams
        (((x @ w1 + b1).tanh() @ w2 - y) ** 2).mean().backward()
        topt.step()
    for p, t in zip(params, tparams):
        np.testing.assert_allclose(p.numpy(), t.detach().numpy(), rtol=1e-7, atol=1e-10)


@requires_torch
def test_adam_state_names_and_values_match_torch():
    params = mg_params()
    opt = mg.optim.Adam(params, lr=0.05)
    run_mg(params, opt, 4)
    tparams = [torch.tensor(a, requires_grad=True) for a in initial_arrays()]
    topt = torch.optim.Adam(tparams, lr=0.05)
    xa, ya = data()
    x, y = torch.tensor(xa), torch.tensor(ya)
    for _ in range(4):
        topt.zero_grad()
        w1, b1, w2 = tparams
        (((x @ w1 + b1).tanh() @ w2 - y) ** 2).mean().backward()
        topt.step()
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sd["param_groups"][0]["params"] == tsd["param_groups"][0]["params"] == [0, 1, 2]
    for i in range(3):
        assert set(sd["state"][i]) == set(tsd["state"][i])
        assert sd["state"][i]["step"] == int(tsd["state"][i]["step"]) == 4
        for k in ("exp_avg", "exp_avg_sq"):
            np.testing.assert_allclose(sd["state"][i][k], tsd["state"][i][k].numpy(), rtol=1e-7, atol=1e-12)


# -- behaviour that needs no reference -----------------------------------------


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop"])
def test_step_keeps_identity_dtype_and_records_no_graph(backend, name):
    params = mg_params(dtype="float32")
    before = [id(p) for p in params]
    opt = getattr(mg.optim, name)(params, lr=0.01, **({"momentum": 0.9} if name in ("SGD", "RMSprop") else {}))
    run_mg(params, opt, 3)
    assert [id(p) for p in params] == before
    for p, a0 in zip(params, initial_arrays()):
        assert p.dtype == np.float32 and p.is_leaf and p.requires_grad and p.backend.name == backend
        assert not np.allclose(p.numpy(), a0)
        for v in opt.state[p].values():
            assert not hasattr(v, "dtype") or v.dtype == np.float32


def test_sgd_by_hand():
    w = mg.nn.Parameter([1.0, -2.0], dtype="float64")
    opt = mg.optim.SGD([w], lr=0.1, momentum=0.5)
    for _ in range(2):
        opt.zero_grad()
        (w * w).sum().backward()  # gradient 2w
        opt.step()
    # step 1: b = 2w0 = [2, -4], w1 = w0 - 0.1 b = [0.8, -1.6]
    # step 2: b = 0.5 [2, -4] + [1.6, -3.2] = [2.6, -5.2], w2 = [0.54, -1.08]
    np.testing.assert_allclose(w.numpy(), [0.54, -1.08], rtol=1e-12)


def test_params_without_grad_are_skipped_and_zero_grad():
    a, b = mg_params()[:2]
    opt = mg.optim.Adam([a, b], lr=0.1)
    (a * a).sum().backward()
    b0 = b.numpy()
    opt.step()
    np.testing.assert_array_equal(b.numpy(), b0)
    assert b not in opt.state and opt.state[a]["step"] == 1
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(a.grad.numpy(), np.zeros(a.shape))
    assert b.grad is None
    opt.zero_grad()
    assert a.grad is None


def test_step_with_closure_returns_loss():
    params = mg_params()
    xa, ya = data()
    x, y = mg.tensor(xa, dtype="float64"), mg.tensor(ya, dtype="float64")
    opt = mg.optim.SGD(params, lr=0.1)

    def closure():
        opt.zero_grad()
        loss = mg_loss(params, x, y)
        loss.backward()
        return loss

    with mg.no_grad():  # the closure still records its graph
        first = opt.step(closure)
    second = opt.step(closure)
    assert second.item() < first.item()


def test_training_reduces_loss_with_schedule_and_clipping():
    params = mg_params()
    xa, ya = data()
    x, y = mg.tensor(xa, dtype="float64"), mg.tensor(ya, dtype="float64")
    opt = mg.optim.Adam(params, lr=0.05)
    sched = lr_scheduler.StepLR(opt, step_size=20, gamma=0.5)
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss = mg_loss(params, x, y)
        loss.backward()
        mg.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05 * 0.5**3)


# -- state dicts --------------------------------------------------------------------

ROUND_TRIP = [
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.01}),
    ("AdamW", {"lr": 0.05, "betas": (0.8, 0.95)}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "centered": True}),
]


def assert_plain(obj, where="state_dict"):
    """Only dicts, lists, Python numbers and host NumPy arrays."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            assert isinstance(k, (int, str)), f"{where}: key {k!r}"
            assert_plain(v, f"{where}[{k!r}]")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            assert_plain(v, f"{where}[{i}]")
    else:
        assert type(obj) in (int, float, bool, np.ndarray), f"{where} is a {type(obj).__name__}"


@pytest.mark.parametrize("name,kwargs", ROUND_TRIP, ids=[n for n, _ in ROUND_TRIP])
def test_state_dict_round_trip_continues_exactly(backend, name, kwargs):
    cls = getattr(mg.optim, name)
    uninterrupted = mg_params()
    run_mg(uninterrupted, cls(two_groups(uninterrupted), **kwargs), 10)

    params = mg_params()
    opt = cls(two_groups(params), **kwargs)
    run_mg(params, opt, 5)
    sd = opt.state_dict()
    assert_plain(sd)
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert sd["param_groups"][1]["lr"] == 0.03
    saved = {i: {k: np.copy(v) for k, v in s.items()} for i, s in sd["state"].items()}

    resumed = mg_params([p.numpy() for p in params])
    fresh = cls(two_groups(resumed), **{**kwargs, "lr": 123.0})  # the state dict restores lr too
    fresh.load_state_dict(sd)
    assert fresh.param_groups[0]["lr"] == kwargs["lr"]
    assert [len(g["params"]) for g in fresh.param_groups] == [2, 1]
    run_mg(resumed, fresh, 5)
    run_mg(params, opt, 1)  # neither optimizer writes into the saved dict
    for p, e in zip(resumed, uninterrupted):
        np.testing.assert_array_equal(p.numpy(), e.numpy())
    for i, s in saved.items():
        for k, v in s.items():
            np.testing.assert_array_equal(sd["state"][i][k], v)


def test_load_state_dict_keeps_tuple_betas_and_moves_arrays(backend):
    params = mg_params()
    opt = mg.optim.Adam(params, betas=(0.8, 0.9))
    run_mg(params, opt, 2)
    sd = opt.state_dict()
    assert sd["param_groups"][0]["betas"] == [0.8, 0.9]
    fresh = mg.optim.Adam(params)
    fresh.load_state_dict(sd)
    assert fresh.param_groups[0]["betas"] == (0.8, 0.9)
    m = fresh.state[params[0]]["exp_avg"]
    assert params[0].backend.is_array(m) and m.dtype == params[0].dtype
    sd["state"][0]["step"] = np.array(2)  # as read back from an .npz file
    fresh.load_state_dict(sd)
    assert fresh.state[params[0]]["step"] == 2 and type(fresh.state[params[0]]["step"]) is int


def test_load_state_dict_mismatches_are_clear():
    params = mg_params()
    opt = mg.optim.SGD(two_groups(params), lr=0.1, momentum=0.9)
    run_mg(params, opt, 1)
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="2 parameter group.*has 1"):
        mg.optim.SGD(params, lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match=r"parameters per group differ.*\[2, 1\].*\[1, 2\]"):
        mg.optim.SGD([{"params": params[:1]}, {"params": params[1:]}], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="keys 'state' and 'param_groups'"):
        opt.load_state_dict({"state": {}})
    other = mg_params([np.zeros((5, 4)), np.zeros(5), np.zeros((5, 2))])
    with pytest.raises(ValueError, match=r"momentum_buffer.*shape \(4, 5\).*shape \(5, 4\)"):
        mg.optim.SGD(two_groups(other), lr=0.1).load_state_dict(sd)


# -- errors ---------------------------------------------------------------------------


def test_constructor_errors():
    w = mg.nn.Parameter([1.0, 2.0])
    with pytest.raises(ValueError, match="empty parameter list"):
        mg.optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="got a Tensor; wrap it in a list"):
        mg.optim.SGD(w, lr=0.1)
    with pytest.raises(ValueError, match="invalid lr -0.1"):
        mg.optim.SGD([w], lr=-0.1)
    with pytest.raises(ValueError, match="invalid lr -1"):
        mg.optim.Adam([{"params": [w], "lr": -1}])
    with pytest.raises(ValueError, match="invalid momentum"):
        mg.optim.SGD([w], lr=0.1, momentum=-0.5)
    with pytest.raises(ValueError, match="nesterov momentum needs momentum > 0"):
        mg.optim.SGD([w], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="nesterov momentum needs .* dampening == 0"):
        mg.optim.SGD([w], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Adam: invalid betas"):
        mg.optim.Adam([w], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="AdamW: invalid betas"):
        mg.optim.AdamW([w], betas=(0.9,))
    with pytest.raises(ValueError, match="invalid eps"):
        mg.optim.Adam([w], eps=-1e-8)
    with pytest.raises(ValueError, match="invalid weight_decay"):
        mg.optim.AdamW([w], weight_decay=-0.1)
    with pytest.raises(ValueError, match="RMSprop: invalid alpha"):
        mg.optim.RMSprop([w], alpha=-0.9)
    with pytest.raises(ValueError, match="more than one parameter group"):
        mg.optim.SGD([{"params": [w]}, {"params": [w]}], lr=0.1)
    with pytest.raises(ValueError, match="same parameter more than once"):
        mg.optim.SGD([w, w], lr=0.1)
    with pytest.raises(TypeError, match="not named_parameters"):
        mg.optim.SGD([("w", w)], lr=0.1)
    with pytest.raises(TypeError, match="param 0 is a list"):
        mg.optim.SGD([[1.0, 2.0]], lr=0.1)
    with pytest.raises(ValueError, match="not a leaf"):
        mg.optim.SGD([w * 2], lr=0.1)
    opt = mg.optim.SGD([w], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": w})
    with pytest.raises(TypeError, match="'params' entry"):
        opt.add_param_group({"lr": 0.1})


def test_repr_lists_groups():
    opt = mg.optim.SGD(two_groups(mg_params()), lr=0.1)
    text = repr(opt)
    assert text.startswith("SGD (") and "Parameter Group 1" in text and "lr: 0.03" in text


# -- learning-rate schedules ----------------------------------------------------------


def make_pair(lrs=(0.1, 0.05)):
    """A minigrad and a torch optimizer with one param group per learning rate."""
    mopt = mg.optim.SGD([{"params": [mg.nn.Parameter([1.0])], "lr": lr} for lr in lrs])
    topt = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": lr} for lr in lrs])
    return mopt, topt


SCHEDULES = [
    ("StepLR", {"step_size": 3, "gamma": 0.5}),
    ("StepLR", {"step_size": 1}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 10, "eta_min": 0.001}),
    ("CosineAnnealingLR", {"T_max": 7}),
    ("CosineAnnealingLR", {"T_max": 1, "eta_min": 0.01}),
]


@requires_torch
@pytest.mark.parametrize("name,kwargs", SCHEDULES, ids=[f"{n}-{k}" for n, k in SCHEDULES])
def test_schedule_matches_torch_for_30_epochs(name, kwargs):
    mopt, topt = make_pair()
    ms = getattr(lr_scheduler, name)(mopt, **kwargs)
    ts = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    assert ms.get_last_lr() == ts.get_last_lr()
    for epoch in range(30):
        topt.step()
        mopt.step()
        ms.step()
        ts.step()
        for got, want, group in zip(ms.get_last_lr(), ts.get_last_lr(), mopt.param_groups):
            assert isinstance(got, float) and got == group["lr"]
            assert abs(got - want) <= 1e-12, (epoch, got, want)


METRICS = [10, 9, 9, 9, 9, 8.9995, 9.5, 9.5, 9.5, 7, 7, 7, 7, 7, 6, 6.5, 6.2, 6.1, 6.0, 6.0,
           5.0, 5.5, 5.5, 5.5, 5.5, 5.5, 5.5, 4.0, 4.0, 4.0]

PLATEAUS = [
    {"patience": 2, "factor": 0.5},
    {"patience": 1, "factor": 0.5, "cooldown": 2},
    {"patience": 0, "factor": 0.3, "min_lr": [0.01, 0.02]},
    {"patience": 1, "factor": 0.5, "threshold": 0.6, "threshold_mode": "abs"},
    {"mode": "max", "patience": 1, "factor": 0.5},
    {"mode": "max", "patience": 1, "factor": 0.5, "threshold": 0.2, "threshold_mode": "abs", "cooldown": 1},
    {"patience": 0, "factor": 0.9, "eps": 0.006},
]


@requires_torch
@pytest.mark.parametrize("kwargs", PLATEAUS, ids=[str(k) for k in PLATEAUS])
def test_reduce_on_plateau_matches_torch(kwargs):
    mopt, topt = make_pair()
    ms = lr_scheduler.ReduceLROnPlateau(mopt, **kwargs)
    ts = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kwargs)
    sign = -1 if kwargs.get("mode") == "max" else 1
    changes = 0
    for epoch, metric in enumerate(METRICS):
        topt.step()
        ms.step(mg.tensor(sign * metric, dtype="float64") if epoch % 2 else sign * metric)
        ts.step(sign * metric)
        assert ms.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=0, abs=1e-12), epoch
        assert ms.num_bad_epochs == ts.num_bad_epochs and ms.best == ts.best
        changes += ms.get_last_lr()[0] != 0.1
    assert changes > 0  # the metric sequence does trigger reductions


@pytest.mark.parametrize("make", [
    lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=6, eta_min=0.01),
    lambda opt: lr_scheduler.StepLR(opt, step_size=4, gamma=0.3),
    lambda opt: lr_scheduler.ReduceLROnPlateau(opt, patience=1, factor=0.5, cooldown=1),
], ids=["cosine", "step", "plateau"])
def test_scheduler_state_dict_round_trip(make):
    def advance(opt, sched, epochs):
        for epoch in epochs:
            if isinstance(sched, lr_scheduler.ReduceLROnPlateau):
                sched.step(METRICS[epoch])
            else:
                sched.step()
        return opt.param_groups[0]["lr"]

    opt = mg.optim.SGD([mg.nn.Parameter([1.0])], lr=0.1)
    sched = make(opt)
    expected = advance(opt, sched, range(30))

    opt = mg.optim.SGD([mg.nn.Parameter([1.0])], lr=0.1)
    sched = make(opt)
    advance(opt, sched, range(12))
    opt_sd, sched_sd = opt.state_dict(), sched.state_dict()
    assert_plain({k: v for k, v in sched_sd.items() if not isinstance(v, str)})
    opt2 = mg.optim.SGD([mg.nn.Parameter([1.0])], lr=0.1)
    sched2 = make(opt2)
    opt2.load_state_dict(opt_sd)
    sched2.load_state_dict(sched_sd)
    assert sched2.last_epoch == 12 and sched2.get_last_lr() == sched.get_last_lr()
    assert advance(opt2, sched2, range(12, 30)) == expected


def test_scheduler_errors():
    opt = mg.optim.SGD([mg.nn.Parameter([1.0])], lr=0.1)
    with pytest.raises(TypeError, match="expected an Optimizer"):
        lr_scheduler.StepLR("sgd", step_size=2)
    with pytest.raises(ValueError, match="step_size must be a positive integer"):
        lr_scheduler.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="T_max must be a positive integer"):
        lr_scheduler.CosineAnnealingLR(opt, T_max=0)
    with pytest.raises(ValueError, match="factor must be < 1"):
        lr_scheduler.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        lr_scheduler.ReduceLROnPlateau(opt, mode="lowest")
    with pytest.raises(ValueError, match="threshold_mode"):
        lr_scheduler.ReduceLROnPlateau(opt, threshold_mode="relative")
    with pytest.raises(ValueError, match="2 min_lr values for 1 param groups"):
        lr_scheduler.ReduceLROnPlateau(opt, min_lr=[0.1, 0.2])
    with pytest.raises(ValueError, match="missing keys.*unexpected keys"):
        lr_scheduler.StepLR(opt, step_size=2).load_state_dict(lr_scheduler.CosineAnnealingLR(opt, 5).state_dict())
    sched = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    opt.add_param_group({"params": [mg.nn.Parameter([2.0])]})
    with pytest.raises(RuntimeError, match="create the scheduler after add_param_group"):
        sched.step()


def test_cosine_closed_form_within_first_period():
    opt = mg.optim.SGD([mg.nn.Parameter([1.0])], lr=0.2)
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=8, eta_min=0.02)
    for t in range(1, 17):
        sched.step()
        closed = 0.02 + 0.5 * (0.2 - 0.02) * (1 + math.cos(math.pi * t / 8))
        assert sched.get_last_lr()[0] == pytest.approx(closed, abs=1e-12)


def test_zero_grad_without_set_to_none_zeroes_the_gradient_in_place():
    """As in PyTorch: a reference to ``p.grad`` taken before ``zero_grad(set_to_none=False)`` sees zeros."""
    p = mg.nn.Parameter(mg.zeros(3))
    opt = mg.optim.SGD([p], lr=0.1)
    (p * mg.tensor([1.0, 2.0, 3.0])).sum().backward()
    held = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is held and held.numpy().tolist() == [0.0, 0.0, 0.0]
    opt.zero_grad()
    assert p.grad is None
