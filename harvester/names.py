"""Match what a person typed (a municipality name, a KPI id) to Kolada's identifiers.

Pure functions over plain lists, shared by the online resolver and by `compare`, which works
offline from the stored `municipalities` table. Near matches are offered on every miss, because
the person who typed "Eskilstuna kommun" or "N3501" wants the fix, not just the refusal.
"""
from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Mapping

MUNICIPALITY_ID = re.compile(r"^\d{4}$")
RIKET = "0000"
GENDERS = ("T", "K", "M")  # total, kvinnor, män: Kolada's codes, and the dataset's for every source
MONTHS = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober",
          "november", "december")  # as documents name a monthly series' month


class NotFound(LookupError):
    """A name or id that Kolada does not know; the message carries suggestions."""


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFC", text).casefold().strip()
    return re.sub(r"\s+(kommun|stad|municipality)$", "", re.sub(r"\s+", " ", text))


def loose(text: str) -> str:
    """Case and diacritics folded away ("Östersund" → "ostersund"): what a person without å/ä/ö types."""
    decomposed = unicodedata.normalize("NFKD", str(text).casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def lookup(words: str, items: Iterable[Mapping[str, object]]) -> list[Mapping[str, object]]:
    """Items whose id is `words`, or whose title holds every word (case and å/ä/ö/é folded), by id.

    Kolada's own title search is exact about "ö"; this runs on the catalogue we already fetch.
    """
    rows = list(items)
    wanted = words.strip()
    by_id = [r for r in rows if str(r.get("id", "")).casefold() == wanted.casefold()]
    if by_id:
        return by_id
    parts = loose(wanted).split()
    hits = [r for r in rows if parts and all(p in loose(str(r.get("title", ""))) for p in parts)]
    return sorted(hits, key=lambda r: str(r.get("id")))


def match_municipality(text: str, municipalities: Iterable[Mapping[str, str]]) -> str:
    """Return the id for an id or an exact (case-insensitive) name; raise NotFound with suggestions."""
    rows = list(municipalities)
    wanted = text.strip()
    by_id = {str(m["id"]): m for m in rows}
    if MUNICIPALITY_ID.match(wanted):
        if wanted in by_id:
            return wanted
        raise NotFound(f"municipality id {wanted!r} is not in Kolada's list{suggest_ids(wanted, by_id)}")
    folded = _fold(wanted)
    hits = [m for m in rows if _fold(str(m["title"])) == folded]
    if len(hits) == 1:
        return str(hits[0]["id"])
    if len(hits) > 1:
        choices = ", ".join(f"{m['id']} {m['title']}" for m in hits)
        raise NotFound(f"municipality name {wanted!r} is ambiguous: {choices}; write the id instead")
    titles = {str(m["title"]): str(m["id"]) for m in rows}
    close = difflib.get_close_matches(wanted, list(titles), n=5, cutoff=0.6)
    close += [t for t in titles if folded and folded in _fold(t) and t not in close][: 5 - len(close)]
    hint = f"; did you mean {', '.join(f'{t} ({titles[t]})' for t in close)}?" if close else ""
    raise NotFound(f"no municipality is called {wanted!r} in Kolada{hint}")


def suggest_ids(wanted: str, known: Mapping[str, Mapping[str, object]]) -> str:
    """A '; did you mean …' tail listing the known ids closest to a mistyped one."""
    close = difflib.get_close_matches(wanted, list(known), n=5, cutoff=0.6)
    if not close:
        return ""
    return "; did you mean " + ", ".join(f"{i} ({known[i].get('title', '')})" for i in close) + "?"


def suggest_kpis(wanted: str, label: str, catalogue: Iterable[Mapping[str, object]], n: int = 5) -> list[Mapping[str, object]]:
    """KPIs closest to a missing id: by the indicator's label (a title search) and by the id itself."""
    scored = []
    label_f = _fold(label)
    for kpi in catalogue:
        title_score = difflib.SequenceMatcher(None, label_f, _fold(str(kpi.get("title", "")))).ratio() if label_f else 0.0
        id_score = difflib.SequenceMatcher(None, wanted, str(kpi.get("id", ""))).ratio()
        scored.append((max(title_score, id_score * 0.9), str(kpi.get("id")), kpi))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [kpi for score, _, kpi in scored[:n] if score >= 0.5]
