"""The cases of the audit's hand-crafted bad input (reliability-audit.md §2), as exact request bytes.

The cases are those of ``reliability-scripts/badinput.py`` (449 of them), against a manual-clock mock with
Nuro in legacy mode and a finished Nuro task. Each must answer one of the statuses the case allows, in
time, never with a 5xx (but the deliberate ``Prefer: code=500``) or a traceback, and every 4xx/5xx in
the API's JSON error format with the catalog id in ``X-Mock-Error-Id`` (a 416 and a HEAD have no body).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from mockserver.http.protocol import MAX_URL_BYTES

TASK = "@@TASK@@"  # the finished Nuro task's id, put in at run time
Request = bytes | Callable[[], bytes]
CASES: list[tuple[str, Request, tuple[int, ...], float]] = []


def case(name: str, request: Request, expect: tuple[int, ...], timeout: float = 10.0) -> None:
    """One bad input: the request (or how to build a big one), the statuses allowed, the time allowed."""
    CASES.append((name, request, expect, timeout))


def req(
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    ctype: str | None = "application/json",
    auth: str | None = "Bearer sk_bad",
    extra: bytes = b"",
) -> bytes:
    """The exact bytes of one HTTP/1.1 request (``Connection: close``; Content-Length unless given)."""
    hs = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    if auth is not None:
        hs.append(f"Authorization: {auth}")
    if ctype is not None:
        hs.append(f"Content-Type: {ctype}")
    for k, v in (headers or {}).items():
        hs.append(f"{k}: {v}")
    if body is not None and not any(k.lower() in ("content-length", "transfer-encoding") for k in (headers or {})):
        hs.append(f"Content-Length: {len(body)}")
    text = "\r\n".join(hs) + "\r\n\r\n"
    head = text.encode("utf-8") if any(ord(ch) > 255 for ch in text) else text.encode("latin-1")
    return head + (body or b"") + extra


def post(path: str, body: bytes, **kw: Any) -> bytes:
    return req("POST", path, body, **kw)


def j(o: Any) -> bytes:
    return json.dumps(o).encode()


def target(path: str, expect: tuple[int, ...]) -> tuple[int, ...]:
    """What a request for ``path`` may answer: ``expect``, or 414 alone past the mock's target limit."""
    return (414,) if len(path) > MAX_URL_BYTES else expect


def big_header(size: int) -> Callable[[], bytes]:
    """A credits request with one ``size``-byte header, built when it is sent."""
    return lambda: req("GET", "/api/v1/get-credits", headers={"X-Big": "a" * size}, ctype=None)


def chunked(data: bytes, size: int = 65536) -> bytes:
    out = b""
    for i in range(0, len(data), size):
        c = data[i : i + size]
        out += f"{len(c):x}\r\n".encode() + c + b"\r\n"
    return out + b"0\r\n\r\n"


PRODUCT_POSTS = [
    "/api/v1/nuro/create",
    "/api/v1/sonic/create",
    "/api/v1/sonic/upload",
    "/api/v1/sonic/persona",
    "/api/v1/sonic/lyrics",
    "/api/v1/producer/create",
]
CONTROL_POSTS = [
    ("POST", "/_mock/clock/advance"),
    ("PUT", "/_mock/keys/sk_x"),
    ("POST", "/_mock/faults"),
    ("POST", f"/_mock/tasks/{TASK}/fail"),
]
ALL_POSTS = [("POST", p) for p in PRODUCT_POSTS] + CONTROL_POSTS

BODIES = {
    'malformed {"a":': b'{"a":',
    "single quotes": b"{'a': 1}",
    "trailing garbage": b"{} x",
    "invalid utf-8": b'{"description": "\xff\xfe"}',
    "array []": b"[]",
    "array [1,2]": b"[1,2]",
    "number 1": b"1",
    "string": b'"s"',
    "null": b"null",
    "true": b"true",
    "NaN token": b'{"duration": NaN}',
    "Infinity token": b'{"duration": Infinity}',
    "1e309": b'{"duration": 1e309}',
    "lone surrogate": b'{"description": "\\ud800"}',
    "BOM + {}": b"\xef\xbb\xbf{}",
    "utf-16 body": '{"a":1}'.encode("utf-16"),
    "whitespace only": b"   \n ",
    "deep [ 100k": b"[" * 100_000 + b"]" * 100_000,
    'deep {"a": 100k': b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
}
for method, path in ALL_POSTS:
    for name, body in BODIES.items():
        case(f"{method} {path} {name}", req(method, path, body), expect=(400, 413, 415, 422))

# schema-valid shape but nasty values, per family
NASTY = {
    "nuro depth-1000 in field": (b'{"type":"bgm","description":' + b"[" * 1000 + b"]" * 1000 + b"}"),
    "nuro depth-1020 in field": (b'{"type":"bgm","description":' + b"[" * 1020 + b"]" * 1020 + b"}"),
    "nuro depth-1000 obj field": (b'{"type":"bgm","description":' + b'{"a":' * 1000 + b"1" + b"}" * 1000 + b"}"),
    "nuro extra key depth-1000": (b'{"type":"bgm","description":"x","zz":' + b"[" * 1000 + b"]" * 1000 + b"}"),
    "nuro 900KB description": j({"type": "bgm", "description": "a" * 900_000}),
    "nuro duration 1e308": j({"type": "bgm", "description": "calm", "duration": 1e308}),
    "nuro duration -0": b'{"type":"bgm","description":"calm","duration":-0}',
    "nuro duration -0.0": b'{"type":"bgm","description":"calm","duration":-0.0}',
    "nuro duration 2**64": b'{"type":"bgm","description":"calm","duration":18446744073709551616}',
    "nuro duration 1e-320": b'{"type":"bgm","description":"calm","duration":1e-320}',
    "nuro NUL in description": j({"type": "bgm", "description": "calm\u0000piano"}),
    "nuro dup key type": b'{"type":"vocal","type":"bgm","description":"calm"}',
    "nuro lyrics emoji/RTL/ZWJ": j({"type": "vocal", "lyrics": "[Verse] la \u202e\u200d\U0001f600 la"}),
    "nuro lyrics U+FFFF U+10FFFF": j({"type": "vocal", "lyrics": "[Verse] la \uffff\U0010ffff"}),
    "sonic prompt NUL": j({"custom_mode": True, "prompt": "a\u0000b", "tags": "pop", "title": "t", "mv": "sonic-v4-5"}),
    "sonic 900KB prompt": j(
        {"custom_mode": True, "prompt": "a" * 900_000, "tags": "pop", "title": "t", "mv": "sonic-v4-5"}
    ),
    "sonic webhook_url 100KB": j(
        {"custom_mode": False, "gpt_description_prompt": "calm", "webhook_url": "http://127.0.0.1/" + "a" * 100_000}
    ),
    "sonic webhook_url NUL": j(
        {"custom_mode": False, "gpt_description_prompt": "calm", "webhook_url": "http://127.0.0.1:1/\u0000"}
    ),
    "sonic webhook_url not a url": j({"custom_mode": False, "gpt_description_prompt": "calm", "webhook_url": "::::"}),
    "sonic continue_clip_id huge": j(
        {"task_type": "extend_music", "continue_clip_id": "x" * 500_000, "continue_at": 10}
    ),
    "sonic continue_at 1e308": j({"task_type": "extend_music", "continue_clip_id": "x", "continue_at": 1e308}),
    "upload url 500KB": j({"url": "https://example.com/" + "a" * 500_000}),
    "upload url NUL host": j({"url": "https://exa\u0000mple.com/a.mp3"}),
    "upload url [bad ipv6": j({"url": "https://[::1/a.mp3"}),
    "upload url port 99999": j({"url": "https://example.com:99999/a.mp3"}),
    "producer sound NUL": j({"task_type": "create_music", "sound": "lo\u0000fi"}),
    "producer strength 1e308": j({"task_type": "cover_music", "clip_id": "x", "strength": 1e308}),
}
paths = {
    "nuro": "/api/v1/nuro/create",
    "sonic": "/api/v1/sonic/create",
    "upload": "/api/v1/sonic/upload",
    "producer": "/api/v1/producer/create",
}
for name, body in NASTY.items():
    case(name, post(paths[name.split()[0]], body), expect=(200, 400, 404, 413))

# control plane nasty values
CTRL = [
    ("PUT", "/_mock/keys/sk_big", {"credits": 18446744073709551615}),
    ("PUT", "/_mock/keys/sk_big2", {"credits": 9223372036854775808}),
    ("PUT", "/_mock/keys/sk_big3", {"credits": 9223372036854775807, "extra_credits": 9223372036854775807}),
    ("PUT", "/_mock/keys/sk_bigf", {"credits": 1e300}),
    ("PUT", "/_mock/keys/sk_exp0", {"expires_at": "0001-01-01T00:00:00+01:00"}),
    ("PUT", "/_mock/keys/sk_exp9", {"expires_at": "9999-12-31T23:59:59-01:00"}),
    ("PUT", "/_mock/keys/sk_expbad", {"expires_at": "not a date"}),
    ("PUT", "/_mock/keys/sk_qps", {"qps": 1e308}),
    ("PUT", "/_mock/keys/sk_qpst", {"qps": 5e-324}),
    ("PUT", "/_mock/keys/sk_cap", {"queue_capacity": 1e300}),
    ("PUT", "/_mock/keys/sk_unknown", {"bogus_field": 1}),
    ("POST", "/_mock/clock/advance", {"seconds": 315360000}),
    ("POST", "/_mock/clock/advance", {"seconds": 1e-320}),
    ("POST", "/_mock/faults", {"operation": "nuroCreate", "error": "no.such.error", "times": 1}),
    ("POST", "/_mock/faults", {"operation": "nuroCreate", "error": "nuro.api_error", "times": 1e300}),
    ("POST", f"/_mock/tasks/{TASK}/fail", {"error": "nuro.algorithm_error", "at_progress": 99}),
]
for method, path, obj in CTRL:
    case(f"{method} {path} {json.dumps(obj)[:50]}", req(method, path, j(obj)), expect=(200, 400, 404, 409))
for key in ["sk_big", "sk_big2", "sk_big3", "sk_bigf", "sk_exp0", "sk_exp9", "sk_qpst"]:
    case(f"GET /_mock/keys/{key} afterwards", req("GET", f"/_mock/keys/{key}", ctype=None), expect=(200,))
    case(
        f"get-credits as {key} afterwards",
        req("GET", "/api/v1/get-credits", ctype=None, auth=f"Bearer {key}"),
        expect=(200, 401, 403),
    )
    case(
        f"nuro create as {key}",
        post("/api/v1/nuro/create", j({"type": "bgm", "description": "calm"}), auth=f"Bearer {key}"),
        expect=(200, 401, 403),
    )
case("GET /_mock/ledger afterwards", req("GET", "/_mock/ledger", ctype=None), expect=(200,))
case("GET /_mock/keys afterwards", req("GET", "/_mock/keys", ctype=None), expect=(200,))
case("GET /_mock/clock afterwards", req("GET", "/_mock/clock", ctype=None), expect=(200,))
case("GET /_mock/requests?limit=abc", req("GET", "/_mock/requests?limit=abc", ctype=None), expect=(400,))
case(
    "GET /_mock/requests?limit=99999999999999999999",
    req("GET", "/_mock/requests?limit=99999999999999999999", ctype=None),
    expect=(200, 400),
)
case(
    "GET /_mock/requests?limit=٣ (arabic 3)", req("GET", "/_mock/requests?limit=%D9%A3", ctype=None), expect=(200, 400)
)
case("GET /_mock/ledger?api_key=%00", req("GET", "/_mock/ledger?api_key=%00", ctype=None), expect=(200, 400))
case("GET /_mock/tasks?api_key=%ED%A0%80", req("GET", "/_mock/tasks?api_key=%ED%A0%80", ctype=None), expect=(200, 400))

# content type / body presence
NURO_OK = j({"type": "bgm", "description": "calm piano"})
for name, ct in [
    ("text/plain", "text/plain"),
    ("no Content-Type", None),
    ("form", "application/x-www-form-urlencoded"),
    ("json+charset", "application/json; charset=utf-8"),
    ("vnd+json", "application/vnd.api+json"),
    ("APPLICATION/JSON", "APPLICATION/JSON"),
    ("multipart", "multipart/form-data; boundary=x"),
    ("garbage ctype", ";;;==="),
    ("json; charset=utf-16", "application/json; charset=utf-16"),
]:
    case(f"nuro create ctype {name}", post("/api/v1/nuro/create", NURO_OK, ctype=ct), expect=(200, 415))
for p in PRODUCT_POSTS:
    case(f"{p} no body", req("POST", p, None, ctype="application/json"), expect=(400,))
    case(f"{p} empty body CL 0", req("POST", p, b"", ctype="application/json"), expect=(400,))

# size limits
big = b'{"type":"bgm","description":"' + b"a" * (1 << 20) + b'"}'
case("nuro 1MiB+ with Content-Length", post("/api/v1/nuro/create", big), expect=(413,))
case(
    "nuro CL says 2MiB, sends 10 bytes",
    req("POST", "/api/v1/nuro/create", b'{"type":1}', headers={"Content-Length": str(2 << 20)}),
    expect=(413,),
)
case(
    "nuro chunked 1MiB+ (no CL)",
    req("POST", "/api/v1/nuro/create", chunked(big), headers={"Transfer-Encoding": "chunked"}),
    expect=(413,),
)
case(
    "nuro chunked 20MiB (no CL)",
    lambda: req("POST", "/api/v1/nuro/create", chunked(b"a" * (20 << 20)), headers={"Transfer-Encoding": "chunked"}),
    expect=(413,),
)
case(
    "nuro chunked small ok",
    req("POST", "/api/v1/nuro/create", chunked(NURO_OK, 5), headers={"Transfer-Encoding": "chunked"}),
    expect=(200,),
)
case(
    "control chunked 2MiB",
    req("PUT", "/_mock/keys/sk_x", chunked(b" " * (2 << 20) + b"{}"), headers={"Transfer-Encoding": "chunked"}),
    expect=(413,),
)
case("CL negative", req("POST", "/api/v1/nuro/create", NURO_OK, headers={"Content-Length": "-1"}), expect=(400,))
case("CL non-numeric", req("POST", "/api/v1/nuro/create", NURO_OK, headers={"Content-Length": "abc"}), expect=(400,))
case(
    "CL 1e9 digits-only huge",
    req("POST", "/api/v1/nuro/create", NURO_OK, headers={"Content-Length": "9" * 40}),
    expect=(400, 413),
)
case(
    "CL + TE both",
    req(
        "POST", "/api/v1/nuro/create", chunked(NURO_OK), headers={"Content-Length": "5", "Transfer-Encoding": "chunked"}
    ),
    expect=(200, 400),
)
case(
    "GET with 1MiB+ body",
    req("GET", f"/api/v1/nuro/task/{TASK}", b"a" * ((1 << 20) + 10), ctype="application/json"),
    expect=(200, 413),
)

# huge headers
for size in (8 << 10, 64 << 10, 1 << 20, 16 << 20):
    case(
        f"header X-Big {size >> 10} KiB",
        big_header(size),
        expect=(200, 400, 431),
        timeout=30,
    )
case(
    "10k headers",
    req("GET", "/api/v1/get-credits", headers={f"X-H{i}": "v" for i in range(10_000)}, ctype=None),
    expect=(200, 400, 431),
    timeout=30,
)
case(
    "URL path 1 MiB", req("GET", "/api/v1/nuro/task/" + "a" * (1 << 20), ctype=None), expect=(400, 404, 414), timeout=30
)
case(
    "X-Mock-Scenario garbage",
    req("GET", f"/api/v1/nuro/task/{TASK}", headers={"X-Mock-Scenario": "no.such@@@"}, ctype=None),
    expect=(400,),
)
case(
    "X-Mock-Scenario @1e308",
    req("GET", f"/api/v1/nuro/task/{TASK}", headers={"X-Mock-Scenario": "nuro.api_error@1e308"}, ctype=None),
    expect=(400,),
)
case(
    "X-Mock-Scenario @-5",
    req("POST", "/api/v1/nuro/create", NURO_OK, headers={"X-Mock-Scenario": "nuro.algorithm_error@-5"}),
    expect=(400,),
)
case(
    "X-Mock-Scenario @99999999999999999999",
    req(
        "POST", "/api/v1/nuro/create", NURO_OK, headers={"X-Mock-Scenario": "nuro.algorithm_error@99999999999999999999"}
    ),
    expect=(400,),
)
case(
    "Prefer: code=abc",
    req("GET", f"/api/v1/nuro/task/{TASK}", headers={"Prefer": "code=abc"}, ctype=None),
    expect=(200, 400),
)
case(
    "Prefer: code=99999999999999999999",
    req("GET", f"/api/v1/nuro/task/{TASK}", headers={"Prefer": "code=99999999999999999999"}, ctype=None),
    expect=(200, 400),
)
case(
    "Prefer: code=500",
    req("GET", f"/api/v1/nuro/task/{TASK}", headers={"Prefer": "code=500"}, ctype=None),
    expect=(500,),
)

# Range on audio
AU = f"/cdn/audio/{TASK}.wav"
for rng in [
    None,
    "bytes=0-0",
    "bytes=0-",
    "bytes=-1",
    "bytes=-0",
    "bytes=5-1",
    "bytes=0-1,1-2",
    "bytes=0-10,5-20,0-",
    "bytes=" + ",".join(f"{i}-{i}" for i in range(2000)),
    "bytes=99999999999999999999999999999-",
    "bytes=0-99999999999999999999999999999",
    "bytes=-99999999999999999999999999999",
    "bytes=1323044-",
    "items=0-1",
    "bytes=\u0663-\u0664",
    "bytes= 0-1",
    "bytes=0 - 1",
    "bytes=a-b",
    "bytes=",
    "=",
    "bytes=--1",
    "bytes=" + "9" * 100_000 + "-",
]:
    hdr = {"Range": rng} if rng is not None else {}
    case(
        f"audio Range {repr(rng)[:40]}",
        req("GET", AU, headers=hdr, ctype=None, auth=None),
        expect=(200, 206, 416, 400, 431),
    )
case("audio HEAD", req("HEAD", AU, ctype=None, auth=None), expect=(200,))
for p in [
    "/cdn/audio/../../etc/passwd",
    "/cdn/audio/..%2f..%2fetc%2fpasswd.wav",
    "/cdn/audio/%2e%2e/%2e%2e/etc/passwd.wav",
    "/cdn/audio/%00.wav",
    "/cdn/audio/.wav",
    "/cdn/audio/" + "a" * 100_000 + ".wav",
    "/cdn/audio/%ED%A0%80.wav",
    "/cdn/audio/%ff%fe.wav",
    "/cdn/image/..%5c..%5cwin.ini.png",
    "/cdn/image/" + TASK + ".png",
    "/cdn/audio/" + TASK,
    "/cdn/audio/" + TASK + ".wav/..",
    "/cdn//audio/" + TASK + ".wav",
    "/cdn/audio/" + TASK + ".WAV",
    "/cdn/audio/" + TASK + ".wav%00.png",
    "/cdn/audio/" + TASK + ".wav?x=%00",
]:
    case(f"cdn {p[:60]}", req("GET", p, ctype=None, auth=None), expect=target(p, (200, 206, 400, 404)))

# odd task ids
for tid in [
    "%00",
    "%ED%A0%80",
    "%FF",
    "..",
    "%2e%2e%2f%2e%2e",
    "a%20b",
    "\u00e9".encode("utf-8").decode("latin-1"),
    "'%20OR%201=1--",
    "%22%3E%3Cscript%3E",
    "a" * 100_000,
    "%",
    "%zz",
]:
    for fam in ("nuro", "sonic", "producer"):
        case(
            f"{fam} task id {tid[:30]!r}",
            req("GET", f"/api/v1/{fam}/task/{tid}", ctype=None),
            expect=target(tid, (400, 404)),
        )
for tid in ["%00", "%ED%A0%80", "a" * 100_000, "..%2f"]:
    case(f"control task id {tid[:20]!r}", req("GET", f"/_mock/tasks/{tid}", ctype=None), expect=target(tid, (404,)))
    case(
        f"control fail id {tid[:20]!r}",
        req("POST", f"/_mock/tasks/{tid}/fail", j({"error": "nuro.algorithm_error"})),
        expect=target(tid, (404,)),
    )
    case(
        f"control key {tid[:20]!r}",
        req("PUT", f"/_mock/keys/{tid}", j({"credits": 5})),
        expect=target(tid, (200, 400, 404)),
    )

# Authorization edge cases
for name, auth in [
    ("Bearer two spaces", "Bearer  sk_a"),
    ("lowercase bearer", "bearer sk_a"),
    ("BEARER", "BEARER sk_a"),
    ("empty", ""),
    ("only Bearer", "Bearer"),
    ("Bearer + space", "Bearer "),
    ("Basic", "Basic dXNlcjpwYXNz"),
    ("token with space", "Bearer a b"),
    ("tab sep", "Bearer\tsk_a"),
    ("no scheme", "sk_a"),
    ("64 KiB key", "Bearer " + "k" * 65536),
    ("1 MiB key", "Bearer " + "k" * (1 << 20)),
    ("latin-1 key", "Bearer sk_\xe9\xff"),
    ("key with quote/json", 'Bearer sk_"},{'),
    ("magic expired", "Bearer sk_mock_expired"),
    ("magic qps", "Bearer sk_mock_qps_limit"),
]:
    for m, p, b in [
        ("GET", "/api/v1/get-credits", None),
        ("POST", "/api/v1/nuro/create", NURO_OK),
        ("POST", "/api/v1/sonic/lyrics", j({"description": "sky"})),
    ]:
        case(
            f"auth {name} {p}",
            req(m, p, b, auth=auth, ctype="application/json" if b else None),
            expect=(200, 400, 401, 403, 429, 431),  # sk_mock_qps_limit on lyrics: 429 (documented)
            timeout=30,
        )

# method/route
case("DELETE nuro create", req("DELETE", "/api/v1/nuro/create", ctype=None), expect=(405,))
case("unknown path", req("GET", "/api/v1/nope", ctype=None), expect=(404,))
case("TRACE /", req("TRACE", "/", ctype=None), expect=(404, 405))
case(
    "absolute-form URI",
    b"GET http://evil.example/api/v1/get-credits HTTP/1.1\r\n"
    b"Host: x\r\nAuthorization: Bearer sk\r\nConnection: close\r\n\r\n",
    expect=(200, 400),
)
case(
    "Host header injection in media link",
    req("GET", f"/api/v1/nuro/task/{TASK}", headers={}, ctype=None).replace(b"Host: 127.0.0.1", b"Host: evil.example"),
    expect=(200,),
)
case("HTTP/1.0 no Host", b"GET /api/v1/get-credits HTTP/1.0\r\nAuthorization: Bearer sk\r\n\r\n", expect=(200,))
case(
    "garbage request line", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 100 + b"\r\n\r\n", expect=(400,)
)
