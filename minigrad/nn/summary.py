"""``summary(model)``: a table of a model's parameters, one row per tensor, with totals.

    >>> from minigrad import nn
    >>> model = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 3), nn.Linear(3, 1))
    >>> print(nn.summary(model))                           # doctest: +NORMALIZE_WHITESPACE
    Sequential summary
    Module  Type       Parameter  Shape    Params  Trainable
    ------  ---------  ---------  -------  ------  ---------
    0       Embedding  weight     [10, 4]      40  yes
    1       Linear     weight     [3, 4]       12  yes
    1       Linear     bias       [3]           3  yes
    2       Linear     weight     [1, 3]        3  yes
    2       Linear     bias       [1]           1  yes
    ------  ---------  ---------  -------  ------  ---------
    Total params: 59
    Trainable params: 59
    Non-trainable params: 0

A parameter shared by several modules is listed and counted once, under the
first module that holds it (in ``named_modules`` order).

A module can explain its parameters with a ``summary_breakdown(self) -> list[str]``
method: its lines are printed, indented, under the module's rows. Recurrent
layers use it for a per-layer, per-direction, per-gate breakdown with the
formula, e.g. ``layer 0 forward: 4 gates x H(I + H + 2) = 4 x 8(3 + 8 + 2) = 416``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from minigrad.nn.module import Module

__all__ = ["Summary", "SummaryRow", "summary"]

ROOT_NAME = "(root)"
HEADER = ("Module", "Type", "Parameter", "Shape", "Params", "Trainable")
NUMEL_COLUMN = 4  # right-aligned


@dataclass(frozen=True)
class SummaryRow:
    """One parameter tensor.

    Attributes:
        module: dotted path of the module that holds it (``""`` for the model itself).
        module_type: the class name of that module.
        name: the parameter's name inside that module (``weight_ih_l0``).
        shape: the parameter's shape.
        numel: its number of elements.
        trainable: its ``requires_grad``.
    """

    module: str
    module_type: str
    name: str
    shape: tuple[int, ...]
    numel: int
    trainable: bool

    @property
    def full_name(self) -> str:
        """The name ``named_parameters`` and ``state_dict`` use (``encoder.weight_ih_l0``)."""
        return f"{self.module}.{self.name}" if self.module else self.name

    def cells(self) -> tuple[str, ...]:
        """The row as the table prints it."""
        return (
            self.module or ROOT_NAME,
            self.module_type,
            self.name,
            "[" + ", ".join(str(d) for d in self.shape) + "]",
            f"{self.numel:,}",
            "yes" if self.trainable else "no",
        )


@dataclass
class _Section:
    """What the table prints for one module: its rows, shared-parameter notes, breakdown lines."""

    path: str
    rows: list[SummaryRow] = field(default_factory=list)
    shared: list[tuple[str, str]] = field(default_factory=list)  # (full name, where first counted)
    breakdown: list[str] = field(default_factory=list)


class Summary:
    """The result of [`summary`][minigrad.nn.summary.summary]; ``str()`` gives the table.

    Attributes:
        rows: one [`SummaryRow`][minigrad.nn.summary.SummaryRow] per distinct parameter tensor, in ``named_parameters``
            order.
        total_params: elements of all distinct parameters.
        trainable_params: elements of those with ``requires_grad``.
        non_trainable_params: ``total_params - trainable_params``.
        breakdowns: ``{module path: lines}`` from modules' ``summary_breakdown()``.
        shared: ``(full name, full name where it is counted)`` for each extra
            reference to a shared parameter.
    """

    def __init__(self, model_type: str, sections: list[_Section]) -> None:
        self.model_type = model_type
        self._sections = sections
        self.rows: list[SummaryRow] = [row for s in sections for row in s.rows]
        self.breakdowns: dict[str, list[str]] = {s.path: s.breakdown for s in sections if s.breakdown}
        self.shared: list[tuple[str, str]] = [pair for s in sections for pair in s.shared]
        self.total_params: int = sum(r.numel for r in self.rows)
        self.trainable_params: int = sum(r.numel for r in self.rows if r.trainable)

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    def __str__(self) -> str:
        table = [HEADER] + [row.cells() for row in self.rows]
        widths = [max(len(r[c]) for r in table) for c in range(len(HEADER))]
        rule = "  ".join("-" * w for w in widths)

        def fmt(cells: tuple[str, ...]) -> str:
            parts = [c.rjust(w) if i == NUMEL_COLUMN else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))]
            return "  ".join(parts).rstrip()

        lines = [f"{self.model_type} summary", fmt(HEADER), rule]
        for s in self._sections:
            lines.extend(fmt(row.cells()) for row in s.rows)
            lines.extend(f"    {name}: shared with {first} (counted once)" for name, first in s.shared)
            lines.extend(f"    {line}" for line in s.breakdown)
        lines += [
            rule,
            f"Total params: {self.total_params:,}",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.non_trainable_params:,}",
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)


def summary(model: Module) -> Summary:
    """Tabulate ``model``'s parameters: one row per tensor, then the totals.

    Args:
        model: any [`Module`][minigrad.nn.Module].

    Returns:
        A [`Summary`][minigrad.nn.summary.Summary]; print it for the table, or read ``rows``,
        ``total_params`` and ``trainable_params``.
    """
    if not isinstance(model, Module):
        raise TypeError(f"summary: expected a Module, got {type(model).__name__}")
    counted_as: dict[int, str] = {}  # id(parameter) -> full name of the row that counts it
    sections = []
    for path, module in model.named_modules():
        section = _Section(path)
        for name, p in module.named_parameters(recurse=False):
            full = f"{path}.{name}" if path else name
            if id(p) in counted_as:
                section.shared.append((full, counted_as[id(p)]))
                continue
            counted_as[id(p)] = full
            section.rows.append(
                SummaryRow(path, type(module).__name__, name, tuple(p.shape), p.numel(), p.requires_grad)
            )
        section.breakdown = _breakdown(module, path)
        if section.rows or section.shared or section.breakdown:
            sections.append(section)
    return Summary(type(model).__name__, sections)


def _breakdown(module: Module, path: str) -> list[str]:
    hook = getattr(module, "summary_breakdown", None)
    if hook is None:
        return []
    lines = hook()
    if isinstance(lines, str) or not all(isinstance(line, str) for line in lines):
        raise TypeError(
            f"summary: {type(module).__name__}.summary_breakdown() at {path or ROOT_NAME} must return a list of "
            f"str, got {lines!r:.80}"
        )
    return list(lines)
