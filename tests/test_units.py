"""Units read from Kolada's titles, and which figures are counts that grow with population."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harvester.config import Indicator
from harvester.units import grows_with_population, kolada_unit, ranked


def test_every_title_of_the_real_catalogue_gives_a_unit_without_remarks(shared_kolada: Path) -> None:
    """No period, no parenthesis remnant, no year, no statistic's name after a number in Mål or a header."""
    raw = json.loads((shared_kolada / "catalog" / "kpi.json").read_text(encoding="utf-8"))
    titles = [k["title"] for k in (raw["values"] if isinstance(raw, dict) else raw)]
    assert len(titles) > 6000
    units = {title: kolada_unit(title) for title in titles}
    bad = {t: u for t, u in units.items()
           if re.search(r"[()\[\]=?.:\"]|\b(19|20)\d{2}\b", u) or u != u.strip() or len(u) > 30
           or re.match(r"(medelvärde|median|genomsnitt|index)\b", u, re.I)}
    assert bad == {}
    assert sum(u == "kr/inv" for u in units.values()) > 500 and sum(u == "%" for u in units.values()) > 2500


@pytest.mark.parametrize("title, unit", [
    ("Utredningstid i antal dagar från ansökan till beslut om LSS-insats (alla insatser), medelvärde (- 2024)", "dagar"),
    ("Nöjd medborgar-index - Äldreomsorg, medelvärde (- 2024)", ""),
    ("Brukarbedömning hemtjänst äldreomsorg - helhetssyn, andel (%) (-2024)", "%"),
    ("Barn 0-20 år placerade, antal/1000 inv (-2023)", "per 1 000 inv"),
    ("Anmälningar om barn, antal/10 000 inv 0-18 år (-2023)", "antal/10 000 inv 0-18 år"),
    ("Kostnad, kr/inv (publiceras när K03138 har värde)", "kr/inv"),
    ("Andel elever, andel (%). (-2023)", "%"),
    ("Energi, kWh/kvm BRA Källa: Egna uppgifter i regionen.", "kWh/kvm BRA"),
    ("Skolor, kommunal regi", ""),
    ("Ja/Nej, (Ja=1/Nej=0)", ""),
    ("Kostnad missbruksvård vuxna, kr/inv", "kr/inv"),
    ("Utan komma", ""),
])
def test_units_of_titles_with_remarks(title: str, unit: str) -> None:
    assert kolada_unit(title) == unit


@pytest.mark.parametrize("unit, title, count", [
    ("", "Biståndsmottagare, ekonomiskt bistånd, totalt, antal", True),
    ("tkr", "Utbetalt ekonomiskt bistånd totalt, tkr", True),
    ("kr", "Kostnad, kr", True),
    ("antal personer totalt", "Vuxna biståndsmottagare, antal personer totalt", True),
    ("antal", "Arbetslösa 16–64 år, antal (juli)", True),
    ("kr/inv", "Kostnad missbruksvård vuxna, kr/inv", False),
    ("kr/hushåll", "Utbetalt ekonomiskt bistånd, kr/hushåll", False),
    ("%", "Andel hushåll, andel (%)", False),
    ("per 1 000 inv", "Arbetslösa per 1 000 invånare", False),
    ("dagar", "Väntetid i antal dagar, medelvärde", False),
])
def test_counts_that_grow_with_population(unit: str, title: str, count: bool) -> None:
    assert grows_with_population(unit, title) is count


def test_rank_true_ranks_a_count_and_direction_none_is_never_ranked() -> None:
    count = Indicator(id="x", label="Hushåll, antal", series_id="N31848", direction="lower")
    assert not ranked(count, "", "Biståndsmottagare, antal")
    assert ranked(Indicator(id="x", label="Hushåll, antal", series_id="N31848", direction="lower", rank=True), "", None)
    assert not ranked(Indicator(id="x", label="Kostnad, kr/inv", series_id="N35001", direction="none"), "kr/inv", None)
