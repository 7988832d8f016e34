"""Prism's conventions for asking a mock for a documented answer: ``Prefer: example=<name>`` and the
query forms ``?__example=<name>`` and ``?__code=<status>``.

An example is answered as the spec writes it (like Prism): the named example of the operation's
responses, with that response's status, touching no state and spending no credits. ``code=`` alongside
picks among responses of that status. An unknown name is a 400 naming the ones there are. The query
form ``__code`` is Prism's ``Prefer: code=`` and goes through the same error triggers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mockserver.catalog import CATALOG
from mockserver.errors import MockError
from mockserver.spec import Operation

_EXAMPLE = re.compile(r"(?:^|[;,\s])example=([^\s;,]+)")
_CODE = re.compile(r"(?:^|[;,\s])code=(\d{3})\b")
#: The header that names the example an answer is.
EXAMPLE_HEADER = "x-mock-example"


def wanted(prefer: str | None, query: Mapping[str, str]) -> tuple[str, int | None] | None:
    """The example asked for (its name, and the status to pick it from), from ``Prefer`` or the query."""
    name = query.get("__example")
    code = query.get("__code")
    if name and code is not None:
        prefer_code(query)  # the same 400 for a __code that is not a status
    if prefer:
        match = _EXAMPLE.search(prefer)
        name = name or (match.group(1).strip('"') if match else None)
        code_match = _CODE.search(prefer)
        code = code or (code_match.group(1) if code_match else None)
    if not name:
        return None
    return name, int(code) if code and code.isdigit() else None


def prefer_code(query: Mapping[str, str]) -> str | None:
    """``?__code=NNN`` as the ``Prefer`` value it stands for; a 400 unless NNN is a status."""
    code = query.get("__code")
    if code is None:
        return None
    if not re.fullmatch(r"[1-5][0-9]{2}", code):
        raise MockError(CATALOG["request.bad_scenario"], f"__code: an HTTP status (100-599), not {code!r}")
    return f"code={code}"


def example(op: Operation, name: str, status: int | None) -> tuple[int, Any]:
    """The status and body of ``op``'s response example ``name`` (among responses of ``status`` if given)."""
    found: dict[str, tuple[int, Any]] = {}
    for code, response in op.raw.get("responses", {}).items():
        if not str(code).isdigit() or (status is not None and int(code) != status):
            continue
        for media in (response.get("content") or {}).values():
            for key, value in (media.get("examples") or {}).items():
                if isinstance(value, Mapping) and "value" in value:
                    found.setdefault(key, (int(code), value["value"]))
    if name in found:
        return found[name]
    where = f" with status {status}" if status is not None else ""
    names = ", ".join(sorted(found)) or "none"
    raise MockError(
        CATALOG["request.bad_scenario"],
        f"{op.operation_id} has no response example {name!r}{where} (examples: {names})",
    )
