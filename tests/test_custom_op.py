"""Ops of one's own: a `Function` subclass run with `mg.apply`, recorded and differentiated like the built-in ones."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg


class Cube(mg.Function):
    """y = x^3, dy/dx = 3 x^2."""

    def forward(self, x):
        self.x = x
        return x**3

    def backward(self, gy):
        return (3 * self.x**2 * gy,)


class ScaledAdd(mg.Function):
    """y = a + alpha * b, with a keyword option; no gradient computed for an input that needs none."""

    def forward(self, a, b, alpha=1.0):
        self.alpha = alpha
        return a + alpha * b

    def backward(self, gy):
        gb = self.alpha * gy if self.needs_input_grad[1] else None
        return gy, gb


def test_a_custom_op_passes_gradcheck(backend):
    x = mg.randn(4, 3, requires_grad=True)
    assert mg.gradcheck(lambda x: mg.apply(Cube, x), [x])
    a, b = mg.randn(3, requires_grad=True), mg.randn(3, requires_grad=True)
    assert mg.gradcheck(lambda a, b: mg.apply(ScaledAdd, a, b, alpha=-2.5), [a, b])


def test_the_recorded_node_and_its_parents():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = mg.apply(Cube, x)
    assert isinstance(y.grad_fn, Cube) and y.grad_fn.parents == (x,)
    assert y.grad_fn.name == "cube" and x.grad_fn is None
    z = (y * 2).sum()
    assert z.grad_fn.parents[0].grad_fn.parents[0] is y  # sum <- mul <- cube
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * 3 * np.array([1.0, 4.0]))


def test_inputs_that_need_no_gradient_get_none():
    a, b = mg.tensor([1.0, 2.0], requires_grad=True), mg.tensor([3.0, 4.0])
    mg.apply(ScaledAdd, a, b, alpha=3.0).sum().backward()
    assert a.grad.tolist() == [1.0, 1.0] and b.grad is None


def test_no_graph_under_no_grad():
    x = mg.tensor([1.0], requires_grad=True)
    with mg.no_grad():
        y = mg.apply(Cube, x)
    assert y.grad_fn is None and not y.requires_grad and y.tolist() == [1.0]


@pytest.mark.parametrize(("fn", "args", "message"), [
    (len, (mg.tensor([1.0]),), "apply: expected a subclass of minigrad.Function, got <built-in function len>"),
    (Cube(mg.get_backend(), (), ()), (mg.tensor([1.0]),), "apply: expected a subclass of minigrad.Function"),
    (Cube, (), "apply: Cube needs at least one input tensor"),
    (Cube, ([1.0],), "apply: input 0 of Cube is a list, expected a Tensor (wrap it with minigrad.tensor(...))"),
    (ScaledAdd, (mg.tensor([1.0]), 2.0), "apply: input 1 of ScaledAdd is a float, expected a Tensor"),
])
def test_bad_calls_are_one_line_type_errors(fn, args, message):
    with pytest.raises(TypeError) as info:
        mg.apply(fn, *args)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_shape_errors_in_forward_name_the_op():
    with pytest.raises(ValueError, match=r"scaledadd: input shapes \(2,\), \(3,\)"):
        mg.apply(ScaledAdd, mg.tensor([1.0, 2.0]), mg.tensor([1.0, 2.0, 3.0]))
