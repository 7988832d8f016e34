"""The server's webhook :class:`~mockserver.engine.webhooks.Sender`: the only use of httpx in the server.

Deliveries of one batch go out concurrently, at most :data:`CONCURRENCY` at a time, each bounded by
:data:`ATTEMPT_TIMEOUT`: ten receivers that never answer cost one timeout, not ten in a row.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx

from mockserver.engine.webhooks import Outcome, Outgoing

#: Seconds one delivery attempt may take (connect, send, answer).
ATTEMPT_TIMEOUT = 5.0
#: Deliveries in flight at once.
CONCURRENCY = 16


class HttpxSender:
    """POSTs each batch over one short-lived httpx client: no redirects, no proxies from the environment."""

    async def send(self, batch: Sequence[Outgoing]) -> list[Outcome]:
        """POST every request (concurrently, bounded); a failure of any kind is an outcome, not an exception."""
        if not batch:
            return []
        gate = asyncio.Semaphore(CONCURRENCY)
        async with httpx.AsyncClient(timeout=ATTEMPT_TIMEOUT, follow_redirects=False, trust_env=False) as client:

            async def one(request: Outgoing) -> Outcome:
                async with gate:
                    try:
                        response = await asyncio.wait_for(
                            client.post(request.url, content=request.body, headers=dict(request.headers)),
                            ATTEMPT_TIMEOUT,
                        )
                    except TimeoutError:
                        return Outcome(None, f"no answer within {ATTEMPT_TIMEOUT:g} s")
                    except httpx.TimeoutException as exc:
                        return Outcome(None, f"no answer within {ATTEMPT_TIMEOUT:g} s ({type(exc).__name__})")
                    except httpx.HTTPError as exc:  # the class says which: refused, reset, a broken answer
                        return Outcome(None, f"no answer: {type(exc).__name__}")
                    except Exception as exc:  # a URL httpx refuses: the dispatcher must go on
                        return Outcome(None, f"not sent: {type(exc).__name__}")
                    return Outcome(response.status_code)

            return list(await asyncio.gather(*(one(request) for request in batch)))
