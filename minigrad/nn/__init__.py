"""Neural-network building blocks. ``minigrad.nn.functional`` holds the functional forms."""

from minigrad.nn import functional
from minigrad.nn.module import Module, Parameter, Sequential
from minigrad.nn.cells import GRUCell, LSTMCell, RNNCell
from minigrad.nn.rnn import GRU, LSTM, RNN
from minigrad.nn.bidirectional import Bidirectional
from minigrad.nn.inspector import BPTTInspector

__all__ = [
    "BPTTInspector",
    "Bidirectional",
    "GRU",
    "GRUCell",
    "LSTM",
    "LSTMCell",
    "Module",
    "Parameter",
    "RNN",
    "RNNCell",
    "Sequential",
    "functional",
]
