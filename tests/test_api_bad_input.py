"""Bad input to the Python API gets an error that names the problem, before any work is done."""

import math
import warnings

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn, optim
from minigrad.optim import lr_scheduler

RNN_HINT = r"an RNN returns \(output, h_n\)"


def _param_with_grad():
    p = mg.tensor([3.0, 4.0], requires_grad=True)
    (p * mg.tensor([3.0, 4.0])).sum().backward()
    return p


@pytest.mark.parametrize("max_norm", [-1.0, math.nan, "1", True])
def test_clip_grad_norm_refuses_bad_max_norm_and_keeps_the_gradient(max_norm):
    p = _param_with_grad()
    with pytest.raises(ValueError, match="clip_grad_norm_: max_norm must be >= 0"):
        nn.clip_grad_norm_([p], max_norm)
    assert p.grad.numpy().tolist() == [3.0, 4.0]


def test_clip_grad_norm_accepts_zero_and_a_0d_tensor():
    p = _param_with_grad()
    nn.clip_grad_norm_([p], mg.tensor(1.0))
    assert np.allclose(np.linalg.norm(p.grad.numpy()), 1.0, atol=1e-5)
    nn.clip_grad_norm_([p], 0)
    assert p.grad.numpy().tolist() == [0.0, 0.0]


@pytest.mark.parametrize("clip_value", [-1.0, math.nan, "1"])
def test_clip_grad_value_refuses_bad_clip_value(clip_value):
    with pytest.raises(ValueError, match="clip_grad_value_: clip_value must be >= 0"):
        nn.clip_grad_value_([_param_with_grad()], clip_value)


OPTIMIZER_ROWS = [
    (lambda ps: optim.SGD(ps, lr=-1), "SGD: invalid lr -1"),
    (lambda ps: optim.SGD(ps, lr=math.nan), "SGD: invalid lr nan"),
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=-0.9), "SGD: invalid momentum -0.9"),
    (lambda ps: optim.SGD(ps, lr=0.1, weight_decay=-1), "SGD: invalid weight_decay -1"),
    (lambda ps: optim.Adam(ps, betas=(0.9, 1.0)), "Adam: invalid betas (0.9, 1.0)"),
    (lambda ps: optim.Adam(ps, eps=-1e-8), "Adam: invalid eps -1e-08"),
    (lambda ps: optim.RMSprop(ps, alpha=math.nan), "RMSprop: invalid alpha nan"),
]


@pytest.mark.parametrize(("make", "message"), OPTIMIZER_ROWS, ids=[r[1] for r in OPTIMIZER_ROWS])
def test_optimizers_refuse_bad_hyperparameters(make, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make(nn.Linear(2, 2).parameters())


SCHEDULER_ROWS = [
    (lambda o: lr_scheduler.StepLR(o, 2, gamma=-0.5), "StepLR: invalid gamma -0.5"),
    (lambda o: lr_scheduler.StepLR(o, 2, gamma=math.nan), "StepLR: invalid gamma nan"),
    (lambda o: lr_scheduler.ExponentialLR(o, gamma=-1), "ExponentialLR: invalid gamma -1"),
    (lambda o: lr_scheduler.CosineAnnealingLR(o, 5, eta_min=-1), "CosineAnnealingLR: invalid eta_min -1"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=-0.5), "ReduceLROnPlateau: invalid factor -0.5"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, patience=-1), "ReduceLROnPlateau: patience must be an int >= 0"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, cooldown=1.5), "ReduceLROnPlateau: cooldown must be an int >= 0"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, threshold=math.nan), "ReduceLROnPlateau: invalid threshold nan"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, min_lr=-1), "ReduceLROnPlateau: invalid min_lr -1"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, eps=-1), "ReduceLROnPlateau: invalid eps -1"),
]


@pytest.mark.parametrize(("make", "message"), SCHEDULER_ROWS, ids=[r[1] for r in SCHEDULER_ROWS])
def test_schedulers_refuse_bad_hyperparameters(make, message):
    opt = optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)
    with pytest.raises(ValueError, match=message):
        make(opt)
    assert opt.param_groups[0]["lr"] == 0.1


def test_an_rnn_output_tuple_passed_on_names_the_module():
    x = mg.randn(2, 5, 3)
    with pytest.raises(TypeError, match=r"Linear: input must be a Tensor, got tuple \(an RNN returns"):
        nn.Sequential(nn.GRU(3, 4), nn.Linear(4, 2))(x)
    with pytest.raises(TypeError, match=r"cross_entropy: logits must be a Tensor, got tuple \(an RNN"):
        F.cross_entropy(nn.LSTM(3, 2)(x), [0, 1])
    with pytest.raises(TypeError, match="LSTM: input must be a Tensor, got tuple"):
        nn.LSTM(4, 2)(nn.GRU(3, 4)(x))


MODULES = [nn.Linear(4, 2), nn.ReLU(), nn.Tanh(), nn.Sigmoid(), nn.Dropout(0.5), nn.Softplus(), nn.LogSigmoid(),
           nn.LeakyReLU(), nn.ELU(), nn.GELU(), nn.Flatten(), nn.GRU(4, 2), nn.LSTMCell(4, 2),
           nn.Bidirectional(nn.GRU(4, 2)), nn.Embedding(5, 2)]


@pytest.mark.parametrize("module", MODULES, ids=[type(m).__name__ for m in MODULES])
def test_every_module_names_itself_for_a_tuple_input(module):
    out = nn.GRU(3, 4)(mg.randn(2, 5, 3))
    with pytest.raises(TypeError, match=f"{type(module).__name__}: .*{RNN_HINT}"):
        module(out)


FUNCTIONS = [
    (F.relu, ()), (F.tanh, ()), (F.sigmoid, ()), (F.softmax, ()), (F.log_softmax, ()), (F.logsumexp, ()),
    (F.softplus, ()), (F.log_sigmoid, ()), (F.leaky_relu, ()), (F.elu, ()), (F.gelu, ()), (F.dropout, ()),
    (F.pad, ((1, 1),)), (F.mse_loss, ([0.0],)), (F.l1_loss, ([0.0],)), (F.smooth_l1_loss, ([0.0],)),
    (F.huber_loss, ([0.0],)), (F.kl_div, ([0.0],)), (F.binary_cross_entropy, ([0.0],)),
    (F.binary_cross_entropy_with_logits, ([0.0],)), (F.nll_loss, ([0],)), (F.cross_entropy, ([0],)),
    (F.linear, (mg.randn(2, 4),)),
]


@pytest.mark.parametrize(("fn", "args"), FUNCTIONS, ids=[f.__name__ for f, _ in FUNCTIONS])
def test_every_functional_names_itself_for_a_tuple_input(fn, args):
    out = nn.GRU(3, 4)(mg.randn(2, 5, 3))
    with pytest.raises(TypeError, match=f"{fn.__name__}: .* must be a Tensor, got tuple .*{RNN_HINT}"):
        fn(out, *args)
    with pytest.raises(TypeError, match=f"{fn.__name__}: .* must be a Tensor, got list"):
        fn([1.0, 2.0], *args)


def test_a_loss_target_that_is_an_rnn_tuple_is_refused():
    out = nn.GRU(3, 4)(mg.randn(2, 5, 3))
    with pytest.raises(TypeError, match="mse_loss: target must be a Tensor or array, got a tuple of tensors"):
        F.mse_loss(mg.randn(2, 5, 4), out)


def test_ragged_data_names_the_rows():
    with pytest.raises(ValueError, match=r"tensor: ragged nested sequence: row 1 has 1 element, row 0 has 2 "
                                         r"elements \(pad them, e.g. minigrad.data.pad_sequences\)"):
        mg.tensor([[1.0, 2.0], [3.0]])
    with pytest.raises(ValueError, match=r"Embedding: ragged nested sequence: row 1 has 1 element, row 0 has 2"):
        nn.Embedding(5, 2)([[1, 2], [3]])
    with pytest.raises(ValueError, match=r"row \[0\]\[1\] has 1 element, row \[0\]\[0\] has 2"):
        mg.tensor([[[1.0, 2.0], [3.0]]])
    with pytest.raises(ValueError, match="row 1 is a number, row 0 has 2 elements"):
        mg.tensor([[1.0, 2.0], 3.0])
    # unevenness between cousins, not siblings, and arrays inside lists
    with pytest.raises(ValueError, match=r"row \[1\]\[0\] has 1 element, row \[0\]\[0\] has 2 elements"):
        mg.tensor([[[1.0, 2.0]], [[3.0]]])
    with pytest.raises(ValueError, match="row 1 has 3 elements, row 0 has 2 elements"):
        mg.tensor([np.ones(2), np.ones(3)])
    assert mg.tensor([np.ones(2), np.zeros(2)]).shape == (2, 2)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, bool])
@pytest.mark.parametrize("make", [lambda: nn.LSTM(5, 4), lambda: nn.GRU(5, 4), lambda: nn.RNN(5, 4),
                                  lambda: nn.Linear(5, 4), lambda: nn.Bidirectional(nn.LSTM(5, 4))],
                         ids=["LSTM", "GRU", "RNN", "Linear", "Bidirectional"])
def test_float_layers_refuse_integer_and_bool_input(make, dtype):
    layer = make()
    name = type(layer).__name__
    x = mg.tensor(np.ones((3, 7, 5), dtype))
    with pytest.raises(TypeError, match=f"{name}: input has dtype {np.dtype(dtype)}, expected floating point; "
                                        "token ids go through an nn.Embedding first"):
        layer(x)


@pytest.mark.parametrize("make", [nn.RNNCell, nn.LSTMCell, nn.GRUCell])
def test_cells_refuse_integer_input(make):
    with pytest.raises(TypeError, match=f"{make.__name__}: input has dtype int64"):
        make(5, 4)(mg.tensor(np.ones((3, 5), np.int64)))


def test_float64_input_still_promotes_a_float32_layer():
    assert nn.LSTM(5, 4)(mg.tensor(np.ones((3, 7, 5))))[0].dtype == np.float64
    assert F.linear(mg.ones(2, 5, dtype="float64"), nn.Linear(5, 4).weight).dtype == np.float64


SIZE_ROWS = [
    (lambda: nn.LSTM(5.0, 4), "LSTM: input_size must be an int >= 1, got 5.0"),
    (lambda: nn.GRU(5, "4"), "GRU: hidden_size must be an int >= 1, got '4'"),
    (lambda: nn.RNN(5, 4, num_layers=1.5), "RNN: num_layers must be an int >= 1, got 1.5"),
    (lambda: nn.LSTM(5, 0), "LSTM: input_size, hidden_size and num_layers must be >= 1, got hidden_size=0"),
    (lambda: nn.LSTM(5, 4, dropout="0.5"), "LSTM: dropout must be in [0, 1), got 0.5"),
    (lambda: nn.LSTMCell(5.0, 4), "LSTMCell: input_size must be an int >= 1, got 5.0"),
    (lambda: nn.GRUCell(5, None), "GRUCell: hidden_size must be an int >= 1, got None"),
    (lambda: nn.RNNCell(0, 4), "RNNCell: input_size and hidden_size must be >= 1, got input_size=0"),
    (lambda: nn.Linear(5.0, 4), "Linear: in_features must be a non-negative int, got 5.0"),
    (lambda: nn.Embedding(5, 2.0), "Embedding: embedding_dim must be a non-negative int, got 2.0"),
    (lambda: nn.Dropout(1.5), "Dropout: p must be a probability in [0, 1], got 1.5"),
]


@pytest.mark.parametrize(("make", "message"), SIZE_ROWS, ids=[r[1][:40] for r in SIZE_ROWS])
def test_layer_constructors_name_the_argument(make, message):
    with pytest.raises(ValueError) as info:
        make()
    assert message in str(info.value)


def test_numpy_integer_sizes_are_accepted():
    assert nn.LSTM(np.int64(5), np.int32(4)).hidden_size == 4
    assert type(nn.GRUCell(np.int64(5), 4).input_size) is int


@pytest.mark.parametrize("state", [None, [("weight", 1)], 3])
def test_load_state_dict_names_state_dict_and_its_type(state):
    lin = nn.Linear(3, 2)
    before = lin.weight.numpy().copy()
    with pytest.raises(TypeError, match=f"load_state_dict into Linear: state_dict must be a mapping .* got "
                                        f"{type(state).__name__}"):
        lin.load_state_dict(state)
    assert (lin.weight.numpy() == before).all()


def test_manual_seed_wraps_negatives_as_pytorch_and_refuses_non_ints():
    mg.manual_seed(-1)
    a = mg.randn(3).numpy()
    mg.manual_seed(2**64 - 1)
    assert (mg.randn(3).numpy() == a).all()
    for bad in (2.5, "3", None, True):
        with pytest.raises(TypeError, match="manual_seed: seed must be an int, got"):
            mg.manual_seed(bad)


@pytest.mark.parametrize("name", ["relu", "tanh", "sigmoid"])
def test_functional_activations_under_pytorch_names(name):
    values = [-2.0, -0.5, 0.0, 0.5, 3.0]
    x = mg.tensor(values, requires_grad=True)
    y = getattr(F, name)(x)
    y.sum().backward()
    expected = {"relu": np.maximum(values, 0), "tanh": np.tanh(values), "sigmoid": 1 / (1 + np.exp(-np.array(values)))}
    assert np.allclose(y.numpy(), expected[name], atol=1e-6)
    torch = pytest.importorskip("torch")
    t = torch.tensor(values, requires_grad=True)
    getattr(torch.nn.functional, name)(t).sum().backward()
    assert np.allclose(y.numpy(), getattr(torch.nn.functional, name)(t).detach().numpy(), atol=1e-6)
    assert np.allclose(x.grad.numpy(), t.grad.numpy(), atol=1e-6)
    assert name in F.__all__


def test_functional_tanh_and_sigmoid_make_integers_float():
    assert F.tanh(mg.tensor([1, 2])).dtype == np.float32
    assert F.sigmoid(mg.tensor([True])).dtype == np.float32


def test_bidirectional_refuses_a_layer_without_hidden_state():
    with pytest.raises(TypeError, match=r"Bidirectional: layer must be a recurrent layer called as layer\(x, hx\)"
                                        r".*got Linear, whose forward\(x\) takes no hidden state"):
        nn.Bidirectional(nn.Linear(3, 4))
    with pytest.raises(TypeError, match="Bidirectional: backward_layer must be a recurrent layer.*got ReLU"):
        nn.Bidirectional(nn.GRU(3, 4), backward_layer=nn.ReLU())
    with pytest.raises(TypeError, match="Bidirectional: layer must be .*got function, which is not a Module"):
        nn.Bidirectional(lambda x, h: (x, h))


@pytest.mark.parametrize("weight", [None, [1.0, 2.0, 3.0]])
def test_cross_entropy_all_ignored_is_nan_without_warning_and_zero_grad(weight):
    logits = mg.tensor(np.random.default_rng(0).standard_normal((2, 3)).astype("float32"), requires_grad=True)
    w = None if weight is None else mg.tensor(weight)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.cross_entropy(logits, [-100, -100], ignore_index=-100, weight=w)
        loss.backward()
    assert math.isnan(loss.item())
    assert (logits.grad.numpy() == 0).all()
    torch = pytest.importorskip("torch")
    t = torch.tensor(logits.numpy(), requires_grad=True)
    tw = None if weight is None else torch.tensor(weight)
    tl = torch.nn.functional.cross_entropy(t, torch.tensor([-100, -100]), weight=tw)
    tl.backward()
    assert math.isnan(tl.item())
    assert np.array_equal(t.grad.numpy(), logits.grad.numpy())


def test_cross_entropy_partly_ignored_still_matches_torch():
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(1).standard_normal((3, 4)).astype("float32")
    loss = F.cross_entropy(mg.tensor(data), [1, -100, 3], ignore_index=-100, weight=mg.tensor([1.0, 2, 3, 4]))
    expected = torch.nn.functional.cross_entropy(torch.tensor(data), torch.tensor([1, -100, 3]),
                                                 weight=torch.tensor([1.0, 2, 3, 4]))
    assert np.isclose(loss.item(), expected.item(), atol=1e-6)


def test_mean_of_nothing_is_nan_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(mg.zeros(0).mean().item())
        assert np.isnan(mg.zeros(3, 0).mean(axis=1).numpy()).all()
        logits = mg.zeros(0, 3, requires_grad=True)
        loss = F.cross_entropy(logits, mg.tensor([], dtype="int64"))
        loss.backward()
    assert math.isnan(loss.item())
    assert logits.grad.shape == (0, 3)


def test_an_initial_state_that_is_not_a_tensor_is_named_as_such():
    import numpy as np

    with pytest.raises(TypeError, match=r"GRU: initial h_0 must be a Tensor of shape \(1, 2, 4\), got ndarray"):
        nn.GRU(3, 4)(mg.randn(2, 5, 3), np.zeros((1, 2, 4), np.float32))
    with pytest.raises(ValueError, match=r"LSTM: initial c_0 should have shape \(1, 2, 4\), got \(1, 2, 3\)"):
        nn.LSTM(3, 4)(mg.randn(2, 5, 3), (mg.zeros(1, 2, 4), mg.zeros(1, 2, 3)))
