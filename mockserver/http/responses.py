"""The JSON response every handler answers with (serialized by orjson)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class JSONResponse(Response):
    """A JSON response serialized with orjson."""

    media_type = "application/json"
    #: The catalog id of the error this response renders (``X-Mock-Error-Id``), for the journal; None if none.
    error_id: str | None = None

    def render(self, content: Any) -> bytes:
        """Serialize ``content``."""
        return orjson.dumps(content)
