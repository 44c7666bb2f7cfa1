"""Text tables for the terminal and for Markdown (README, docs/performance.md)."""

from __future__ import annotations

from collections.abc import Sequence


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]],
                   align: str | None = None) -> str:
    """A Markdown table padded so that it also reads in a terminal.

    ``align`` has one letter per column, ``l`` or ``r``; by default the first column is
    left-aligned and the others (numbers) right-aligned.
    """
    align = align or "l" + "r" * (len(header) - 1)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = [c.rjust(w) if a == "r" else c.ljust(w) for c, w, a in zip(cells, widths, align)]
        return "| " + " | ".join(padded) + " |"

    separator = "| " + " | ".join(
        "-" * (w - 1) + ":" if a == "r" else "-" * w for w, a in zip(widths, align)) + " |"
    return "\n".join([line(header), separator, *(line(r) for r in rows)])


def plain_table(rows: Sequence[Sequence[str]], header: Sequence[str] | None = None,
                max_width: int = 60, indent: str = "  ") -> str:
    """Left-aligned columns for the terminal. Columns are as wide as their cells up to
    ``max_width``, so one long message only pushes its own row; the last column is free."""
    table = [tuple(header)] if header else []
    table += [tuple(r) for r in rows]
    if not table:
        return ""
    columns = len(table[0])
    widths = [min(max_width, max(len(r[i]) for r in table)) for i in range(columns - 1)]
    lines = []
    for row in table:
        cells = [c.ljust(w) for c, w in zip(row, widths)] + [row[-1]]
        lines.append((indent + "  ".join(cells)).rstrip())
    return "\n".join(lines)
