"""Draw the graph recorded behind a tensor, grouped by module, layer, direction and time step.

    with mg.viz.record_scopes(), mg.nn.recurrent_impl("composed"):
        output, (h_n, c_n) = lstm(x)
    graph = mg.viz.draw_graph(output.sum(), "lstm.svg", model=lstm, collapse=True)
    print(graph.source)   # the DOT text

A recurrent layer's composed loop records the network unrolled in time; the
scopes recorded inside [`record_scopes`][minigrad.viz.record_scopes] say which
layer, direction and step each op belongs to, so each step becomes a box (a
Graphviz *cluster*) inside its direction, its layer and its module. With
``collapse=True`` the steps of one layer and direction fold into a single box
marked "×T", so a 50-step LSTM stays one screen. The fused kernels record one
node per layer and direction; it is drawn as one node, labelled as such.

Without ``record_scopes`` the same graph is drawn flat. Draw before
``backward()``: backward frees the graph (unless ``retain_graph=True``).

Needs the ``graphviz`` Python package (``pip install 'minigrad[viz]'``) and, to
write an image, Graphviz's ``dot`` program (Debian: ``apt-get install graphviz``).
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from typing import Any

from minigrad import ops
from minigrad.autograd import _topological_order
from minigrad.graph_scope import graph_scope, record_scopes
from minigrad.io import atomic_write
from minigrad.tensor import Tensor

__all__ = ["IMAGE_FORMATS", "draw_graph", "graph_scope", "record_scopes"]

IMAGE_FORMATS = ("png", "svg", "pdf")  # written with dot; ".dot" and ".gv" write the DOT text itself
RANKDIRS = ("LR", "TB", "RL", "BT")
_FUSED = (ops.RNNSequence, ops.LSTMSequence, ops.GRUSequence, ops.BidirectionalSequence)
_FRAME_KEY = {"module": "m", "layer": "l", "direction": "d", "t": "t", "name": "n"}
_STYLE = {  # fill colours of the clusters, by the kind of their innermost frame
    "module": "#f4f6fb", "layer": "#eef3ea", "direction": "#fbf3e6", "t": "#ffffff", "name": "#f3eefa",
}


def draw_graph(tensor: Tensor, path: str | os.PathLike | None = None, *, model: Any = None,
               params: dict[str, Tensor] | None = None, collapse: bool = False, rankdir: str = "LR",
               show_shapes: bool = True) -> Any:
    """Render the graph behind ``tensor`` with Graphviz; optionally write it to ``path``.

    Ops are boxes (op name and output shape), leaves are ellipses: parameters
    (named from ``model`` or ``params``), inputs, constants. An edge runs from an
    input to the op that used it, so data flows in the direction ``rankdir``.
    Ops recorded inside [`record_scopes`][minigrad.viz.record_scopes] sit in
    nested clusters, one per module call, layer, direction (forward, reverse)
    and time step $t$; a leaf sits in the innermost cluster holding all its users.

    With ``collapse=True`` the steps of each layer and direction (every group of
    sibling ``t`` clusters) become one box "step ×T" that lists the ops of one
    step; edges into or out of the box are merged and labelled with their count
    (×T), and the state carried from step $t-1$ to step $t$ becomes a loop on the box.

    Args:
        tensor: the output (e.g. a loss) whose graph to draw.
        path: where to write, by suffix: ``.png``, ``.svg``, ``.pdf`` (needs ``dot``),
            or ``.dot``/``.gv`` (the DOT text). None: write nothing.
        model: a [`Module`][minigrad.nn.Module]: its ``named_modules()`` and
            ``named_parameters()`` name the clusters and the parameters.
        params: ``{name: tensor}`` naming more leaves (like torchviz's ``make_dot``).
        collapse: fold repeated time steps into one box per layer and direction.
        rankdir: Graphviz layout direction: ``"LR"`` (time runs left to right), ``"TB"``, ``"RL"``, ``"BT"``.
        show_shapes: put each tensor's shape in its node.

    Returns:
        The ``graphviz.Digraph``: ``.source`` is the DOT text, ``.render()``/``.pipe()`` lay it out.

    Raises:
        TypeError: ``tensor`` is not a Tensor, or ``model``/``params`` have the wrong type.
        ValueError: ``tensor`` has no graph behind it (a leaf, made under ``no_grad``, or
            detached), its graph was freed by ``backward()``, ``rankdir`` is unknown or
            ``path`` has an unknown suffix.
        ImportError: the ``graphviz`` package is missing.
        RuntimeError: an image was asked for and Graphviz's ``dot`` program is not installed.
    """
    fmt = _check_arguments(tensor, path, model, params, collapse, rankdir)
    try:
        import graphviz
    except ImportError as e:
        raise ImportError("draw_graph needs the graphviz package: pip install 'minigrad[viz]'") from e
    if fmt in IMAGE_FORMATS and shutil.which("dot") is None:
        raise RuntimeError(
            f"draw_graph: writing {os.fspath(path)!r} needs Graphviz's dot program, not found on PATH; "
            "install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz), "
            "or write the DOT text with a .dot path"
        )
    graph = _Drawing(tensor, model, params, collapse, show_shapes).build(graphviz.Digraph, rankdir)
    if fmt is not None:
        data = graph.source.encode() if fmt in ("dot", "gv") else graph.pipe(format=fmt)
        with atomic_write(path, "wb", who="draw_graph") as f:
            f.write(data)
    return graph


def _check_arguments(tensor: Any, path: Any, model: Any, params: Any, collapse: Any, rankdir: Any) -> str | None:
    """Every check of `draw_graph`, before any work; returns the output format (None: no file)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"draw_graph: expected a Tensor, got {type(tensor).__name__}")
    if tensor._ctx is None:
        raise ValueError(
            f"draw_graph: the tensor {tuple(tensor.shape)} has no graph behind it (a leaf, a result computed "
            "under no_grad or from inputs that do not require grad, or detach()ed); draw the output of ops "
            "on tensors with requires_grad=True"
        )
    if not isinstance(collapse, bool):
        raise TypeError(f"draw_graph: collapse must be True or False, got {collapse!r}")
    if rankdir not in RANKDIRS:
        raise ValueError(f"draw_graph: rankdir must be one of {RANKDIRS}, got {rankdir!r}")
    if model is not None and not hasattr(model, "named_modules"):
        raise TypeError(f"draw_graph: model must be a minigrad.nn.Module, got {type(model).__name__}")
    if params is not None and (not isinstance(params, dict)
                               or not all(isinstance(v, Tensor) for v in params.values())):
        raise TypeError("draw_graph: params must be a dict {name: Tensor}")
    for node in _topological_order(tensor):
        if node._ctx.released:
            raise ValueError(
                f"draw_graph: the graph behind the tensor was freed by backward() (at op {node._ctx.name!r}); "
                "draw it before backward(), or call backward(retain_graph=True)"
            )
    if path is None:
        return None
    suffix = os.path.splitext(os.fspath(path))[1].lstrip(".").lower()
    if suffix not in IMAGE_FORMATS + ("dot", "gv"):
        raise ValueError(
            f"draw_graph: cannot tell the format of {os.fspath(path)!r} from its suffix; "
            f"use one of {', '.join('.' + s for s in IMAGE_FORMATS + ('dot', 'gv'))}"
        )
    return suffix


def _shape(t: Tensor) -> str:
    return "(" + ", ".join(str(n) for n in t.shape) + ")"


class _Drawing:
    """The nodes, clusters and edges of one drawing (plain data, then `build` makes the Digraph)."""

    def __init__(self, root: Tensor, model: Any, params: dict | None, collapse: bool, show_shapes: bool) -> None:
        self.show_shapes = show_shapes
        self.module_names: dict[int, str] = {}
        self.leaf_names: dict[int, str] = {}
        if model is not None:
            self.module_names = {id(m): name or type(m).__name__.lower() for name, m in model.named_modules()}
            self.leaf_names = {id(p): name for name, p in model.named_parameters()}
        self.leaf_names.update({id(v): k for k, v in (params or {}).items()})
        self.module_numbers: dict[int, int] = {}

        order = _topological_order(root)  # inputs before outputs
        self.node_id: dict[int, str] = {}
        self.label: dict[str, str] = {}
        self.kind: dict[str, str] = {}  # "op", "fused", "param", "input", "const", "output"
        self.scope: dict[str, tuple] = {}  # node -> cluster path (tuple of (kind, key) frames)
        self.step_ops: dict[str, str] = {}  # op node -> its op name (for the collapsed boxes)
        edges: list[tuple[str, str]] = []
        users: dict[str, list[str]] = {}
        for t in order:
            ctx = t._ctx
            nid = self.node_id[id(t)] = f"op{len(self.node_id)}"
            self.scope[nid] = self._path(getattr(ctx, "scope", ()))
            self.step_ops[nid] = ctx.name
            if isinstance(ctx, _FUSED):
                steps = ctx.parents[0].shape[0]  # xw (T, N, G), time-major
                self.kind[nid] = "fused"
                name = type(ctx).__name__
                if isinstance(ctx, ops.BidirectionalSequence) and hasattr(ctx, "kernel"):
                    name = f"{ctx.kernel.__name__} ×2 directions"
                self.label[nid] = (f"{name} (fused kernel)\\nall {steps} steps in this one node"
                                   + (f"\\n{_shape(t)}" if show_shapes else ""))
            else:
                self.kind[nid] = "op"
                self.label[nid] = ctx.name + (f"\\n{_shape(t)}" if show_shapes else "")
            for p in ctx.parents:
                if p._ctx is None and id(p) not in self.node_id:
                    lid = self.node_id[id(p)] = f"leaf{len(self.node_id)}"
                    self._leaf(lid, p)
                edges.append((self.node_id[id(p)], nid))
                users.setdefault(self.node_id[id(p)], []).append(nid)
        root_id = self.node_id[id(root)]
        self.kind[root_id] = "output"
        for lid, used_by in users.items():  # a leaf sits in the innermost cluster holding all its users
            if lid.startswith("leaf"):
                self.scope[lid] = _common_prefix([self.scope[u] for u in used_by])
        self.boxes: dict[str, dict] = {}
        self.replaced: dict[str, str] = {}
        self.step_t: dict[str, int] = {}
        if collapse:
            self._collapse()
        self.edges = self._merge(edges)

    # -- nodes --------------------------------------------------------------
    def _leaf(self, lid: str, p: Tensor) -> None:
        name = self.leaf_names.get(id(p))
        if name is not None:
            self.kind[lid] = "param"
        elif p.requires_grad:
            self.kind[lid], name = "input", "input (requires grad)"
        elif p.numel() == 1:
            self.kind[lid], name = "const", f"{p.item():g}"
        else:
            self.kind[lid], name = "const", "tensor (no grad)"
        self.label[lid] = name + (f"\\n{_shape(p)}" if self.show_shapes and p.numel() != 1 else "")

    def _path(self, scope: tuple) -> tuple:
        """Scope frames -> cluster path of ``(kind, key, label)`` frames (modules by name or number)."""
        path = []
        for kind, value in scope:
            if kind == "module":
                key = self.module_numbers.setdefault(id(value), len(self.module_numbers))
                name = self.module_names.get(id(value))
                label = f"{name} ({type(value).__name__})" if name else f"{type(value).__name__} #{key}"
            elif kind == "direction":
                key, label = value, "reverse" if value else "forward"
            elif kind == "layer":
                key, label = value, f"layer {value}"
            elif kind == "t":
                key, label = value, f"t = {value}"
            else:
                key, label = len(path), value
            path.append((kind, key, label))
        return tuple(path)

    # -- collapsing repeated steps -----------------------------------------------
    def _collapse(self) -> None:
        """Replace every group of sibling ``t`` clusters by one box node (see `draw_graph`)."""
        steps: dict[tuple, dict[int, list[str]]] = {}  # parent path -> {t: nodes in that step}
        for nid, path in self.scope.items():
            cut = next((i for i, frame in enumerate(path) if frame[0] == "t"), None)
            if cut is not None:
                steps.setdefault(path[:cut], {}).setdefault(path[cut][1], []).append(nid)
        for parent, by_t in steps.items():
            box = f"box{len(self.boxes)}"
            ts = sorted(by_t)
            first = Counter(self.step_ops[n] for n in by_t[ts[0]] if n.startswith("op"))
            ops_text = ", ".join(f"{name} ×{k}" if k > 1 else name for name, k in sorted(first.items()))
            if ("direction", 1) in [frame[:2] for frame in parent]:
                ts.reverse()  # the reverse direction runs from T-1 down to 0
            span = f"t = {ts[0]}" if len(ts) == 1 else f"t = {ts[0]} … {ts[-1]}"
            self.boxes[box] = {"steps": len(ts), "span": span}
            self.label[box] = (f"step ×{len(ts)}  ({span})\\n{sum(first.values())} ops per step:\\n"
                               + _wrap(ops_text, 44))
            self.kind[box] = "box"
            self.scope[box] = parent
            for t, nodes in by_t.items():
                for n in nodes:
                    self.replaced[n] = box
                    self.step_t[n] = t
                    if self.kind[n] == "output":  # the drawn tensor itself is inside a step
                        self.kind[box] = "output"
                    del self.scope[n]

    def _merge(self, edges: list[tuple[str, str]]) -> Counter:
        """Edges after collapsing, with their counts; edges inside one collapsed step are dropped."""
        replaced = self.replaced
        counts: Counter = Counter()
        for a, b in edges:
            ra, rb = replaced.get(a, a), replaced.get(b, b)
            if ra == rb and self.step_t[a] == self.step_t[b]:
                continue  # inside one step
            counts[(ra, rb)] += 1
        return counts

    # -- the Digraph ------------------------------------------------------------
    def build(self, digraph: Any, rankdir: str) -> Any:
        g = digraph("minigrad", graph_attr={"rankdir": rankdir, "fontname": "Helvetica", "fontsize": "11",
                                            "nodesep": "0.15", "ranksep": "0.25"},
                    node_attr={"fontname": "Helvetica", "fontsize": "10", "height": "0.3"},
                    edge_attr={"arrowsize": "0.6", "fontname": "Helvetica", "fontsize": "9"})
        tree: dict[tuple, list[str]] = {}
        for nid, path in self.scope.items():
            tree.setdefault(path, []).append(nid)
        children: dict[tuple, list[tuple]] = {}
        for path in list(tree):
            for i in range(len(path)):
                sub = path[: i + 1]
                children.setdefault(path[:i], [])
                if sub not in children[path[:i]]:
                    children[path[:i]].append(sub)
        for kids in children.values():
            kids.sort(key=lambda p: (p[-1][0], p[-1][1]))

        def fill(sub: Any, path: tuple) -> None:
            for nid in tree.get(path, []):
                sub.node(nid, self.label[nid], **_node_style(self.kind[nid]))
            for child in children.get(path, []):
                name = "cluster_" + "_".join(f"{_FRAME_KEY[k]}{key}" for k, key, _ in child)
                with sub.subgraph(name=name) as c:
                    c.attr(label=child[-1][2], style="rounded,filled", fillcolor=_STYLE[child[-1][0]],
                           color="#9aa5b8", fontsize="10", labeljust="l")
                    fill(c, child)

        fill(g, ())
        for (a, b), n in self.edges.items():
            attrs = {"label": f"×{n}"} if n > 1 else {}
            if a == b:  # a collapsed box: the state carried from one step to the next
                transitions = self.boxes[a]["steps"] - 1
                attrs = {"color": "#c0504d", "fontcolor": "#c0504d", "penwidth": "1.5",
                         "label": f"state t-1 → t\\n×{transitions}, {n // transitions} edge(s) each"}
            g.edge(a, b, **attrs)
        return g


def _node_style(kind: str) -> dict:
    return {
        "op": {"shape": "box", "style": "rounded,filled", "fillcolor": "#dde7f7"},
        "fused": {"shape": "box", "style": "rounded,filled,bold", "fillcolor": "#f7e3c6"},
        "box": {"shape": "box", "style": "rounded,filled,bold", "fillcolor": "#e4efd9"},
        "output": {"shape": "box", "style": "rounded,filled,bold", "fillcolor": "#f6d5d5"},
        "param": {"shape": "ellipse", "style": "filled", "fillcolor": "#fff2b3"},
        "input": {"shape": "ellipse", "style": "filled", "fillcolor": "#e8e8e8"},
        "const": {"shape": "ellipse", "style": "dashed", "fontcolor": "#666666", "color": "#999999"},
    }[kind]


def _common_prefix(paths: list[tuple]) -> tuple:
    first = paths[0]
    n = len(first)
    for p in paths[1:]:
        n = min(n, len(p))
        while n and p[:n] != first[:n]:
            n -= 1
    return first[:n]


def _wrap(text: str, width: int) -> str:
    lines, line = [], ""
    for word in text.split(", "):
        if line and len(line) + len(word) + 2 > width:
            lines.append(line + ",")
            line = word
        else:
            line = f"{line}, {word}" if line else word
    lines.append(line)
    return "\\n".join(lines)
