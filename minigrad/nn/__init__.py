"""Neural-network building blocks. ``minigrad.nn.functional`` holds the functional forms."""

from minigrad.nn import functional

__all__ = ["functional"]
