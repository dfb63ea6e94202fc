"""harvester: Kolada KPI series for a municipality and its peers, as Parquet and as plan-ready tables."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("harvester")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+source"
