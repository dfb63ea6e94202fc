"""bench/compare_identical: the check that a faster compare wrote the same documents must see a difference."""
from __future__ import annotations

import base64
import io
from pathlib import Path

from PIL import Image

from bench.compare_identical import differences


def _png(colour: str, level: int = 6, pixel: tuple[int, int] | None = None) -> bytes:
    image = Image.new("RGB", (30, 20), colour)
    if pixel is not None:
        image.putpixel(pixel, (0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=level)
    return buffer.getvalue()


def _folder(root: Path, chart: bytes, csv: str = "a,b\n1,2\n") -> Path:
    (root / "charts").mkdir(parents=True)
    (root / "charts" / "x.png").write_bytes(chart)
    (root / "benchmark.csv").write_text(csv, encoding="utf-8")
    data = base64.b64encode(chart).decode()
    (root / "report.html").write_text(f'<p>Text</p><img src="data:image/png;base64,{data}">', encoding="utf-8")
    return root


def test_the_same_pictures_compressed_otherwise_are_identical(tmp_path: Path) -> None:
    reference = _folder(tmp_path / "ref", _png("red", level=1))
    new = _folder(tmp_path / "new", _png("red", level=9))
    assert (reference / "charts" / "x.png").read_bytes() != (new / "charts" / "x.png").read_bytes()
    assert differences(reference, new) == []


def test_one_pixel_a_csv_byte_or_a_missing_file_is_a_difference(tmp_path: Path) -> None:
    reference = _folder(tmp_path / "ref", _png("red"))
    new = _folder(tmp_path / "new", _png("red", pixel=(3, 4)), csv="a,b\n1,3\n")
    (reference / "report.docx").write_bytes(b"")
    found = differences(reference, new)
    assert [line.split(":")[0] for line in found] == ["report.docx", "benchmark.csv", "charts/x.png", "report.html"]
    assert "1 pixels differ" in found[2]
