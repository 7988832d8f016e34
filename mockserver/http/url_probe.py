"""The upload-URL probe: a ``HEAD`` to a loopback URL (what an offline test serves its own audio fixture on).

Only loopback addresses are ever contacted (the families decide which URLs to probe; this refuses anything
else again), with no redirects and no proxies from the environment.
"""

from __future__ import annotations

import httpx

from mockserver.engine.urls import reach

#: Content types an audio file is served with (besides ``audio/*``).
AUDIO_TYPES = frozenset({"application/ogg", "application/octet-stream", "video/mp4"})


class HttpxProbe:
    """Probes with httpx: ``HEAD``, a short timeout, loopback only."""

    async def serves_audio(self, url: str, timeout: float) -> bool:
        """Whether ``url`` answers with 2xx and an audio content type."""
        if reach(url) != "loopback":
            return False
        try:
            async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False) as client:
                response = await client.head(url)
        except (httpx.HTTPError, ValueError):
            return False
        media = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        return response.is_success and (media.startswith("audio/") or media in AUDIO_TYPES)
