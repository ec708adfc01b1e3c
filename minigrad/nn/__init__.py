"""Neural-network building blocks. ``minigrad.nn.functional`` holds the functional forms."""

from minigrad.nn import functional, init, masking, utils
from minigrad.nn.bidirectional import Bidirectional
from minigrad.nn.cells import GRUCell, LSTMCell, RNNCell
from minigrad.nn.clip import clip_grad_norm_, clip_grad_value_
from minigrad.nn.inspector import BPTTInspector
from minigrad.nn.layers import (
    ELU,
    GELU,
    Dropout,
    Embedding,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSigmoid,
    ReLU,
    Sigmoid,
    Softplus,
    Tanh,
)
from minigrad.nn.losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    SmoothL1Loss,
)
from minigrad.nn.module import Module, Parameter, Sequential
from minigrad.nn.rnn import GRU, LSTM, RNN, recurrent_impl
from minigrad.nn.summary import summary

__all__ = [
    "BCEWithLogitsLoss",
    "BPTTInspector",
    "Bidirectional",
    "CrossEntropyLoss",
    "Dropout",
    "Embedding",
    "Flatten",
    "GRU",
    "GRUCell",
    "Identity",
    "LSTM",
    "LSTMCell",
    "Linear",
    "MSELoss",
    "Module",
    "Parameter",
    "RNN",
    "RNNCell",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "clip_grad_norm_",
    "clip_grad_value_",
    "functional",
    "init",
    "masking",
    "recurrent_impl",
    "summary",
    "utils",
    # activations and losses under PyTorch's names
    "BCELoss",
    "ELU",
    "GELU",
    "HuberLoss",
    "KLDivLoss",
    "L1Loss",
    "LeakyReLU",
    "LogSigmoid",
    "SmoothL1Loss",
    "Softplus",
]
