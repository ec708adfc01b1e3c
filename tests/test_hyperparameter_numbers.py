"""Hyper-parameters given as 0-d tensors, 0-d arrays or NumPy numbers are taken as the numbers they hold
(PyTorch accepts them), and gradients accumulate atomically across threads."""

import threading

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


def _grad_params():
    p = mg.tensor([3.0, 4.0], requires_grad=True)
    (p * mg.tensor([3.0, 4.0])).sum().backward()
    return p


@pytest.mark.parametrize("max_norm", [np.array(1.0), mg.tensor(1.0), np.float32(1.0), 1])
def test_clip_grad_norm_takes_a_zero_d_max_norm(max_norm):
    p = _grad_params()
    total = nn.clip_grad_norm_([p], max_norm)
    assert total == pytest.approx(5.0)
    np.testing.assert_allclose(p.grad.numpy(), [0.6, 0.8], rtol=1e-5)


@pytest.mark.parametrize("bad", [np.array(-1.0), mg.tensor(float("nan")), np.array([1.0, 2.0])])
def test_clip_grad_norm_still_refuses_what_is_not_a_number_at_least_0(bad):
    with pytest.raises(ValueError, match="max_norm must be >= 0"):
        nn.clip_grad_norm_([_grad_params()], bad)


def test_schedulers_take_zero_d_and_numpy_numbers_and_store_python_ones():
    opt = mg.optim.SGD([mg.tensor([1.0], requires_grad=True)], lr=mg.tensor(0.5))
    assert opt.param_groups[0]["lr"] == 0.5 and isinstance(opt.param_groups[0]["lr"], float)
    sched = mg.optim.lr_scheduler.StepLR(opt, step_size=np.int64(2), gamma=mg.tensor(0.5))
    assert sched.step_size == 2 and type(sched.step_size) is int and sched.gamma == 0.5
    sched = mg.optim.lr_scheduler.ExponentialLR(opt, gamma=np.array(0.9))
    sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.45)
    with pytest.raises(ValueError, match="step_size must be a positive integer, got 2.5"):
        mg.optim.lr_scheduler.StepLR(opt, step_size=2.5)
    with pytest.raises(ValueError, match="invalid gamma -0.5"):
        mg.optim.lr_scheduler.ExponentialLR(opt, gamma=mg.tensor(-0.5))


def test_backward_in_several_threads_sums_every_gradient():
    mg.manual_seed(0)
    net = nn.GRU(3, 8, bidirectional=True)
    x = mg.randn(4, 6, 3)

    def work():
        for _ in range(15):
            out, _ = net(x)
            (out * out).sum().backward()

    out, _ = net(x)
    (out * out).sum().backward()
    once = [p.grad.numpy().copy() for p in net.parameters()]
    net.zero_grad()
    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p, g in zip(net.parameters(), once):
        np.testing.assert_allclose(p.grad.numpy(), 45 * g, rtol=1e-4, atol=1e-6)
