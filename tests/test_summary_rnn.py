"""nn.summary on recurrent layers: the seed notes' count, and the per-layer/direction/gate breakdown."""

from __future__ import annotations

import pytest

import minigrad as mg


def test_seed_network_has_34_parameters_and_explains_31():
    model = mg.nn.Sequential(mg.nn.RNN(5, 3), mg.nn.Linear(3, 1))
    s = mg.nn.summary(model)
    # PyTorch layout, counted by hand: W_ih 3x5, W_hh 3x3, b_ih 3, b_hh 3, W_k 1x3, b_k 1
    assert s.total_params == 3 * 5 + 3 * 3 + 3 + 3 + 3 + 1 == 34
    text = str(s)
    assert "= 30" in text  # the RNN layer: 1 gate x (15 + 9 + 6)
    # one bias vector per gate, as the notes (and Keras) count: 15 + 9 + 3 = 27, plus the 4 of the output = 31
    assert "would have 27" in text
    assert 27 + 3 + 1 == 31


@pytest.mark.parametrize("cls,gates", [(mg.nn.RNN, 1), (mg.nn.LSTM, 4), (mg.nn.GRU, 3)])
@pytest.mark.parametrize("layers,bidirectional", [(1, False), (2, True)])
def test_breakdown_per_layer_and_direction(cls, gates, layers, bidirectional):
    I, H = 4, 6
    layer = cls(I, H, num_layers=layers, bidirectional=bidirectional)
    D = 2 if bidirectional else 1
    lines = layer.summary_breakdown()
    expected_total = 0
    for k in range(layers):
        inp = I if k == 0 else D * H
        per_direction = gates * (H * inp + H * H + 2 * H)
        for side in ["forward", "reverse"][:D]:
            line = next(line for line in lines if line.startswith(f"layer {k} {side}:"))
            assert line.endswith(f"= {per_direction}")
            expected_total += per_direction
    assert expected_total == sum(p.numel() for p in layer.parameters()) == mg.nn.summary(layer).total_params
