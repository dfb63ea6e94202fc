"""Whether two compare output folders hold the same documents: `python -m bench.compare_identical REF NEW`.

A change that makes `harvester compare` faster must not change what it writes. PNG bytes may
differ (zlib settings, metadata) while the picture is the same, so charts are compared by their
decoded pixels, wherever they are: `charts/*.png`, the pictures inside report.docx and the ones
inlined in the HTML. Everything else is compared as text or values:

- csv, md, svg: the bytes;
- html: the bytes, with every inlined PNG replaced by a digest of its pixels;
- docx, xlsx: the text (paragraphs and table cells; every sheet's cell values), then every XML part
  byte for byte (the formatting), apart from docProps/core.xml, which holds the time it was written;
- parquet: the tables' values and schema.

Exit 0 when every file is the same, 1 otherwise (each difference printed). The dataset under the
folders (values/, the metadata tables, runs) is not a document and is not compared.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import io
import re
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from PIL import Image

DOCUMENTS = ("benchmark.csv", "benchmark.parquet", "peers.parquet", "robustness.parquet", "report.docx",
             "report.html", "tables", "charts")
INLINE_PNG = re.compile(rb"data:image/png;base64,([A-Za-z0-9+/=]+)")
STAMPED = {"docProps/core.xml"}


def pixels(png: bytes) -> np.ndarray:
    """The decoded picture: its mode and size are part of the array's shape and values."""
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGBA"))


def pixel_digest(png: bytes) -> bytes:
    array = pixels(png)
    return hashlib.sha256(repr(array.shape).encode() + array.tobytes()).hexdigest().encode()


def same_png(a: bytes, b: bytes) -> str | None:
    pa, pb = pixels(a), pixels(b)
    if pa.shape != pb.shape:
        return f"size {pa.shape} against {pb.shape}"
    differ = np.any(pa != pb, axis=-1)
    return f"{int(differ.sum())} pixels differ" if differ.any() else None


def same_bytes(a: bytes, b: bytes) -> str | None:
    if a == b:
        return None
    at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return f"bytes differ from offset {at}: {a[max(0, at - 60):at + 60]!r} against {b[max(0, at - 60):at + 60]!r}"


def same_html(a: bytes, b: bytes) -> str | None:
    def digested(html: bytes) -> bytes:
        return INLINE_PNG.sub(lambda m: b"png-pixels:" + pixel_digest(base64.b64decode(m.group(1))), html)
    return same_bytes(digested(a), digested(b))


def _zip_parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _same_parts(a: bytes, b: bytes) -> str | None:
    """Every part of two Office files: pictures by pixels, the time stamp skipped, the rest by bytes."""
    pa, pb = _zip_parts(a), _zip_parts(b)
    if sorted(pa) != sorted(pb):
        return f"parts {sorted(set(pa) ^ set(pb))} in one only"
    for name in sorted(pa):
        if name in STAMPED:
            continue
        check = same_png if name.endswith(".png") else same_bytes
        problem = check(pa[name], pb[name])
        if problem:
            return f"{name}: {problem}"
    return None


def docx_text(data: bytes) -> list[str]:
    """Every paragraph's text, tables' cells included, in document order."""
    from docx import Document

    body = Document(io.BytesIO(data)).element.body
    ns = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    return ["".join(t.text or "" for t in p.iter(f"{ns}t")) for p in body.iter(f"{ns}p")]


def xlsx_values(data: bytes) -> list[tuple[str, int, int, object]]:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data), read_only=True)
    return [(sheet.title, i, j, value) for sheet in book.worksheets
            for i, row in enumerate(sheet.iter_rows(values_only=True)) for j, value in enumerate(row)]


def _first_difference(a: list, b: list) -> str | None:  # type: ignore[type-arg]
    if a == b:
        return None
    at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return f"item {at} of {len(a)}/{len(b)}: {a[at] if at < len(a) else None!r} against {b[at] if at < len(b) else None!r}"


def same_docx(a: bytes, b: bytes) -> str | None:
    problem = _first_difference(docx_text(a), docx_text(b))
    return f"text: {problem}" if problem else _same_parts(a, b)


def same_xlsx(a: bytes, b: bytes) -> str | None:
    problem = _first_difference(xlsx_values(a), xlsx_values(b))
    return f"cell values: {problem}" if problem else _same_parts(a, b)


def same_parquet(a: bytes, b: bytes) -> str | None:
    ta, tb = pq.read_table(io.BytesIO(a)), pq.read_table(io.BytesIO(b))
    if not ta.schema.equals(tb.schema):
        return f"schema {ta.schema} against {tb.schema}"
    return None if ta.equals(tb) else "values differ"


CHECKS: dict[str, Callable[[bytes, bytes], str | None]] = {
    ".png": same_png, ".html": same_html, ".docx": same_docx, ".xlsx": same_xlsx, ".parquet": same_parquet}


def documents(root: Path) -> Iterator[str]:
    for name in DOCUMENTS:
        path = root / name
        if path.is_dir():
            yield from (str(p.relative_to(root)) for p in sorted(path.rglob("*")) if p.is_file())
        elif path.is_file():
            yield name


def differences(reference: Path, new: Path) -> list[str]:
    """One line per document that is missing from either folder or differs."""
    ref, got = set(documents(reference)), set(documents(new))
    found = [f"{name}: only in {reference}" for name in sorted(ref - got)]
    found += [f"{name}: only in {new}" for name in sorted(got - ref)]
    for name in sorted(ref & got):
        check = CHECKS.get(Path(name).suffix, same_bytes)
        problem = check((reference / name).read_bytes(), (new / name).read_bytes())
        if problem:
            found.append(f"{name}: {problem}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference", type=Path)
    parser.add_argument("new", type=Path)
    args = parser.parse_args(argv)
    found = differences(args.reference, args.new)
    print("\n".join(found) or f"identical: {len(set(documents(args.reference)))} documents")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
