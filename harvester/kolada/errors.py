"""What can go wrong when talking to Kolada, sorted by what the caller should do about it."""
from __future__ import annotations


class KoladaError(Exception):
    """Kolada could not give us the data; the message names the URL."""

    def __init__(self, message: str, url: str | None = None) -> None:
        super().__init__(f"{message} ({url})" if url else message)
        self.url = url


class UpstreamUnavailable(KoladaError):
    """Kolada kept failing (outage, 5xx, 429, timeouts, broken bodies) until the retry budget ran out."""


class RequestRefused(KoladaError):
    """Kolada answered 4xx: our request was wrong, so retrying cannot help."""


class BadResponse(KoladaError):
    """A body that is not the documented envelope, or a page loop: never treated as data."""


class TransientError(KoladaError):
    """A failure worth another try (internal to the retry loop)."""

    def __init__(self, message: str, url: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, url)
        self.retry_after = retry_after
