"""Request logging: one line per request, as text or JSON lines, or nothing (for speed).

uvicorn's own access log costs about a third of the throughput; this one is off in the library and the
benchmark, and when on it writes one pre-formatted line per request.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TextIO

import orjson

from mockserver.clock import format_instant

#: Writes one request's record (method, path, status, ms, …) as a log line.
RequestLog = Callable[[dict[str, Any]], None]
FORMATS = ("off", "text", "json")


def request_logger(fmt: str, stream: TextIO | None = None) -> RequestLog | None:
    """A writer of request records in ``fmt`` (``off`` gives None)."""
    out = stream or sys.stdout
    if fmt == "off":
        return None
    if fmt == "json":

        def write_json(record: dict[str, Any]) -> None:
            line = {"log": "request", **record, "instant": format_instant(record["instant"])}
            out.write(orjson.dumps(line).decode() + "\n")
            out.flush()

        return write_json
    if fmt != "text":
        raise ValueError(f"request log format must be one of {', '.join(FORMATS)}, not {fmt!r}")

    def write_text(record: dict[str, Any]) -> None:
        error = f" error={record['error_id']}" if record.get("error_id") else ""
        key = record.get("api_key") or "-"
        out.write(
            f"{format_instant(record['instant'])} {record['status']} {record['method']} {record['path']} "
            f"key={key}{error} {record['ms']:.1f}ms\n"
        )
        out.flush()

    return write_text
