"""What a figure's unit says: the words read after a number, and whether ranking it means anything.

Kolada puts the unit at the end of a KPI's title, after its last comma, with remarks around it
("andel (%) (-2024)", "medelvärde (- 2024)", "kr/inv (publiceras när K03138 har värde)"); a plan
author reads "92,0 %" or "4,5 per 1 000 inv" after a number, never a remark or a statistic's name.

A count that grows with population (persons, households, kronor for the whole municipality) ranks
a big municipality worst only because it is big, so such indicators get neither rank nor quartile
colour unless the config says `rank = true`. This module is the one home of both rules.
"""
from __future__ import annotations

import re

from .config import Indicator

# Trailing remarks that are no part of a unit: a year range "(-2024)", "(- 2024)", a publication note.
_REMARK = re.compile(r"\s*\((?:[^()]*\d{4}[^()]*|publiceras[^()]*|föregående år|justerat)\)\s*\.?\s*$", re.I)
_SOURCE_NOTE = re.compile(r"\s*Källa:.*$", re.I)
_PER = r"\s*(/|per)\s*"
_INHABITANTS = r"\s*(inv|invånare)\.?"
# Kolada's endings as a reader says them after a number: "92,0 %", "4,5 per 1 000 inv".
_NATURAL = [
    (re.compile(r"^(andel|procent|anel)?\s*\(?\s*%\s*\)?(\s+av\s.*)?$|^procent$", re.I), "%"),
    (re.compile(r"^antal" + _PER + r"1\s?000" + _INHABITANTS + "$", re.I), "per 1 000 inv"),
    (re.compile(r"^antal" + _PER + r"10\s?000" + _INHABITANTS + "$", re.I), "per 10 000 inv"),
    (re.compile(r"^antal" + _PER + r"100\s?000" + _INHABITANTS + "$", re.I), "per 100 000 inv"),
    (re.compile(r"^antal\s+(dagar|timmar)$", re.I), r"\1"),
    (re.compile(r"^antal\.?$|^totalt antal$", re.I), ""),
    (re.compile(r"^kr/invånare$", re.I), "kr/inv"),
]
# Names of a statistic, not units: "15,0 medelvärde" says nothing. A time in days keeps "dagar".
_STATISTICS = re.compile(r"^(medelvärde|median|genomsnitt|mediantid|index|värde|balanstal)\b", re.I)
_DAYS = re.compile(r"\bdagar\b", re.I)
# What no unit holds: brackets, quotes, "=", "?", a year, a full stop ("m.m", a sentence end).
_GARBAGE = re.compile(r"[()\[\]\"=?:;.]|\b(19|20)\d{2}\b")
# A unit starts with a measure ("kr/inv", "antal svar", "dagar") or divides by something ("gram/ätande");
# other endings qualify the title ("kommunal regi", "ny definition", "lägeskommun") and name no unit.
_MEASURE = re.compile(r"^(%|kr|tkr|mkr|mnkr|miljoner kronor|kronor|antal|dagar|timmar|minuter|per|kg|gram|ton|"
                      r"meter|km|kvm|kvadratkilometer|MWh|kWh|MW|liter|hektar|kbm|poäng|meritvärdespoäng|år|"
                      r"procentenheter|recept|resor|inv)\b|/", re.I)
MAX_UNIT = 30  # longer endings are descriptions ("andel av de som avslutat … kurs"), not units


def kolada_unit(title: str | None) -> str:
    """The unit a Kolada KPI title ends in, worded as read after a number; "" when it names none."""
    if not title or "," not in title:
        return ""
    raw = _SOURCE_NOTE.sub("", title.rsplit(",", 1)[1]).strip()
    while True:
        shorter = _REMARK.sub("", raw).strip().rstrip(".").strip()
        if shorter == raw:
            break
        raw = shorter
    for pattern, word in _NATURAL:
        if pattern.match(raw):
            return pattern.sub(word, raw).strip()
    if _STATISTICS.match(raw):
        return "dagar" if _DAYS.search(title) else ""
    if _GARBAGE.search(raw) or len(raw) > MAX_UNIT or not _MEASURE.search(raw):
        return ""
    return raw


# Units of a count that grows with population: a number of things, or money for the whole municipality.
_COUNT_UNITS = re.compile(r"^(antal(\s.*)?|personer|hushåll|tkr|kr|kronor|mkr|mnkr|miljoner kronor)$", re.I)
_COUNT_TITLE = re.compile(r"\b(antal|hushåll|personer)\b", re.I)
_PER_SOMETHING = re.compile(r"/|\bper\b|%|andel|procent", re.I)


def grows_with_population(unit: str, title: str) -> bool:
    """Whether a figure is a count or sum for the whole municipality (antal, tkr, kr not per
    inhabitant, persons, households), so ranking it would rank size. `title` is the label or the
    KPI title; a unit of "" (Kolada's "antal") counts as a count when the title says so."""
    if _PER_SOMETHING.search(unit):
        return False
    if unit:
        return bool(_COUNT_UNITS.match(unit.strip()))
    return bool(_COUNT_TITLE.search(title)) and not _PER_SOMETHING.search(title.rsplit(",", 1)[-1])


def ranked(indicator: Indicator, unit: str, title: str | None) -> bool:
    """Whether an indicator is ranked (and coloured by quartile): it has a better direction, and it is
    not a count that grows with population unless the config asks for `rank = true`."""
    if indicator.direction == "none":
        return False
    return indicator.rank or not grows_with_population(unit, title or indicator.label)
