"""The families' pure rules, built from the spec: no server, no store beyond a memory one."""

from __future__ import annotations

import pytest

from mockserver.catalog import CATALOG
from mockserver.config import NuroMode
from mockserver.engine.lifecycle import Span, Timing, plan
from mockserver.engine.records import Clip, Status
from mockserver.errors import MockError
from mockserver.families.nuro.rules import NuroRules, deprecation_headers
from mockserver.families.producer.rules import ProducerRules
from mockserver.families.sonic import clips, tools
from mockserver.families.sonic import rules as sonic
from mockserver.ids import Draws
from mockserver.spec import ApiSpec
from mockserver.store.memory import MemoryStore

SPEC = ApiSpec.load()


def test_nuro_v2_segment_rules() -> None:
    rules = NuroRules(SPEC)
    base = {"type": "bgm", "version": "v2.0", "description": "x"}
    assert rules.cross_field_violations({**base, "segments": [{"name": "intro", "duration": 30}]}) == []
    lone = rules.cross_field_violations({**base, "segments": [{"name": "intro", "duration": 20}]})
    assert [str(v) for v in lone] == ["segments[0].duration: a single segment must be at least 30 seconds (got 20)"]
    long = [{"name": "intro", "duration": 60}, {"name": "outro", "duration": 61}]
    assert "add up to 30-120" in str(rules.cross_field_violations({**base, "segments": long})[0])
    mismatch = {**base, "duration": 50, "segments": [{"name": "intro", "duration": 40}]}
    assert "must equal the sum" in str(rules.cross_field_violations(mismatch)[0])


def test_nuro_lyrics_come_back_as_submitted_and_language_is_checked() -> None:
    submitted = "[Verse]\nline one\nline two\n\n[Chorus]\nHook  here, oh!"
    body = {"type": "vocal", "lyrics": submitted}
    schema = SPEC.operations["nuroCreate"].body.select(body)  # type: ignore[union-attr]
    assert NuroRules(SPEC).result_for("t", body, schema)["lyrics"] == submitted
    rules = NuroRules(SPEC)
    rules.check_language({"type": "vocal", "lyrics": "你好 hello"})
    with pytest.raises(MockError) as raised:
        rules.check_language({"type": "vocal", "lyrics": "Привет мир"})
    assert raised.value.spec.id == "nuro.language_not_supported"


def test_nuro_deprecation_headers_name_the_successor() -> None:
    assert deprecation_headers(NuroMode.parse("legacy"), "http://m", "vocal") == {}
    headers = deprecation_headers(NuroMode.parse("2026-12-31T00:00:00Z"), "http://m", "bgm")
    assert headers["Link"] == '<http://m/api/v1/producer/create>; rel="successor-version"'
    assert headers["Sunset"] == "Thu, 31 Dec 2026 00:00:00 GMT"


def test_producer_retired_task_types_and_sound_or_lyrics() -> None:
    rules = ProducerRules(SPEC)
    retired = rules.retired()
    assert "extend_music" in retired
    with pytest.raises(MockError) as gone:
        rules.check_create({"task_type": retired[0], "sound": "x"})
    assert gone.value.spec.status == 410
    with pytest.raises(MockError) as missing:
        rules.check_create({"task_type": "create_music"})
    assert missing.value.spec.id == "producer.sound_or_lyrics"


@pytest.mark.parametrize(
    ("url", "public"),
    [
        ("https://cdn.example.com/a.mp3", True),
        ("http://8.8.8.8/a.mp3", True),
        ("http://localhost/a.mp3", False),
        ("http://127.0.0.1:9/a.mp3", False),
        ("http://10.1.2.3/a.mp3", False),
        ("http://box.local/a.mp3", False),
        ("ftp://cdn.example.com/a.mp3", False),
        ("http://intranet/a.mp3", False),
    ],
)
def test_sonic_public_urls(url: str, public: bool) -> None:
    assert tools.public_url(url) is public


def test_sonic_upload_length_is_stable_and_in_range() -> None:
    lengths = {tools.upload_length(f"https://x.test/{i}.mp3") for i in range(200)}
    assert all(6 <= s <= 60 for s in lengths) and len(lengths) > 150
    assert tools.upload_length("https://x.test/a.mp3") == tools.upload_length("https://x.test/a.mp3")


def test_sonic_clips_finish_one_after_the_other_and_personas_need_recent_clips() -> None:
    store = MemoryStore()
    rules = sonic.SonicRules(SPEC)
    body = {"custom_mode": False, "gpt_description_prompt": "calm", "mv": "sonic-v4-5"}
    result = rules.result_for("t", body, ["c1", "c2"])
    task = plan(
        task_id="t",
        family="sonic",
        api_key="k",
        now=0.0,
        timing=Timing(Span(10, 10), Span(100, 100)),
        rng=Draws("t"),
        result=result,
    )
    store.put_task(task)
    clips.register_clips(store, task)
    first_done = 10 + 100 * result["clips"][0]["finish_fraction"]
    assert 90 <= first_done < 110
    assert [clips.clip_status(task, i, first_done) for i in (0, 1)] == [Status.SUCCEEDED, Status.RUNNING]
    with pytest.raises(MockError) as not_ready:
        clips.recent_clip(store, "c2", "k", first_done)
    assert not_ready.value.spec.id == "sonic.clip_not_ready"
    assert clips.recent_clip(store, "c1", "k", first_done).clip_id == "c1"
    with pytest.raises(MockError) as old:
        clips.recent_clip(store, "c1", "k", first_done + clips.RECENT_WINDOW + 1)
    assert old.value.spec.id == "sonic.clip_too_old"
    with pytest.raises(MockError) as foreign:
        clips.usable_clip(store, "c1", "other-key", first_done)
    assert foreign.value.spec.id == "sonic.clip_not_found"


def test_sonic_model_limits_come_from_the_spec() -> None:
    rules = sonic.SonicRules(SPEC)
    body = {"custom_mode": True, "mv": "sonic-v4", "prompt": "x" * 3001, "tags": "pop"}
    with pytest.raises(MockError) as raised:
        rules.check_create(body, "k", MemoryStore(), 0.0)
    assert "3000" in raised.value.message
    rules.check_create({**body, "mv": "sonic-v4-5"}, "k", MemoryStore(), 0.0)
    assert (
        rules.cost_variant(body) == "create_music.v3"
        and rules.cost_variant({"task_type": "extend_music"}) == "extend_music"
    )


def test_an_uploaded_clip_needs_an_upload_task_type() -> None:
    store = MemoryStore()
    store.put_clip(Clip("u1", "k", 0.0, 20.0, "uploaded"))
    rules = sonic.SonicRules(SPEC)
    with pytest.raises(MockError) as raised:
        rules.source_clip({"task_type": "extend_music", "continue_clip_id": "u1"}, "k", store, 1.0)
    assert raised.value.spec == CATALOG["sonic.clip_wrong_kind"]
    assert rules.source_clip({"task_type": "extend_upload_music", "continue_clip_id": "u1"}, "k", store, 1.0)
