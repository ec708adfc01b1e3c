"""Optimizers and learning-rate schedules, with PyTorch's API and update rules.

    >>> import minigrad as mg
    >>> w = mg.nn.Parameter([1.0, -2.0])
    >>> opt = mg.optim.SGD([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> [round(v, 6) for v in w.tolist()]
    [0.8, -1.6]

Gradient clipping lives in `minigrad.nn.utils`, as in PyTorch.
"""

from minigrad.optim import lr_scheduler
from minigrad.optim.adam import Adam, AdamW
from minigrad.optim.optimizer import Optimizer
from minigrad.optim.rmsprop import RMSprop
from minigrad.optim.sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
