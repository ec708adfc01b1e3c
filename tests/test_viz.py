"""draw_graph: the DOT text of recorded graphs, grouped by module, layer, direction and step.

The structure is read back from the DOT text with a small parser (clusters and
the nodes inside them, edges with their labels), so most tests need only the
``graphviz`` Python package; writing an image needs Graphviz's ``dot`` and is
skipped without it.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter

import pytest

import minigrad as mg
from minigrad.graph_scope import current_scope

graphviz = pytest.importorskip("graphviz", reason="the graphviz package (the viz extra) is not installed")
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")


class Dot:
    """Clusters, nodes and edges of a DOT text written by draw_graph."""

    def __init__(self, source: str) -> None:
        self.clusters: dict[str, list[str]] = {}  # cluster name -> nodes directly inside
        self.cluster_of: dict[str, str] = {}  # node -> innermost cluster ("" at top level)
        self.labels: dict[str, str] = {}
        self.edges: list[tuple[str, str, str]] = []  # (tail, head, label)
        stack = [""]
        for line in source.splitlines():
            line = line.strip()
            if m := re.match(r"subgraph (\w+) \{", line):
                stack.append(m[1])
                self.clusters[m[1]] = []
            elif line == "}":
                stack.pop()
            elif m := re.match(r'(\w+) -> (\w+)(?: \[(.*)\])?$', line):
                label = re.search(r'label="([^"]*)"', m[3] or "")
                self.edges.append((m[1], m[2], label[1] if label else ""))
            elif m := re.match(r'(\w+) \[label="([^"]*)"', line):
                self.labels[m[1]] = m[2]
                self.cluster_of[m[1]] = stack[-1]
                if stack[-1]:
                    self.clusters[stack[-1]].append(m[1])

    def ops(self) -> list[str]:
        return [n for n in self.labels if n.startswith("op")]

    def steps(self, prefix: str) -> dict[int, list[str]]:
        """``{t: op nodes}`` of the step clusters ``prefix_t<t>`` (e.g. prefix ``cluster_m0_l0_d1``)."""
        found = {}
        for name, nodes in self.clusters.items():
            if m := re.fullmatch(re.escape(prefix) + r"_t(\d+)", name):
                found[int(m[1])] = [n for n in nodes if n.startswith("op")]
        return found

    def step_edges(self, prefix: str) -> set[tuple[int, int]]:
        """``(t of tail, t of head)`` of every edge between two different step clusters under ``prefix``."""
        pattern = re.compile(re.escape(prefix) + r"_t(\d+)$")
        pairs = set()
        for a, b, _ in self.edges:
            ma, mb = pattern.match(self.cluster_of.get(a, "")), pattern.match(self.cluster_of.get(b, ""))
            if ma and mb and ma[1] != mb[1]:
                pairs.add((int(ma[1]), int(mb[1])))
        return pairs


def recorded(model, x, impl="composed", **kwargs):
    with mg.viz.record_scopes(), mg.nn.recurrent_impl(impl):
        return model(x, **kwargs)


def test_rnn_one_cluster_per_step_with_the_step_ops():
    mg.manual_seed(0)
    rnn = mg.nn.RNN(3, 4)
    out, h_n = recorded(rnn, mg.randn(2, 5, 3))
    loss = out.sum()
    dot = Dot(mg.viz.draw_graph(loss, model=rnn).source)
    # every recorded op is drawn once, and nothing else is an op
    assert len(dot.ops()) == mg.graph_stats(loss).nodes
    steps = dot.steps("cluster_m0_l0_d0")
    assert sorted(steps) == [0, 1, 2, 3, 4]
    for t, nodes in steps.items():  # x_t W_ih^T sliced out, h W_hh^T, their sum, tanh
        names = Counter(dot.labels[n].split("\\n")[0] for n in nodes)
        assert names == Counter({"getitem": 1, "matmul": 1, "add": 1, "tanh": 1}), (t, names)
    # the state flows from each step to the next one only
    assert dot.step_edges("cluster_m0_l0_d0") == {(t, t + 1) for t in range(4)}
    # parameters are named and sit in the cluster of their layer and direction
    names = {label.split("\\n")[0]: node for node, label in dot.labels.items()}
    assert dot.cluster_of[names["weight_hh_l0"]] == "cluster_m0_l0_d0"
    assert dot.labels[names["weight_ih_l0"]] == "weight_ih_l0\\n(4, 3)"
    assert dot.clusters["cluster_m0"] == []  # the module holds only its layer
    assert 'label="rnn (RNN)"' not in mg.viz.draw_graph(loss).source  # named only with model=


def test_two_layer_bidirectional_lstm_clusters_and_directions():
    mg.manual_seed(1)
    T = 4
    lstm = mg.nn.LSTM(3, 2, num_layers=2, bidirectional=True)
    out, (h_n, c_n) = recorded(lstm, mg.randn(2, T, 3), lengths=[4, 2])
    loss = out.sum() + c_n.sum()
    dot = Dot(mg.viz.draw_graph(loss, model=lstm).source)
    assert len(dot.ops()) == mg.graph_stats(loss).nodes
    for layer in (0, 1):
        for d in (0, 1):
            prefix = f"cluster_m0_l{layer}_d{d}"
            steps = dot.steps(prefix)
            assert sorted(steps) == list(range(T))
            # identical steps: the same op counts at every t
            counts = {t: Counter(dot.labels[n].split("\\n")[0] for n in nodes) for t, nodes in steps.items()}
            assert all(c == counts[0] for c in counts.values())
            assert counts[0]["sigmoid"] == 3 and counts[0]["tanh"] == 2  # i, f, o; g and tanh(c)
            # forward: state from t to t+1; reverse: from t+1 down to t
            expected = {(t, t + 1) for t in range(T - 1)} if d == 0 else {(t + 1, t) for t in range(T - 1)}
            assert dot.step_edges(prefix) == expected
    labels = set(dot.labels.values())
    assert {"weight_hh_l1_reverse\\n(8, 2)", "weight_ih_l1\\n(8, 4)"} <= labels
    # layer 1 reads both directions of layer 0 through a concat outside the layers' clusters
    concat = [n for n in dot.clusters["cluster_m0"] if dot.labels[n].startswith("concat")]
    assert len(concat) == 2  # layer 0's output, read by layer 1, and layer 1's, read by the loss
    assert any(a in concat and dot.cluster_of[b].startswith("cluster_m0_l1_d") for a, b, _ in dot.edges)


def test_gru_collapsed_into_one_box_per_direction():
    mg.manual_seed(2)
    T = 6
    gru = mg.nn.GRU(3, 2, bidirectional=True)
    out, h_n = recorded(gru, mg.randn(2, T, 3))
    loss = out.sum()
    full = Dot(mg.viz.draw_graph(loss, model=gru).source)
    dot = Dot(mg.viz.draw_graph(loss, model=gru, collapse=True).source)
    for d in (0, 1):
        prefix = f"cluster_m0_l0_d{d}"
        assert dot.steps(prefix) == {}  # no step clusters left
        boxes = [n for n in dot.clusters[prefix] if n.startswith("box")]
        assert len(boxes) == 1
        box = boxes[0]
        per_step = len(full.steps(prefix)[0])
        span = "t = 0 … 5" if d == 0 else "t = 5 … 0"
        assert dot.labels[box].startswith(f"step ×{T}  ({span})\\n{per_step} ops per step:")
        # the state loop: T-1 transitions; the input projection feeds every step
        loops = [label for a, b, label in dot.edges if a == b == box]
        assert len(loops) == 1 and f"×{T - 1}" in loops[0]
        into = [label for a, b, label in dot.edges if b == box and dot.labels[a].startswith("linear")]
        assert into == [f"×{T}"]
    # a 50-step LSTM stays small when collapsed
    lstm = mg.nn.LSTM(2, 3)
    out, _ = recorded(lstm, mg.randn(1, 50, 2))
    dot = Dot(mg.viz.draw_graph(out.sum(), collapse=True).source)
    assert mg.graph_stats(out.sum()).nodes > 50 * 10
    assert len(dot.labels) < 20
    assert any(label.startswith("step ×50  (t = 0 … 49)") for label in dot.labels.values())


def test_fused_layers_are_one_node_per_layer():
    """A unidirectional layer's kernel sits in its direction's cluster; a bidirectional layer's two
    directions are one node (they may run at once), in the layer's cluster."""
    mg.manual_seed(3)
    lstm = mg.nn.LSTM(3, 2, num_layers=2, bidirectional=True)
    out, _ = recorded(lstm, mg.randn(2, 7, 3), impl="fused")
    dot = Dot(mg.viz.draw_graph(out.sum(), model=lstm).source)
    fused = [n for n, label in dot.labels.items() if label.startswith("LSTMSequence ×2 directions (fused kernel)")]
    assert len(fused) == 2
    assert {dot.cluster_of[n] for n in fused} == {f"cluster_m0_l{la}" for la in (0, 1)}
    assert all("all 7 steps in this one node" in dot.labels[n] for n in fused)
    gru = mg.nn.GRU(3, 2, num_layers=2)
    out, _ = recorded(gru, mg.randn(2, 5, 3), impl="fused")
    dot = Dot(mg.viz.draw_graph(out.sum(), model=gru).source)
    fused = [n for n, label in dot.labels.items() if label.startswith("GRUSequence (fused kernel)")]
    assert {dot.cluster_of[n] for n in fused} == {f"cluster_m0_l{la}_d0" for la in (0, 1)}


def test_flat_without_record_scopes_and_scopes_do_not_leak():
    mg.manual_seed(4)
    rnn = mg.nn.RNN(2, 2, impl="composed")
    out, _ = rnn(mg.randn(1, 3, 2))
    dot = Dot(mg.viz.draw_graph(out.sum()).source)
    assert dot.clusters == {} and len(dot.ops()) == mg.graph_stats(out.sum()).nodes
    assert current_scope() is None
    with mg.viz.record_scopes():
        assert current_scope() == ()
        with mg.viz.record_scopes(), mg.viz.graph_scope("decoder", t=2):  # nested: keeps the outer scope
            assert current_scope() == (("name", "decoder"), ("t", 2))
    assert current_scope() is None
    assert not hasattr(out._ctx, "scope")


def test_user_loop_with_graph_scope():
    mg.manual_seed(5)
    cell = mg.nn.GRUCell(2, 3)
    x = mg.randn(2, 4, 2)
    h = mg.zeros(2, 3)
    with mg.viz.record_scopes(), mg.viz.graph_scope("decoder"):
        for t in range(4):
            with mg.viz.graph_scope(t=t):
                h = cell(x[:, t], h)
    dot = Dot(mg.viz.draw_graph(h.sum(), model=cell, collapse=True).source)
    assert "cluster_n0" in dot.clusters
    boxes = [n for n in dot.clusters["cluster_n0"] if n.startswith("box")]
    assert len(boxes) == 1 and dot.labels[boxes[0]].startswith("step ×4")


def test_bad_input_is_named():
    mg.manual_seed(6)
    rnn = mg.nn.RNN(2, 2)
    with pytest.raises(TypeError, match="expected a Tensor, got list"):
        mg.viz.draw_graph([1, 2])
    with pytest.raises(ValueError, match="has no graph behind it"):
        mg.viz.draw_graph(mg.randn(2, 2))
    with mg.no_grad():
        out, _ = rnn(mg.randn(1, 3, 2))
    with pytest.raises(ValueError, match="has no graph behind it"):
        mg.viz.draw_graph(out)
    out, _ = rnn(mg.randn(1, 3, 2))
    loss = out.sum()
    with pytest.raises(ValueError, match=r"cannot tell the format of 'g\.jpeg'.*\.png, \.svg, \.pdf, \.dot, \.gv"):
        mg.viz.draw_graph(loss, "g.jpeg")
    with pytest.raises(ValueError, match="rankdir must be one of"):
        mg.viz.draw_graph(loss, rankdir="left")
    with pytest.raises(TypeError, match="collapse must be True or False"):
        mg.viz.draw_graph(loss, collapse="yes")
    with pytest.raises(TypeError, match="model must be a minigrad.nn.Module"):
        mg.viz.draw_graph(loss, model={"w": 1})
    with pytest.raises(TypeError, match=r"params must be a dict \{name: Tensor\}"):
        mg.viz.draw_graph(loss, params={"w": 1})
    loss.backward()
    with pytest.raises(ValueError, match="freed by backward"):
        mg.viz.draw_graph(loss)
    with pytest.raises(TypeError, match="t must be an int"):
        mg.viz.graph_scope(t=1.5)
    with pytest.raises(ValueError, match="direction must be 0 or 1, got 2"):
        mg.viz.graph_scope(direction=2)
    with pytest.raises(TypeError, match="name must be a string"):
        mg.viz.graph_scope(3)


def test_missing_dot_is_named_before_any_work(tmp_path, monkeypatch):
    x = mg.randn(2, requires_grad=True)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="needs Graphviz's dot program.*apt-get install graphviz"):
        mg.viz.draw_graph((x * 2).sum(), tmp_path / "g.png")
    assert not (tmp_path / "g.png").exists()
    mg.viz.draw_graph((x * 2).sum(), tmp_path / "g.dot")  # the DOT text needs no dot
    assert (tmp_path / "g.dot").read_text().startswith("digraph minigrad {")


@needs_dot
@pytest.mark.parametrize("suffix, magic", [("png", b"\x89PNG\r\n\x1a\n"), ("svg", b"<?xml"), ("pdf", b"%PDF")])
def test_writes_images(tmp_path, suffix, magic):
    mg.manual_seed(7)
    lstm = mg.nn.LSTM(2, 2)
    out, _ = recorded(lstm, mg.randn(1, 3, 2))
    path = tmp_path / f"lstm.{suffix}"
    graph = mg.viz.draw_graph(out.sum(), path, model=lstm, collapse=True)
    assert path.read_bytes().startswith(magic)
    assert isinstance(graph, graphviz.Digraph)
