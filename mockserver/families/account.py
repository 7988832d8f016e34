"""Account: ``GET /api/v1/get-credits``, one ledger per key across every family."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

from mockserver.catalog import family_errors
from mockserver.engine.accounts import balance
from mockserver.engine.context import Context
from mockserver.engine.outbound import Outbound
from mockserver.families.entry import FamilyEntry
from mockserver.http.call import Call, Handler
from mockserver.http.responses import JSONResponse
from mockserver.spec import ApiSpec

ERRORS = family_errors("account")


def register(spec: ApiSpec) -> FamilyEntry:
    """The account family's registry entry."""

    def handlers(ctx: Context, outbound: Outbound) -> Mapping[str, Handler]:
        async def get_credits(call: Call) -> Response:
            """The calling key's balance (after refunds that are due)."""
            begun = await call.begin(ERRORS, billable=False)
            account = balance(ctx, begun.api_key)
            return JSONResponse({"credits": account.credits, "extra_credits": account.extra_credits})

        return {"getCredits": get_credits}

    return FamilyEntry("account", "general", handlers)
