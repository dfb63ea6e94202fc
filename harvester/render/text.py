"""Text from Kolada, SCB or a config is plain text in every output, whatever characters it holds.

Titles come from outside: a control character would make the workbook unwritable, a newline would
break a Markdown table, a `$` would switch matplotlib into mathtext, a leading `=` would make a
spreadsheet cell a formula. Each renderer escapes for its own format; what every format shares is
done once here.
"""
from __future__ import annotations

import re

# Controls, surrogates and Unicode's noncharacters: none may stand in XML (docx, xlsx) or mean anything in text.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")
_BREAKS = re.compile(r"\s*[\r\n\t]+\s*")
MAX_TEXT = 32_000  # Excel holds 32 767 characters in a cell; no table needs more


def plain(text: object, keep_breaks: bool = False) -> str:
    """One line of printable text (`keep_breaks`: "\\n" kept where a layout asks for a break)."""
    value = _CONTROL.sub("", str(text))
    if keep_breaks:
        value = "\n".join(_BREAKS.sub(" ", line).strip() for line in value.split("\n"))
    else:
        value = _BREAKS.sub(" ", value).strip()
    return value[:MAX_TEXT]


def chart_text(text: object) -> str:
    """Plain text for matplotlib: a `$` is a dollar sign, not the start of mathtext."""
    return plain(text).replace("$", r"\$")


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(text: str) -> str:
    """Text a spreadsheet opening a CSV will not run: a leading `=`, `+`, `-`, `@` gets an apostrophe
    (OWASP's advice; Excel and LibreOffice show the text without it)."""
    return f"'{text}" if text.startswith(_FORMULA_START) else text
