"""Studio: documented as unavailable; it answers so, whoever asks."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

from mockserver.catalog import CATALOG
from mockserver.engine.context import Context
from mockserver.engine.outbound import Outbound
from mockserver.errors import MockError
from mockserver.families.entry import FamilyEntry
from mockserver.http.call import Call, Handler
from mockserver.spec import ApiSpec


async def unavailable(call: Call) -> Response:
    """Every Studio call: 503, as documented."""
    raise MockError(CATALOG["studio.unavailable"])


def register(spec: ApiSpec) -> FamilyEntry:
    """Studio's registry entry."""

    def handlers(ctx: Context, outbound: Outbound) -> Mapping[str, Handler]:
        return {"studioCreate": unavailable, "studioGetTask": unavailable}

    return FamilyEntry("studio", "general", handlers)
