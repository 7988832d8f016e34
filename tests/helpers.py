"""Helpers shared by the test layers: the test key, clock moves, spec checks, the store under test."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from mockserver.testing import MockServer, store_under_test

KEY = "sk_test_key"
ServerFactory = Callable[..., MockServer]
#: The store every server of this run uses: ``MUSICAPI_MOCK_TEST_STORE=sqlite`` (``postgresql``) runs the
#: same suite on the SQLite (PostgreSQL) store, each server with a state of its own; the default is memory.
STORE = store_under_test()


def cli_state_args(directory: Path) -> list[str]:
    """``--state FILE`` (a new database) for a ``musicapi-mock serve`` subprocess when the run exercises
    SQLite (PostgreSQL)."""
    if STORE == "postgresql":
        from mockserver.testing import cluster_for_tests

        return ["--state", cluster_for_tests().create_database()]
    return ["--state", str(directory / "cli-state.sqlite3")] if STORE == "sqlite" else []


def advance(client: httpx.Client, seconds: float) -> None:
    """Move the server's virtual clock forward through the control plane."""
    client.post("/_mock/clock/advance", json={"seconds": seconds}).raise_for_status()


def audio_seconds(content: bytes) -> float:
    """How long an audio file (any format FFmpeg reads: WAV, MP3, M4A, MP4) plays, decoded with PyAV."""
    import io

    import av

    with av.open(io.BytesIO(content), mode="r") as container:
        stream = container.streams.audio[0]
        samples = 0
        for frame in container.decode(stream):
            samples += frame.samples
        return samples / float(stream.rate or 1)


def assert_matches_spec(operation_id: str, status: int, body: object) -> None:
    """The body is valid against the operation's response schema for ``status`` in openapi/."""
    import jsonschema

    from mockserver.spec import ApiSpec, to_json_schema

    spec = _spec_cache.get("spec")
    if not isinstance(spec, ApiSpec):
        spec = _spec_cache["spec"] = ApiSpec.load()
    schema = to_json_schema(spec.response_schema(operation_id, status))
    errors = [e.message for e in jsonschema.Draft4Validator(schema).iter_errors(body)]
    assert not errors, f"{operation_id} {status}: {errors[:3]}"


_spec_cache: dict[str, object] = {}
