"""Shipped recipes for computed similar kommuner, one per plan area, each KPI with the reason it is in it.

A plan author who writes `similar = "ifo"` gets a set whose every ingredient is a structural fact
about the kommun (who lives there, how many work), never a result of the service being compared
(its cost, its waiting times): a peer set chosen on the outcome would hide the very difference a
plan wants to see. docs/similar.md gives the agreement of each model with Kolada's own groups,
measured by bench/similar_agreement.py.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass

from .similar import DEFAULT_N, Recipe, SimilarError, make_recipe


@dataclass(frozen=True)
class Model:
    title: str  # how a document names the set: "Liknande kommuner (beräknade: <title>, <year>)"
    why: tuple[tuple[str, str], ...]  # (KPI, why it is in the model), in the model's order
    log: tuple[str, ...] = ()

    def recipe(self, year: int | None = None, n: int = DEFAULT_N) -> Recipe:
        return make_recipe([k for k, _ in self.why], log=self.log, year=year, n=n)


POPULATION = ("N01951", "Invånare totalt: scale — a service for 10 000 is organised unlike one for 150 000; "
                        "taken as a logarithm, since 5 000 → 10 000 is as large a step as 50 000 → 100 000")
FOREIGN_BORN = ("N02926", "Utrikes födda, andel: language, newly arrived households and their needs of support")
UNEMPLOYED = ("N03920", "Arbetslösa 18–65 år, andel: the labour market the households depend on")
EDUCATED = ("N01724", "Högutbildade 25–64 år, andel: the socio-economic make-up behind incomes and health")

MODELS: dict[str, Model] = {
    "ifo": Model(title="invånare, utrikes födda, arbetslöshet, utbildning", log=("N01951",), why=(
        POPULATION, FOREIGN_BORN, UNEMPLOYED, EDUCATED)),
    "arbetsmarknad": Model(title="invånare, arbetslöshet, utrikes födda, utbildning", log=("N01951",), why=(
        POPULATION, UNEMPLOYED, FOREIGN_BORN, EDUCATED)),
    "aldreomsorg": Model(title="invånare, 80+, 65+, tätortsgrad, 65+ ensamboende", log=("N01951",), why=(
        POPULATION,
        ("N01813", "Invånare 80+, andel: the age at which most need home care or a place in a care home"),
        ("N01960", "Invånare 65+, andel: the coming demand, and the tax base that pays for it"),
        ("N00954", "Tätortsgrad: travel time between clients in home care, and the size of care homes"),
        ("N01717", "Invånare 65+ ensamboende, andel: who has no one at home when help is needed"))),
}


def model(name: str, where: str = "similar") -> Model:
    """The shipped model of that name; an unknown one is refused naming the nearest names."""
    key = name.strip().casefold().translate(str.maketrans("åäö", "aao"))
    if key in MODELS:
        return MODELS[key]
    near = difflib.get_close_matches(key, list(MODELS), n=3, cutoff=0.4)
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    raise SimilarError(f"{where}: no similar model is called {name!r}{hint} (models: {', '.join(MODELS)})")
