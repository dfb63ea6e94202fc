"""Whether an API URL can be asked at all: checked when the config or the command line names it.

`urlsplit` accepts `http://host:99999`, `http://ho st` and a 300-character label, and raises on
`http://[::1`; each of those then failed deep in requests (retried for seconds, or a traceback). A URL
refused here is a config error (exit 2) before anything is created.
"""
from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
MAX_HOST = 253


def url_problem(url: str) -> str | None:
    """What is wrong with `url` as an http(s) API URL, or None when it can be asked."""
    try:
        parts = urlsplit(url)
        port, host = parts.port, parts.hostname  # .port raises on ':abc' and on 99999
    except ValueError as exc:
        return str(exc)
    if parts.scheme not in ("http", "https") or not host:
        return "it needs http:// or https:// and a host name"
    if port == 0:
        return "port 0 is no port"
    if ":" in host:  # an IPv6 literal in brackets
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return f"{host!r} is not an IPv6 address"
        return None
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return f"the host name {host[:80]!r} is not a valid name (each part at most 63 letters, digits or -)"
    labels = ascii_host.rstrip(".").split(".")
    if len(ascii_host) > MAX_HOST or not all(_LABEL.fullmatch(label) for label in labels):
        return f"the host name {host[:80]!r} is not a valid name (each part at most 63 letters, digits or -)"
    return None
