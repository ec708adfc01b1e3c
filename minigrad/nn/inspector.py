"""The BPTT inspector: watch hidden states, gates and gradients flow through time.

    with mg.nn.BPTTInspector(model) as inspector:
        output, h_n = model(x)
        loss = loss_fn(output[:, -1], y)
        loss.backward()
    print(inspector.table())          # ||dL/dh_t|| for every layer, direction and t
    inspector.plot("grad_norms.png")  # gradient norm against time step (log scale)

Inside the block every recurrent layer ([`RNN`][minigrad.nn.RNN], ``LSTM``,
``GRU``) reports each time step's hidden state and gate activations; the
inspector keeps the hidden states' gradients after ``backward()``. No model
code changes. A layer called twice inside the block keeps its latest call.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from typing import Any

from backends.choices import did_you_mean, quoted
from minigrad.io import atomic_write
from minigrad.nn.clip import get_total_norm
from minigrad.tensor import Tensor, stack

_active: ContextVar["BPTTInspector | None"] = ContextVar("minigrad_bptt_inspector", default=None)


def active_inspector() -> "BPTTInspector | None":
    """The inspector recording now, or None (the common case: recording costs nothing then)."""
    return _active.get()


class Trace:
    """What one layer, in one direction, did at each time step.

    Attributes:
        name: e.g. ``"encoder (LSTM) layer 0 forward"``.
        layer: layer index.  direction: 0 forward, 1 reverse.
        hidden: ``{t: h_t (N, H)}`` the state carried out of step t.
        gates: ``{t: {gate name: activation (N, H)}}``, e.g. i, f, g, o, c for LSTM.
    """

    def __init__(self, name: str, layer: int, direction: int) -> None:
        self.name, self.layer, self.direction = name, layer, direction
        self.hidden: dict[int, Tensor] = {}
        self.gates: dict[int, dict[str, Tensor]] = {}

    @property
    def steps(self) -> list[int]:
        return sorted(self.hidden)

    def hidden_states(self) -> Tensor:
        """``(T, N, H)`` hidden states, outside the graph."""
        return stack([self.hidden[t].detach() for t in self.steps], axis=0)

    def gate(self, name: str) -> Tensor:
        """``(T, N, H)`` activations of gate ``name`` (e.g. ``"f"``), outside the graph.

        Raises:
            KeyError: this layer has no gate ``name`` (the message lists the gates it has).
        """
        names = list(self.gates[self.steps[0]]) if self.steps else []
        if name not in names:
            raise KeyError(
                f"Trace.gate: {self.name} has no gate {name!r}; its gates: {quoted(names)}" + did_you_mean(name, names)
            )
        return stack([self.gates[t][name] for t in self.steps], axis=0)

    def grad_norms(self) -> list[float]:
        """||dL/dh_t|| (Frobenius norm over batch and units) for each t; needs ``backward()`` first."""
        norms = []
        for t in self.steps:
            g = self.hidden[t].grad
            if g is None:
                raise RuntimeError(
                    f"BPTTInspector: no gradient for {self.name} at t={t}; call loss.backward() inside "
                    "the inspector block, on a loss that depends on this layer"
                )
            norms.append(get_total_norm(g))  # float64, scaled: no overflow or underflow where the norm is finite
        return norms


class BPTTInspector:
    """Context manager recording every recurrent layer's steps (see the module docstring).

    Args:
        model: optional; its ``named_modules()`` give the layers readable names.
    """

    def __init__(self, model: Any = None) -> None:
        self._names = {id(m): name for name, m in model.named_modules()} if model is not None else {}
        self._traces: dict[tuple, Trace] = {}
        self._number: dict[int, int] = {}
        self._token = None

    def __enter__(self) -> "BPTTInspector":
        self._token = _active.set(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        _active.reset(self._token)

    # -- called by the recurrent layers --------------------------------------
    def record(self, module: Any, layer: int, direction: int, t: int, h: Tensor, gates: dict) -> None:
        key = (id(module), layer, direction)
        trace = self._traces.get(key)
        if trace is None:
            label = self._names.get(id(module)) or f"#{self._number.setdefault(id(module), len(self._number))}"
            kind = type(module).__name__
            name = f"{label} ({kind}) layer {layer} {'reverse' if direction else 'forward'}"
            trace = self._traces[key] = Trace(name, layer, direction)
        if h.requires_grad:
            h.retain_grad()
        trace.hidden[t] = h
        trace.gates[t] = {k: v.detach() for k, v in gates.items()}

    def begin(self, module: Any, layer: int, direction: int) -> None:
        """A new call of ``module``: forget what its previous call recorded."""
        self._traces.pop((id(module), layer, direction), None)

    # -- reading ------------------------------------------------------------
    @property
    def traces(self) -> list[Trace]:
        """Every recorded layer and direction, in the order they ran."""
        return list(self._traces.values())

    def trace(self, layer: int = 0, direction: int = 0, module: Any = None) -> Trace:
        """The trace of one layer and direction (of ``module``, or of the only recurrent module).

        Raises:
            KeyError: no trace or several traces match (the message lists the recorded traces).
        """
        matches = [
            tr for (mid, lay, d), tr in self._traces.items()
            if lay == layer and d == direction and (module is None or mid == id(module))
        ]
        if len(matches) != 1:
            recorded = [f"{tr.name} (layer={tr.layer}, direction={tr.direction})" for tr in self._traces.values()]
            raise KeyError(
                f"BPTTInspector.trace: {len(matches)} traces match layer={layer}, direction={direction}"
                + ("" if module is None else f", module={self._names.get(id(module)) or type(module).__name__}")
                + ("; pass module= to choose" if len(matches) > 1 else "")
                + f"; recorded: {'; '.join(recorded) if recorded else 'nothing (run the model inside the block)'}"
            )
        return matches[0]

    def table(self, every: int = 1) -> str:
        """A text table of ||dL/dh_t|| per time step (rows) and trace (columns)."""
        traces = self.traces
        norms = [tr.grad_norms() for tr in traces]
        steps = traces[0].steps if traces else []
        header = "t".rjust(5) + "".join(f"  {tr.name[:28]:>28}" for tr in traces)
        lines = [header]
        for i, t in enumerate(steps):
            if i % every and i != len(steps) - 1:
                continue
            lines.append(f"{t:5d}" + "".join(f"  {n[i]:28.3e}" if i < len(n) else " " * 30 for n in norms))
        return "\n".join(lines)

    def plot(self, path: str, title: str = "Gradient norm through time") -> str:
        """Save a PNG of ||dL/dh_t|| against t (log scale), one line per trace; returns ``path``.

        Needs matplotlib (``pip install 'minigrad[plot]'``).
        """
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError as e:
            raise ImportError("BPTTInspector.plot needs matplotlib: pip install 'minigrad[plot]'") from e
        fig, ax = plt.subplots(figsize=(7, 4))
        for tr in self.traces:
            ax.semilogy(tr.steps, tr.grad_norms(), label=tr.name)
        ax.set_xlabel("time step t")
        ax.set_ylabel("||dL/dh_t||")
        ax.set_title(title)
        ax.legend(fontsize="small")
        fig.tight_layout()
        suffix = os.path.splitext(os.fspath(path))[1].lstrip(".").lower()
        with atomic_write(path, "wb", who="BPTTInspector.plot") as f:  # never a half-written image
            fig.savefig(f, format=suffix or "png", dpi=100)
        plt.close(fig)
        return path
