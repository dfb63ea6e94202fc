"""Swedish number formatting for everything a plan author pastes.

Babel supplies the locale (decimal comma, non-breaking space between thousands, so "1 837" never
breaks over two lines in Word); this module only decides decimals, signs and the missing mark.
Rounding is half up (as Excel and a reader with a calculator do), not Babel's banker's rounding,
and a value that rounds to zero is shown without a sign ("0", never "-0"). A negative number
carries the minus sign U+2212 ("−134"), as typeset Swedish does; a hyphen reads as a dash and
breaks a line in Word. The workbook stores real numbers and gets its sign from Excel.
"""
from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
from babel import Locale
from babel.numbers import format_decimal
from babel.numbers import format_percent as babel_percent

LOCALE = "sv_SE"
MISSING = "–"  # en dash: the Swedish mark for "no value", never a zero
MINUS = "\u2212"


def _minus(text: str) -> str:
    """Babel's hyphen-minus in front of a negative number becomes the minus sign."""
    return MINUS + text[1:] if text.startswith("-") else text


def is_missing(value: object) -> bool:
    return value is None or bool(pd.isna(value))


def _pattern(decimals: int) -> str:
    return "#,##0" + ("." + "0" * decimals if decimals > 0 else "")


def _rounded(value: float, decimals: int) -> Decimal:
    q = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return abs(q) if q == 0 else q


def format_number(value: object, decimals: int = 0) -> str:
    """1837.12 → "1 837" (0 decimals) or "1 837,1" (1); missing → "–"."""
    if is_missing(value):
        return MISSING
    return _minus(format_decimal(_rounded(value, decimals), format=_pattern(decimals), locale=LOCALE))


def format_signed(value: object, decimals: int = 0) -> str:
    """A difference: "+37", "−134", "0"; missing → "–"."""
    if is_missing(value):
        return MISSING
    rounded = _rounded(value, decimals)
    text = _minus(format_decimal(rounded, format=_pattern(decimals), locale=LOCALE))
    return "+" + text if rounded > 0 else text


def format_percent(value: object, decimals: int = 1, signed: bool = False) -> str:
    """A value already in percent units: 4.89 → "4,9 %" ("+4,9 %" when signed); missing → "–"."""
    if is_missing(value):
        return MISSING
    rounded = _rounded(value, decimals)
    pattern = Locale.parse(LOCALE).percent_formats[None].pattern.replace("#,##0", _pattern(decimals), 1)
    text = _minus(babel_percent(rounded / 100, format=pattern, locale=LOCALE))
    return "+" + text if signed and rounded > 0 else text


def format_plain(value: object, max_decimals: int = 2) -> str:
    """As many decimals as the value has, up to `max_decimals`: 1731 → "1 731", 1837.12 → "1 837,12"."""
    if is_missing(value):
        return MISSING
    pattern = "#,##0" + ("." + "#" * max_decimals if max_decimals > 0 else "")
    return _minus(format_decimal(_rounded(value, max_decimals), format=pattern, locale=LOCALE))


def excel_format(decimals: int = 0, signed: bool = False, percent: bool = False) -> str:
    """The Excel number format for `decimals` (percent: a value in percent units, shown "4,9 %").

    Excel stores formats in its neutral syntax ("," groups, "." decimals) and shows them with the
    reader's separators, so a Swedish Excel displays "#,##0.0" as "1 837,1". Literal spaces in a
    format ("# ##0") would be wrong for numbers of seven digits and more.
    """
    base = _pattern(decimals) + ('" %"' if percent else "")
    return f"+{base};-{base};{base}" if signed else base


GROUP_SEPARATOR = format_decimal(1000, locale=LOCALE)[1]  # Babel's for sv_SE: U+00A0, which never breaks
_GROUPED = re.compile(r"(?<=\d) (?=\d{3}(?!\d))")


def unbreakable(text: str) -> str:
    """Thousands written with an ordinary space ("per 1 000 inv" from a config or a KPI title) get the
    separator our numbers carry, so "1 000" never breaks over two lines in any format."""
    return _GROUPED.sub(GROUP_SEPARATOR, text)
