"""Kolada as the registry lists it: `kpi = "N35001"` in an indicator, its URL, client, source and citation."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import Citation, IndicatorKeys, Network, SpecError, Wanted, required_text
from .client import KoladaClient
from .items import SOURCE
from .source import KoladaSource

KPI_ID = re.compile(r"^[NU]\d{5}$")
DEFAULT_URL = "https://api.kolada.se/v3"


@dataclass(frozen=True)
class KoladaKpi:
    """An indicator's Kolada KPI: its id is the series id."""

    kpi: str
    month: int | None = None  # Kolada's series are yearly

    @property
    def id(self) -> str:
        return self.kpi

    @property
    def reference(self) -> str:
        return self.kpi


class Kolada:
    name = SOURCE
    label = "Kolada"
    cited_as = "Kolada (RKA)"
    noun: str | None = "nyckeltal"
    needs = "id, label and kpi for Kolada"
    indicator_words = "a Kolada indicator"
    commands = None
    indicator_keys = ("kpi",)
    network = Network("source", DEFAULT_URL, "KOLADA_API_URL", "--api-url", "Kolada v3", KoladaClient)

    def parse(self, indicator: IndicatorKeys) -> KoladaKpi:
        raw, name = indicator.raw, indicator.name
        if "kpi" not in raw:
            raise SpecError(f"{name} has no kpi", "")
        kpi = required_text(raw["kpi"], f"{name} kpi", "kpi").upper()
        if not KPI_ID.match(kpi):
            raise SpecError(f"{name}: kpi {raw['kpi']!r} is not a Kolada KPI id (N or U followed by five digits, "
                            f"e.g. \"N35001\")", "kpi")
        return KoladaKpi(kpi)

    def prepare(self, wanted: Wanted, client: KoladaClient) -> KoladaSource:
        """The KPIs were checked with the areas (`resolve`, Kolada being the catalogue); nothing more to ask."""
        return KoladaSource(client, wanted.kpis, wanted.municipalities, wanted.today)

    def cite(self, spec: KoladaKpi, described: Mapping[str, Any] | None, years: list[int]) -> Citation:
        return Citation(f"{self.noun} {spec.kpi}")

    def note(self, described: Mapping[str, Any]) -> str:
        return "Kolada"  # a KPI's state comes from Kolada's publication calendar (`status`), not from here


ENTRY = Kolada()
