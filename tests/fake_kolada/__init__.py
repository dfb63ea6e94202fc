"""A local fake of the Kolada v3 API serving real or hand-made data, with faults on demand."""

from .data import KoladaData, require_shared, shared_path
from .server import FakeKolada, LoggedRequest

__all__ = ["FakeKolada", "KoladaData", "LoggedRequest", "require_shared", "shared_path"]
