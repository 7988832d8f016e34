"""The rest of the live Sonic surface, over real HTTP: uploads, voice, tools on clips, downloads, feed, suno."""

from __future__ import annotations

import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import mido
import orjson

from mockserver.spec import ApiSpec
from tests.helpers import advance, assert_matches_spec, audio_seconds
from tests.http.surface import KEY, credits, file_server, finished_sonic, poll_until_done

DESCRIBED = {"custom_mode": False, "mv": "sonic-v4-5", "gpt_description_prompt": "a jazz ballad"}


def test_upload_cover_uploads_then_covers_in_one_call(client: httpx.Client) -> None:
    start = credits(client)
    made = client.post("/api/v1/sonic/upload-cover", json={"url": "https://example.com/a.mp3", **DESCRIBED})
    assert made.status_code == 200, made.text
    assert_matches_spec("sonicUploadCover", 200, made.json())
    upload_clip = made.json()["steps"]["upload"]["clip_id"]
    assert start - credits(client) == 16
    body = poll_until_done(client, f"/api/v1/sonic/task/{made.json()['task_id']}")
    assert_matches_spec("sonicGetTask", 200, body)
    assert [c["state"] for c in body["data"]] == ["succeeded", "succeeded"]
    audio = client.get(body["data"][0]["audio_url"])
    assert abs(audio_seconds(audio.content) - float(body["data"][0]["duration"])) < 0.1
    feed = client.get("/api/v1/sonic/feed").json()["data"]
    assert upload_clip in {c["clip_id"] for c in feed}


def test_upload_extend_holds_the_extension_or_with_auto_concat_the_whole_song(client: httpx.Client) -> None:
    base = {"url": "https://example.com/a.mp3", "continue_at": 5, **DESCRIBED}
    lengths = {}
    for concat in (False, True):
        made = client.post("/api/v1/sonic/upload-extend", json={**base, "auto_concat": concat})
        assert made.status_code == 200, made.text
        body = poll_until_done(client, f"/api/v1/sonic/task/{made.json()['task_id']}")
        lengths[concat] = float(body["data"][0]["duration"])
    assert 60 <= lengths[False] <= 150 and 65 <= lengths[True] <= 155


def test_upload_urls_on_this_machine_are_probed_and_private_ones_refused(client: httpx.Client) -> None:
    start = credits(client)
    with file_server("audio/mpeg") as url:
        assert client.post("/api/v1/sonic/upload", json={"url": url}).status_code == 200
    with file_server("text/html") as url:
        refused = client.post("/api/v1/sonic/upload", json={"url": url})
    for bad in ("http://10.0.0.7/a.mp3", "http://127.0.0.1:9/closed.mp3", "http://printer.local/a.mp3"):
        assert client.post("/api/v1/sonic/upload-cover", json={"url": bad, **DESCRIBED}).status_code == 400
    assert refused.status_code == 400
    assert refused.json()["message"] == "Audio URL is not accessible. Please provide a public direct audio file URL."
    assert start - credits(client) == 2  # only the accepted upload was billed


def test_async_upload_answers_a_task_and_delivers_the_clip_to_the_callback(client: httpx.Client) -> None:
    received: list[bytes] = []

    from tests.http.test_webhooks import Receiver  # noqa: F401 - the same receiver shape, below

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    hook = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    try:
        callback = f"http://127.0.0.1:{hook.server_address[1]}/cb"
        made = client.post("/api/v1/sonic/upload", json={"url": "https://example.com/a.mp3", "callback_url": callback})
        assert made.status_code == 200 and "task_id" in made.json() and "clip_id" not in made.json(), made.text
        task_id = made.json()["task_id"]
        advance(client, 60)
        body = client.get(f"/api/v1/sonic/task/{task_id}").json()
    finally:
        hook.shutdown()
        hook.server_close()
    (payload,) = [orjson.loads(raw) for raw in received]
    clip_id = body["data"][0]["clip_id"]
    assert payload["task_id"] == task_id and payload["data"][0]["clip_id"] == clip_id
    extend = {"task_type": "extend_upload_music", "continue_clip_id": clip_id, "continue_at": 0.1, **DESCRIBED}
    extended = client.post("/api/v1/sonic/create", json={**extend, "custom_mode": True, "prompt": "[Verse]\nmore"})
    assert extended.status_code == 200, extended.text


def test_create_voice_yields_a_persona_usable_once_finished(client: httpx.Client) -> None:
    made = client.post("/api/v1/sonic/create-voice", json={"url": "https://example.com/me.mp3", "name": "Me"})
    assert made.status_code == 200, made.text
    first = client.get(f"/api/v1/sonic/task/{made.json()['task_id']}").json()
    assert first["type"] == "not_ready"
    song = {"task_type": "persona_music", "custom_mode": True, "mv": "sonic-v4-5", "prompt": "la", "persona_id": ""}
    body = poll_until_done(client, f"/api/v1/sonic/task/{made.json()['task_id']}")
    assert_matches_spec("sonicGetTask", 200, body)
    persona = body["data"][0]["persona_id"]
    assert body["data"][0]["state"] == "succeeded" and persona.startswith("persona-")
    assert client.post("/api/v1/sonic/create", json={**song, "persona_id": persona}).status_code == 200
    assert client.post("/api/v1/sonic/create", json={**song, "persona_id": "persona-none"}).status_code == 400


def test_wav_stems_vox_bpm_and_midi_describe_the_clip_itself(client: httpx.Client) -> None:
    clip = finished_sonic(client)[0]
    clip_id, seconds = clip["clip_id"], float(clip["duration"])
    start = credits(client)
    wav = client.post("/api/v1/sonic/wav", json={"clip_id": clip_id}).json()
    assert_matches_spec("sonicWav", 200, wav)
    assert abs(audio_seconds(client.get(wav["data"]["wav_url"]).content) - seconds) < 0.01
    stems = {}
    for op, path in (("sonicStemsBasic", "stems/basic"), ("sonicStemsFull", "stems/full")):
        answer = client.post(f"/api/v1/sonic/{path}", json={"clip_id": clip_id}).json()
        assert_matches_spec(op, 200, answer)
        stems[op] = [s["name"] for s in answer["data"]["stems"]]
        for stem in answer["data"]["stems"][:2]:
            assert abs(audio_seconds(client.get(stem["url"]).content) - seconds) < 0.01
    assert stems == ApiSpec.load().schema("sonic", "SonicStemsResponse")["x-stems"]
    vox = client.post("/api/v1/sonic/vox", json={"clip_id": clip_id}).json()
    assert vox["data"]["vox_url"].endswith("/vocals.wav") and client.get(vox["data"]["vox_url"]).status_code == 200
    assert client.post("/api/v1/sonic/bpm", json={"clip_id": clip_id}).json()["data"]["bpm"] == 75.0
    midi = client.post("/api/v1/sonic/midi", json={"clip_id": clip_id}).json()
    assert_matches_spec("sonicMidi", 200, midi)
    song = mido.MidiFile(file=io.BytesIO(client.get(midi["data"]["midi_url"]).content))
    notes = [m for m in song.tracks[1] if m.type == "note_on"]
    assert len(notes) == len(midi["data"]["instruments"][0]["notes"]) and abs(song.length - seconds) < 0.25
    assert start - credits(client) == 1 + 20 + 50 + 1 + 1 + 1


def test_clip_tools_refuse_unknown_unfinished_and_foreign_clips_for_free(client: httpx.Client) -> None:
    finished = finished_sonic(client)[0]["clip_id"]
    made = client.post("/api/v1/sonic/create", json=DESCRIBED).json()
    body = client.get(f"/api/v1/sonic/task/{made['task_id']}").json()
    while "data" not in body:  # until it is running (no clip has finished yet)
        advance(client, 2)
        body = client.get(f"/api/v1/sonic/task/{made['task_id']}").json()
    running = body["data"][0]["clip_id"]
    assert body["data"][0]["state"] == "running"
    start = credits(client)
    assert client.post("/api/v1/sonic/wav", json={"clip_id": "nope"}).json()["message"] == "continue_clip_id not found."
    assert client.post("/api/v1/sonic/midi", json={"clip_id": running}).status_code == 400
    other = client.post("/api/v1/sonic/bpm", json={"clip_id": finished}, headers={"Authorization": "Bearer sk_other"})
    assert other.status_code == 400 and credits(client) == start
    assert client.post("/api/v1/sonic/wav", json={}).json()["message"] == "clip_id: is required"


def test_download_prepares_then_serves_every_format_billed_once(client: httpx.Client) -> None:
    clip = finished_sonic(client)[0]
    start = credits(client)
    body = {"clip_id": clip["clip_id"], "formats": ["mp3", "m4a", "wav"]}
    first = client.post("/api/v1/sonic/download", json=body)
    again = client.post("/api/v1/sonic/download", json=body)
    assert (first.status_code, again.status_code) == (202, 202)
    assert_matches_spec("sonicDownload", 202, first.json())
    advance(client, 60)
    ready = client.post("/api/v1/sonic/download", json=body)
    assert ready.status_code == 200 and start - credits(client) == 2
    assert_matches_spec("sonicDownload", 200, ready.json())
    types = {"mp3": "audio/mpeg", "m4a": "audio/mp4", "wav": "audio/wav"}
    for fmt, url in ready.json()["data"]["files"].items():
        file = client.get(url)
        assert file.headers["content-type"] == types[fmt]
        assert abs(audio_seconds(file.content) - float(clip["duration"])) < 0.15
    gone = client.post("/api/v1/sonic/download", json={"clip_id": "purged", "formats": ["mp3"]})
    assert gone.status_code == 404 and gone.json()["message"] == "The source clip is no longer available."


def test_sample_mashup_and_replace_section_make_new_songs_from_clips(client: httpx.Client) -> None:
    first, second = finished_sonic(client)
    start = credits(client)
    sample = client.post(
        "/api/v1/sonic/sample", json={"clip_id": first["clip_id"], "start_s": 1, "end_s": 9, **DESCRIBED}
    )
    mashup = client.post("/api/v1/sonic/mashup", json={"clip_ids": [first["clip_id"], second["clip_id"]], **DESCRIBED})
    replace = client.post(
        "/api/v1/sonic/replace-section",
        json={"clip_id": first["clip_id"], "start_s": 3, "end_s": 8, "mv": "sonic-v4-5"},
    )
    assert [r.status_code for r in (sample, mashup, replace)] == [200, 200, 200]
    assert start - credits(client) == 14 + 14 + 10
    replaced = poll_until_done(client, f"/api/v1/sonic/task/{replace.json()['task_id']}")
    assert {c["duration"] for c in replaced["data"]} == {first["duration"]}
    assert len(poll_until_done(client, f"/api/v1/sonic/task/{mashup.json()['task_id']}")["data"]) == 2
    twice = client.post("/api/v1/sonic/mashup", json={"clip_ids": [first["clip_id"]] * 2, **DESCRIBED})
    assert twice.status_code == 400 and twice.json()["message"] == "clip_ids: must not contain duplicate items"
    beyond = client.post(
        "/api/v1/sonic/replace-section",
        json={"clip_id": first["clip_id"], "start_s": 3, "end_s": 599, "mv": "sonic-v4-5"},
    )
    assert beyond.status_code == 400 and "end_s" in beyond.json()["message"]


def test_remaster_and_add_vocals_need_a_clip_of_the_last_day(client: httpx.Client) -> None:
    clip = finished_sonic(client)[0]
    for task_type in ("remaster", "add_instrumental", "add_vocals"):
        made = client.post(
            "/api/v1/sonic/create", json={"task_type": task_type, "continue_clip_id": clip["clip_id"], "mv": "sonic-v5"}
        )
        assert made.status_code == 200, made.text
        body = poll_until_done(client, f"/api/v1/sonic/task/{made.json()['task_id']}")
        assert {c["duration"] for c in body["data"]} == {clip["duration"]}
    advance(client, 25 * 3600)
    old = client.post(
        "/api/v1/sonic/create", json={"task_type": "remaster", "continue_clip_id": clip["clip_id"], "mv": "sonic-v5"}
    )
    assert old.status_code == 400 and old.json()["message"] == "The clip must be from the last 24 hours."


def test_upsample_tags_and_a_refunded_failure(client: httpx.Client) -> None:
    start = credits(client)
    tags = client.post("/api/v1/sonic/upsample-tags", json={"tags": "lofi, chill"}).json()
    assert tags["data"]["upsampled_tags"].startswith("lofi, chill, ") and start - credits(client) == 1
    clip = finished_sonic(client)[0]
    before = credits(client)
    failed = client.post(
        "/api/v1/sonic/wav", json={"clip_id": clip["clip_id"]}, headers={"X-Mock-Scenario": "sonic.internal"}
    )
    assert failed.status_code == 500 and credits(client) == before  # refunded at once
    made = client.post(
        "/api/v1/sonic/sample",
        json={"clip_id": clip["clip_id"], **DESCRIBED, "gpt_description_prompt": "x #mock:sonic.generation_failed@20"},
    )
    body = poll_until_done(client, f"/api/v1/sonic/task/{made.json()['task_id']}")
    assert {c["state"] for c in body["data"]} == {"failed"} and credits(client) == before
    ledger = client.get("/_mock/ledger", params={"api_key": KEY}).json()
    assert [e["task_id"] for e in ledger["entries"] if e["reason"] == "refund"].count(made.json()["task_id"]) == 1


def test_feed_lists_only_the_callers_clips_newest_first(client: httpx.Client) -> None:
    mine = finished_sonic(client)
    other = httpx.Client(base_url=str(client.base_url), headers={"Authorization": "Bearer sk_someone_else"})
    with other:
        finished_sonic(other)
        theirs = other.get("/api/v1/sonic/feed").json()["data"]
    feed = client.get("/api/v1/sonic/feed", params={"page_size": 1}).json()
    assert_matches_spec("sonicFeed", 200, feed)
    assert len(feed["data"]) == 1 and feed["data"][0]["clip_id"] in {c["clip_id"] for c in mine}
    everything = client.get("/api/v1/sonic/feed").json()["data"]
    assert {c["clip_id"] for c in everything} == {c["clip_id"] for c in mine}
    assert not {c["clip_id"] for c in everything} & {c["clip_id"] for c in theirs}
    assert client.get("/api/v1/sonic/feed", params={"page_size": "lots"}).status_code == 400


def test_the_legacy_suno_namespace_is_sonic_under_another_name(client: httpx.Client) -> None:
    start = credits(client)
    made = client.post("/api/v1/suno/create", json={"custom_mode": True, "mv": "chirp-v4-5", "prompt": "la"})
    assert made.status_code == 200 and start - credits(client) == 14
    advance(client, 400)
    task_id = made.json()["task_id"]
    legacy, current = (
        client.get(f"/api/v1/suno/task/{task_id}").json(),
        client.get(f"/api/v1/sonic/task/{task_id}").json(),
    )
    assert legacy == current and {c["state"] for c in legacy["data"]} == {"succeeded"}
