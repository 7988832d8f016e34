"""The vendor's check of an upload URL, shared by the families that take uploads (Sonic, Producer)."""

from __future__ import annotations

from mockserver.catalog import CATALOG
from mockserver.engine.outbound import AudioProbe
from mockserver.engine.urls import reach
from mockserver.errors import MockError


async def check_upload_url(probe: AudioProbe, url: str, timeout: float, error_id: str) -> None:
    """Accept a public URL unfetched (the mock stays offline); probe one on this machine; refuse the rest.

    A URL on 127.0.0.1 is what an offline test serves its own fixture on: it is probed the way the vendor
    probes (``HEAD``, short timeout) and accepted when it answers with audio. A private-network URL is
    refused, as the vendor's probe would fail on it.
    """
    where = reach(url)
    if where == "public":
        return
    if where == "loopback" and await probe.serves_audio(url, timeout):
        return
    raise MockError(CATALOG[error_id])
