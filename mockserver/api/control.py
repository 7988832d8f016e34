"""The control plane under ``/_mock/``: reset, clock."""

from __future__ import annotations

from starlette.responses import Response

from mockserver.clock import ClockError
from mockserver.config import format_instant
from mockserver.errors import CATALOG, MockError
from mockserver.http import Call, Handler, JSONResponse


def _clock_body(call: Call) -> dict[str, object]:
    clock = call.state.clock
    now = clock.now()
    return {"now": format_instant(now), "epoch": now, "mode": clock.mode, "profile": call.state.config.clock}


async def reset(call: Call) -> Response:
    """Forget all state."""
    call.state.reset()
    return JSONResponse({"ok": True})


async def get_clock(call: Call) -> Response:
    """The virtual clock."""
    return JSONResponse(_clock_body(call))


async def advance_clock(call: Call) -> Response:
    """Move the virtual clock forward."""
    body, _ = await call.body()
    try:
        call.state.clock.advance(float(body["seconds"]))
    except ClockError as exc:
        raise MockError(CATALOG["request.validation"], str(exc)) from None
    return JSONResponse(_clock_body(call))


def handlers() -> dict[str, Handler]:
    """The control-plane handlers by operationId."""
    return {"mockReset": reset, "mockGetClock": get_clock, "mockAdvanceClock": advance_clock}
