"""A Document as Markdown: pipe tables that Pandoc, GitHub and most editors understand."""
from __future__ import annotations

import re

from .document import HOME_STYLE, QUARTILE_WORDS, SUMMARY_STYLE, Cell, Document, Row, Table

_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def escape(text: str) -> str:
    """Kolada's titles are text, never markup: a "*" or "<script>" in one must print as itself."""
    return _SPECIAL.sub(r"\\\1", text)


def _said(cell: Cell) -> str:
    """Markdown has no cell colour: the quartile is said in words after the value."""
    return f"{cell.text} ({QUARTILE_WORDS[cell.quartile]})" if cell.quartile else cell.text


def _row(row: Row) -> str:
    mark = {HOME_STYLE: "**", SUMMARY_STYLE: "*"}.get(row.style, "")
    cells = [f"{mark}{escape(_said(c))}{mark}" if c.text else "" for c in row.cells]
    return "| " + " | ".join(cells) + " |"


def _table(table: Table) -> list[str]:
    return [
        f"**{escape(table.caption)}**",
        "",
        "| " + " | ".join(escape(" ".join(c.header.split())) for c in table.columns) + " |",
        "|" + "|".join("---:" if c.numeric else ":---" for c in table.columns) + "|",
        *(_row(r) for r in table.rows),
        "",
    ]


def render_markdown(doc: Document) -> str:
    lines = [f"## {escape(doc.heading)}", ""]
    for line in doc.intro:
        lines += [escape(line), ""]
    if doc.message:
        lines += [escape(doc.message), ""]
    for table in doc.tables:
        lines += _table(table)
    for note in doc.footnotes:
        lines += [escape(note), ""]
    return "\n".join(lines).rstrip("\n") + "\n"
