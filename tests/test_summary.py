"""``nn.summary``: one row per parameter tensor, totals computed by hand from the shapes."""

from __future__ import annotations

import re

import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn.summary import Summary, SummaryRow

# Prefer the real layers; fall back to stand-ins with PyTorch's parameter shapes
# while minigrad.nn.Linear / Embedding do not exist yet.
if hasattr(nn, "Linear") and hasattr(nn, "Embedding"):
    Linear, Embedding = nn.Linear, nn.Embedding
else:

    class Linear(nn.Module):  # type: ignore[no-redef]
        def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
            super().__init__()
            self.weight = nn.Parameter(mg.zeros(out_features, in_features))
            self.bias = nn.Parameter(mg.zeros(out_features)) if bias else None

    class Embedding(nn.Module):  # type: ignore[no-redef]
        def __init__(self, num_embeddings: int, embedding_dim: int) -> None:
            super().__init__()
            self.weight = nn.Parameter(mg.zeros(num_embeddings, embedding_dim))


def row_pattern(module: str, mtype: str, name: str, shape: str, numel: int, trainable: str) -> re.Pattern:
    """A table line with these cells in order, separated by column padding."""
    cells = [module, mtype, name, shape, f"{numel:,}", trainable]
    return re.compile(r"^" + r"\s+".join(re.escape(c) for c in cells) + r"$", re.MULTILINE)


def test_rows_and_totals_by_hand():
    model = nn.Sequential(Embedding(10, 4), Linear(4, 3), Linear(3, 1))
    s = nn.summary(model)
    text = str(s)

    expected = [  # (module, type, name, shape, numel) computed from the shapes by hand
        ("0", "Embedding", "weight", "[10, 4]", 10 * 4),
        ("1", "Linear", "weight", "[3, 4]", 3 * 4),
        ("1", "Linear", "bias", "[3]", 3),
        ("2", "Linear", "weight", "[1, 3]", 1 * 3),
        ("2", "Linear", "bias", "[1]", 1),
    ]
    total = 10 * 4 + (3 * 4 + 3) + (1 * 3 + 1)
    assert total == 59
    for module, mtype, name, shape, numel in expected:
        assert row_pattern(module, mtype, name, shape, numel, "yes").search(text), (module, name, text)
    assert f"Total params: {total:,}" in text
    assert f"Trainable params: {total:,}" in text
    assert "Non-trainable params: 0" in text

    assert isinstance(s, Summary)
    assert s.total_params == total and s.trainable_params == total and s.non_trainable_params == 0
    assert all(isinstance(r, SummaryRow) for r in s.rows)
    assert [(r.module, r.module_type, r.name, r.numel, r.trainable) for r in s.rows] == [
        (m, t, n, k, True) for m, t, n, _, k in expected
    ]
    assert [r.full_name for r in s.rows] == [name for name, _ in model.named_parameters()]
    assert s.rows[0].shape == (10, 4)
    assert repr(s) == text


def test_frozen_parameters_are_non_trainable():
    model = nn.Sequential(Embedding(10, 4), Linear(4, 3), Linear(3, 1))
    model[0].requires_grad_(False)  # freeze the embedding (a Module method)
    model[2].bias.requires_grad_(False)  # and one tensor
    s = nn.summary(model)
    text = str(s)
    frozen = 10 * 4 + 1
    total = 10 * 4 + (3 * 4 + 3) + (1 * 3 + 1)
    assert row_pattern("0", "Embedding", "weight", "[10, 4]", 40, "no").search(text), text
    assert row_pattern("2", "Linear", "bias", "[1]", 1, "no").search(text), text
    assert row_pattern("2", "Linear", "weight", "[1, 3]", 3, "yes").search(text), text
    assert f"Total params: {total:,}" in text
    assert f"Trainable params: {total - frozen:,}" in text
    assert f"Non-trainable params: {frozen:,}" in text
    assert (s.total_params, s.trainable_params, s.non_trainable_params) == (total, total - frozen, frozen)


class TiedDecoder(nn.Module):
    """An embedding whose weight the output layer reuses (weight tying)."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = Embedding(10, 4)
        self.out = Linear(4, 10)
        self.out.weight = self.embed.weight  # (10, 4): the same tensor


def test_shared_parameter_counted_once():
    s = nn.summary(TiedDecoder())
    text = str(s)
    total = 10 * 4 + 10  # embedding weight once, plus the output bias
    assert s.total_params == total
    assert [r.full_name for r in s.rows] == ["embed.weight", "out.bias"]
    assert s.shared == [("out.weight", "embed.weight")]
    assert "out.weight: shared with embed.weight (counted once)" in text
    assert f"Total params: {total:,}" in text


class Gated(nn.Module):
    """A dummy layer with a gate breakdown, like the recurrent layers give."""

    def __init__(self, input_size: int, hidden_size: int, gates: int) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.gates = input_size, hidden_size, gates
        self.weight_ih_l0 = nn.Parameter(mg.zeros(gates * hidden_size, input_size))
        self.weight_hh_l0 = nn.Parameter(mg.zeros(gates * hidden_size, hidden_size))

    def summary_breakdown(self) -> list[str]:
        g, h, i = self.gates, self.hidden_size, self.input_size
        return [f"layer 0: {g} gates x H(I + H) = {g} x {h}({i} + {h}) = {g * h * (i + h)}"]


def test_breakdown_hook_lines_follow_the_module_rows():
    model = nn.Sequential(Gated(3, 5, gates=4), Linear(5, 2))
    s = nn.summary(model)
    lines = str(s).splitlines()
    hook_line = "layer 0: 4 gates x H(I + H) = 4 x 5(3 + 5) = 160"
    assert s.breakdowns == {"0": [hook_line]}
    at = next(i for i, line in enumerate(lines) if hook_line in line)
    assert lines[at].startswith("    ")  # indented under the rows
    assert "weight_hh_l0" in lines[at - 1]  # right after the module's last row
    assert "Linear" in lines[at + 1]  # before the next module's rows
    assert s.total_params == 4 * 5 * 3 + 4 * 5 * 5 + (2 * 5 + 2) == 4 * 5 * (3 + 5) + 12


def test_breakdown_hook_must_return_strings():
    class Bad(Gated):
        def summary_breakdown(self):
            return "one string, not a list"

    with pytest.raises(TypeError, match="Bad.summary_breakdown.*list of str"):
        nn.summary(Bad(2, 2, 1))


def test_root_parameters_and_empty_model():
    class Affine(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = nn.Parameter(mg.ones(()))

    s = nn.summary(Affine())
    assert s.rows[0].module == "" and s.rows[0].full_name == "scale" and s.rows[0].shape == ()
    assert row_pattern("(root)", "Affine", "scale", "[]", 1, "yes").search(str(s))

    empty = nn.summary(nn.Sequential())
    assert empty.rows == [] and empty.total_params == 0
    assert "Total params: 0" in str(empty)


def test_summary_rejects_non_modules():
    with pytest.raises(TypeError, match="expected a Module, got list"):
        nn.summary([1, 2])
