"""Where a URL a client hands the mock points: the public internet, this machine, or a private network.

The mock never fetches a public URL (it stays offline) and never reaches into a private network; a URL on
this machine is what an offline test serves its own fixtures on.
"""

from __future__ import annotations

import ipaddress
from typing import Literal
from urllib.parse import urlsplit

Reach = Literal["public", "loopback", "private"]


def reach(url: str) -> Reach:
    """``public`` (http(s) on a public host), ``loopback`` (localhost, 127.0.0.0/8, ::1) or ``private`` (the rest)."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return "private"
    if parts.scheme not in ("http", "https") or not host:
        return "private"
    if host == "localhost" or host.endswith(".localhost"):
        return "loopback"
    if host.endswith((".local", ".internal")):
        return "private"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "public" if "." in host else "private"
    if address.is_loopback:
        return "loopback"
    return "public" if address.is_global else "private"
