"""What the mock sends out: webhook deliveries, and the probe of an upload URL served on this machine.

The engine and the families speak to the outside only through these; the server's implementations
(httpx) live in ``mockserver.http``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from mockserver.engine.webhooks import Dispatcher


class AudioProbe(Protocol):
    """Asks whether a URL on 127.0.0.1 serves audio, as the vendor probes an upload URL (``HEAD``)."""

    async def serves_audio(self, url: str, timeout: float) -> bool:
        """Whether ``url`` answers a ``HEAD`` with 2xx and an audio content type within ``timeout`` seconds."""


@dataclass(frozen=True, slots=True)
class Outbound:
    """The mock's ways out: its webhook dispatcher and its upload-URL probe."""

    webhooks: Dispatcher
    probe: AudioProbe
