"""The server's webhook :class:`~mockserver.engine.webhooks.Sender`: the only use of httpx in the server."""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from mockserver.engine.webhooks import Outcome, Outgoing

#: Seconds one delivery attempt may take (connect, send, answer).
ATTEMPT_TIMEOUT = 5.0


class HttpxSender:
    """POSTs each batch over one short-lived httpx client: no redirects, no proxies from the environment."""

    async def send(self, batch: Sequence[Outgoing]) -> list[Outcome]:
        """POST each request in order; a transport error is an outcome, not an exception."""
        outcomes: list[Outcome] = []
        async with httpx.AsyncClient(timeout=ATTEMPT_TIMEOUT, follow_redirects=False, trust_env=False) as client:
            for request in batch:
                try:
                    response = await client.post(request.url, content=request.body, headers=dict(request.headers))
                    outcomes.append(Outcome(response.status_code))
                except httpx.HTTPError as exc:
                    outcomes.append(Outcome(None, f"{type(exc).__name__}: {exc}"))
        return outcomes
