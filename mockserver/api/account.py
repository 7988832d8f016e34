"""Account: ``GET /api/v1/get-credits``, one ledger per key across every family."""

from __future__ import annotations

from starlette.responses import Response

from mockserver import service
from mockserver.http import Call, Handler, JSONResponse

FAMILY = "account"


async def get_credits(call: Call) -> Response:
    """The calling key's balance (after refunds that are due)."""
    state = call.state
    api_key = call.api_key()
    service.authenticate(state, FAMILY, api_key, state.clock.now())
    service.raise_forced(service.forced_error(state, call.op.operation_id, api_key, call.request.headers))
    account = service.balance(state, api_key)
    return JSONResponse({"credits": account.credits, "extra_credits": account.extra_credits})


def handlers() -> dict[str, Handler]:
    """The account handlers by operationId."""
    return {"getCredits": get_credits}
