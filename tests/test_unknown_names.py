"""A name that is not one of a fixed set: the error names the function called, lists every valid name
and, where one is close, suggests it ("did you mean 'cupy'?")."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import backends
import minigrad as mg
import minigrad.nn.functional as F
from minigrad.nn import init
from minigrad.nn.cells import rnn_step
from minigrad.optim import lr_scheduler

DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64",
          "uint8", "uint16", "uint32", "uint64", "bool"]
RNN_NONLINEARITIES = ["tanh", "relu", "sigmoid"]
GAIN_NONLINEARITIES = ["linear", "identity", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                       "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]
REDUCTIONS = ["mean", "sum", "none"]
SGD_OPTIONS = ["params", "lr", "momentum", "dampening", "weight_decay", "nesterov"]
ADAM_OPTIONS = ["params", "lr", "betas", "eps", "weight_decay"]
RMSPROP_OPTIONS = ["params", "lr", "alpha", "eps", "weight_decay", "momentum", "centered"]


@dataclass
class Case:
    id: str
    call: Callable[[pytest.MonkeyPatch], Any]  # raises
    error: type[Exception]
    prefix: str  # the first words: the function or class the user called
    names: list[str]  # every valid name, each must appear in the message
    suggestion: str | None = None  # the "did you mean" of a close typo

    def __repr__(self) -> str:
        return self.id


def param():
    return mg.nn.Parameter(np.ones((3, 2)), dtype="float64")


def use_backend(name):
    with mg.use_backend(name):
        pass


def env_backend(monkeypatch, name):
    monkeypatch.setenv("MINIGRAD_BACKEND", name)
    mg.zeros(2)


def set_nonlinearity_after_construction(_):
    rnn = mg.nn.RNN(2, 3)
    rnn.nonlinearity = "gelu"
    rnn(mg.zeros(1, 2, 2))


def trained(opt_cls, **kwargs):
    w = param()
    opt = opt_cls([w], **kwargs)
    (w * w).sum().backward()
    opt.step()
    return w, opt.state_dict()


def load_sgd_state_into_adam(_):
    w, sd = trained(mg.optim.SGD, lr=0.1, momentum=0.9)
    mg.optim.Adam([w]).load_state_dict(sd)


def load_renamed_buffer(_):
    w, sd = trained(mg.optim.RMSprop)
    sd["state"][0]["square_average"] = sd["state"][0].pop("square_avg")
    mg.optim.RMSprop([w]).load_state_dict(sd)


def load_misspelled_top_level(_):
    w, sd = trained(mg.optim.SGD, lr=0.1)
    mg.optim.SGD([w], lr=0.1).load_state_dict({"state": sd["state"], "param_group": sd["param_groups"]})


def load_other_scheduler(_):
    opt = mg.optim.SGD([param()], lr=0.1)
    lr_scheduler.StepLR(opt, step_size=2).load_state_dict(lr_scheduler.CosineAnnealingLR(opt, 5).state_dict())


def inspected():
    mg.manual_seed(0)
    lstm = mg.nn.LSTM(2, 3)
    with mg.nn.BPTTInspector(lstm) as inspector:
        out, _ = lstm(mg.randn(1, 3, 2))
        out.sum().backward()
    return inspector


CASES = [
    # -- backends -----------------------------------------------------------------------------------------------
    Case("backends.get", lambda mp: backends.get("cupyy"), ValueError, "unknown backend 'cupyy'",
         ["numpy", "cupy"], "cupy"),
    Case("set_backend", lambda mp: mg.set_backend("CuPy"), ValueError, "set_backend: unknown backend 'CuPy'",
         ["numpy", "cupy"], "cupy"),
    Case("use_backend", lambda mp: use_backend("nmpy"), ValueError, "use_backend: unknown backend 'nmpy'",
         ["numpy", "cupy"], "numpy"),
    Case("$MINIGRAD_BACKEND", lambda mp: env_backend(mp, "numpi"), ValueError,
         "$MINIGRAD_BACKEND: unknown backend 'numpi'", ["numpy", "cupy"], "numpy"),
    Case("Tensor.to(backend=)", lambda mp: mg.tensor([1.0]).to(backend="cupyy"), ValueError,
         "Tensor.to: unknown backend 'cupyy'", ["numpy", "cupy"], "cupy"),
    # -- Tensor.to(x): x is a backend or a dtype ---------------------------------------------------------------
    Case("Tensor.to(backend typo)", lambda mp: mg.tensor([1.0]).to("cupyy"), TypeError,
         "Tensor.to: 'cupyy' is neither a backend nor a dtype", ["numpy", "cupy", *DTYPES], "cupy"),
    Case("Tensor.to(dtype typo)", lambda mp: mg.tensor([1.0]).to("flot64"), TypeError,
         "Tensor.to: 'flot64' is neither a backend nor a dtype", ["numpy", "cupy", *DTYPES], "float64"),
    Case("Tensor.to(non-name)", lambda mp: mg.tensor([1.0]).to(3), TypeError,
         "Tensor.to: 3 is neither a backend nor a dtype", ["numpy", "cupy", *DTYPES]),
    Case("Tensor.to(dtype=)", lambda mp: mg.tensor([1.0]).to(dtype="cupy"), TypeError,
         "Tensor.to: 'cupy' is not a float, int or bool dtype", DTYPES),
    # -- dtypes -------------------------------------------------------------------------------------------------
    Case("Backend.dtype", lambda mp: backends.get("numpy").dtype("flaot32"), TypeError,
         "dtype: 'flaot32' is not a float, int or bool dtype", DTYPES, "float32"),
    Case("Backend.dtype(complex)", lambda mp: backends.get("numpy").dtype("complex64"), TypeError,
         "dtype: 'complex64' is not a float, int or bool dtype", DTYPES),
    Case("zeros(dtype=)", lambda mp: mg.zeros(2, dtype="flot16"), TypeError,
         "dtype: 'flot16' is not a float, int or bool dtype", DTYPES, "float16"),
    # -- nonlinearities ---------------------------------------------------------------------------------------
    Case("RNN", lambda mp: mg.nn.RNN(2, 3, nonlinearity="tahn"), ValueError, "RNN: nonlinearity must be one of",
         RNN_NONLINEARITIES, "tanh"),
    Case("RNN(bidirectional)", lambda mp: mg.nn.RNN(2, 3, nonlinearity="ReLU", bidirectional=True), ValueError,
         "RNN: nonlinearity must be one of", RNN_NONLINEARITIES, "relu"),
    Case("RNNCell", lambda mp: mg.nn.RNNCell(2, 3, nonlinearity="sigmod"), ValueError,
         "RNNCell: nonlinearity must be one of", RNN_NONLINEARITIES, "sigmoid"),
    Case("rnn_step", lambda mp: rnn_step(mg.zeros(1, 2), mg.zeros(1, 2), mg.zeros(2, 2), None, "tanhh"),
         ValueError, "rnn_step: nonlinearity must be one of", RNN_NONLINEARITIES, "tanh"),
    Case("RNN.nonlinearity set later", set_nonlinearity_after_construction, ValueError,
         "RNN: nonlinearity must be one of", RNN_NONLINEARITIES, "relu"),
    Case("calculate_gain", lambda mp: init.calculate_gain("Relu"), ValueError,
         "calculate_gain: unsupported nonlinearity 'Relu'", GAIN_NONLINEARITIES, "relu"),
    Case("kaiming_uniform_(nonlinearity=)", lambda mp: init.kaiming_uniform_(param(), nonlinearity="lekay_relu"),
         ValueError, "kaiming_uniform_: unsupported nonlinearity", GAIN_NONLINEARITIES, "leaky_relu"),
    Case("kaiming_normal_(nonlinearity=)", lambda mp: init.kaiming_normal_(param(), nonlinearity="swish"),
         ValueError, "kaiming_normal_: unsupported nonlinearity 'swish'", GAIN_NONLINEARITIES),
    Case("kaiming_uniform_(mode=)", lambda mp: init.kaiming_uniform_(param(), mode="fan_inn"), ValueError,
         "kaiming_uniform_: mode must be", ["fan_in", "fan_out"], "fan_in"),
    Case("kaiming_normal_(mode=)", lambda mp: init.kaiming_normal_(param(), mode="fanout"), ValueError,
         "kaiming_normal_: mode must be", ["fan_in", "fan_out"], "fan_out"),
    # -- reductions, merge modes ------------------------------------------------------------------------------
    Case("MSELoss", lambda mp: mg.nn.MSELoss(reduction="summ"), ValueError, "MSELoss: reduction must be one of",
         REDUCTIONS, "sum"),
    Case("CrossEntropyLoss", lambda mp: mg.nn.CrossEntropyLoss(reduction="avg"), ValueError,
         "CrossEntropyLoss: reduction must be one of", REDUCTIONS),
    Case("BCEWithLogitsLoss", lambda mp: mg.nn.BCEWithLogitsLoss(reduction="Mean"), ValueError,
         "BCEWithLogitsLoss: reduction must be one of", REDUCTIONS, "mean"),
    Case("F.mse_loss", lambda mp: F.mse_loss(mg.zeros(2), mg.zeros(2), reduction="avg"), ValueError,
         "mse_loss: reduction must be one of", REDUCTIONS),
    Case("Bidirectional", lambda mp: mg.nn.Bidirectional(mg.nn.GRU(2, 3), merge_mode="concatenate"), ValueError,
         "Bidirectional: merge_mode must be one of", ["concat", "sum", "mul", "ave"], "concat"),
    # -- optimizers and schedules -------------------------------------------------------------------------------
    Case("SGD param group", lambda mp: mg.optim.SGD([{"params": [param()], "momentun": 0.9}], lr=0.1), ValueError,
         "SGD: param group has unknown option(s) 'momentun'", SGD_OPTIONS, "momentum"),
    Case("Adam param group", lambda mp: mg.optim.Adam([{"params": [param()], "beta": (0.9, 0.99)}]), ValueError,
         "Adam: param group has unknown option(s) 'beta'", ADAM_OPTIONS, "betas"),
    Case("RMSprop.add_param_group", lambda mp: mg.optim.RMSprop([param()]).add_param_group(
        {"params": [param()], "alpah": 0.9}), ValueError, "RMSprop: param group has unknown option(s) 'alpah'",
        RMSPROP_OPTIONS, "alpha"),
    Case("Optimizer.load_state_dict(group)", load_sgd_state_into_adam, ValueError,
         "Adam.load_state_dict: param group 0 of the state dict has unknown option(s)", ADAM_OPTIONS),
    Case("Optimizer.load_state_dict(state)", load_renamed_buffer, ValueError,
         "RMSprop.load_state_dict: the state of parameter 0 has unknown entr(ies) 'square_average'",
         ["step", "square_avg", "grad_avg", "momentum_buffer"], "square_avg"),
    Case("Optimizer.load_state_dict(keys)", load_misspelled_top_level, ValueError,
         "SGD.load_state_dict: expected a dict with keys", ["state", "param_groups"], "param_groups"),
    Case("ReduceLROnPlateau(mode=)", lambda mp: lr_scheduler.ReduceLROnPlateau(
        mg.optim.SGD([param()], lr=0.1), mode="mni"), ValueError, "ReduceLROnPlateau: mode must be",
        ["min", "max"], "min"),
    Case("ReduceLROnPlateau(threshold_mode=)", lambda mp: lr_scheduler.ReduceLROnPlateau(
        mg.optim.SGD([param()], lr=0.1), threshold_mode="abso"), ValueError,
        "ReduceLROnPlateau: threshold_mode must be", ["rel", "abs"], "abs"),
    Case("LRScheduler.load_state_dict", load_other_scheduler, ValueError, "StepLR.load_state_dict: missing keys",
         ["step_size", "gamma", "base_lrs", "last_epoch", "_last_lr"]),
    # -- clipping norm types ------------------------------------------------------------------------------------
    Case("clip_grad_norm_(norm_type=)", lambda mp: mg.nn.clip_grad_norm_([param()], 1.0, norm_type="max"),
         ValueError, "clip_grad_norm_: norm_type must be > 0 or inf", ["inf"]),
    Case("get_total_norm(norm_type=)", lambda mp: mg.nn.clip.get_total_norm([], norm_type="fro"),
         ValueError, "get_total_norm: norm_type must be > 0 or inf", ["inf"]),
    # -- the BPTT inspector -------------------------------------------------------------------------------------
    Case("Trace.gate", lambda mp: inspected().trace().gate("forget"), KeyError,
         "Trace.gate: #0 (LSTM) layer 0 forward has no gate 'forget'", ["i", "f", "g", "o", "c", "h"]),
    Case("BPTTInspector.trace", lambda mp: inspected().trace(layer=1), KeyError,
         "BPTTInspector.trace: 0 traces match layer=1, direction=0", ["#0 (LSTM) layer 0 forward"]),
]


def mentions(msg: str, name: str) -> bool:
    """``name`` appears in ``msg`` as a whole word, not inside a longer one."""
    return re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", msg) is not None


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_unknown_name_lists_the_valid_ones(case, monkeypatch):
    with pytest.raises(case.error) as info:
        case.call(monkeypatch)
    msg = str(info.value.args[0])  # KeyError's str() would add quotes
    assert msg.startswith(case.prefix), msg
    missing = [n for n in case.names if not mentions(msg, n)]
    assert not missing, f"{missing} not in: {msg}"
    if case.suggestion is not None:
        assert f"did you mean {case.suggestion!r}?" in msg, msg
    else:
        assert "did you mean" not in msg, msg


def test_numpy_spellings_of_dtypes_are_still_accepted():
    assert mg.tensor([1.0], dtype="float").dtype == np.float64
    assert mg.tensor([1.0], dtype=np.float16).dtype == np.float16
    assert mg.tensor([1.0], dtype="f4").dtype == np.float32
    assert mg.tensor([1.0]).to(bool).dtype == np.bool_
    assert mg.tensor([1.0]).to("int32").dtype == np.int32
    assert backends.get("numpy").dtype("uint8") == np.uint8


def test_every_registered_backend_is_listed(monkeypatch):
    """A backend registered later (e.g. through an entry point) is listed and suggested too."""
    monkeypatch.setattr(backends, "_factories", dict(backends._factories))
    backends.register("numpy_mirror", lambda: backends.Backend("numpy_mirror", np))
    with pytest.raises(TypeError) as info:
        mg.tensor([1.0]).to("numpy_miror")
    msg = str(info.value)
    assert all(mentions(msg, n) for n in ["numpy", "cupy", "numpy_mirror"])
    assert "did you mean 'numpy_mirror'?" in msg
