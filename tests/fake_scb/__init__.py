"""A local fake of SCB's PxWebApi 2.0: recorded metadata, real population, synthetic values, faults on demand."""

from .data import ScbData, require_shared, shared_path
from .server import FakeScb, LoggedRequest

__all__ = ["FakeScb", "LoggedRequest", "ScbData", "require_shared", "shared_path"]
