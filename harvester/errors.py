"""What can go wrong when talking to a data source, sorted by what the caller should do about it.

Shared by every source (Kolada, SCB): the harvest decides "retry, skip this batch, or stop" from
the class alone, and the command line maps each class to one exit code. The author's own mistakes
(`ConfigError`) live here too, so a pure module below the config (the similarity method) can name
them without importing the config.
"""
from __future__ import annotations


class ConfigError(ValueError):
    """A configuration problem, worded for the person who edits the file."""


class SourceError(Exception):
    """A source could not give us the data; the message names the URL."""

    def __init__(self, message: str, url: str | None = None) -> None:
        super().__init__(f"{message} ({url})" if url else message)
        self.url = url


class UpstreamUnavailable(SourceError):
    """The source kept failing (outage, 5xx, 429, timeouts, broken bodies) until the retry budget ran out."""


class Unreachable(UpstreamUnavailable):
    """The host does not resolve or refuses connections: a wrong URL or no network, not a busy server."""


class RequestRefused(SourceError):
    """The source answered 4xx (or redirected us elsewhere): our request was wrong, so retrying cannot help.

    `status` and `title` (problem+json's, or None) let a source tell "no such table" from "too many cells".
    """

    def __init__(self, message: str, url: str | None = None, status: int | None = None,
                 title: str | None = None) -> None:
        super().__init__(message, url)
        self.status = status
        self.title = title


class BadResponse(SourceError):
    """A body that is not the documented shape, or a runaway listing: never treated as data."""


class TransientError(SourceError):
    """A failure worth another try (internal to the retry loop).

    `unreachable` marks a refused connection or a name that does not resolve: those get a short
    retry budget of their own, since waiting minutes for a typo helps nobody.
    """

    def __init__(self, message: str, url: str | None = None, retry_after: float | None = None,
                 unreachable: bool = False) -> None:
        super().__init__(message, url)
        self.retry_after = retry_after
        self.unreachable = unreachable
