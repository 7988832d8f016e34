"""Layer 3, other families: lifecycle promises of Sonic and Producer that their schemas cannot say.

Deliberately small (the families are young); add a family's rules here or to ``families.py``:

* Sonic: "One create call produces **two clips**" (openapi/sonic.yaml); each clip's state only moves
  forward and a succeeded clip has its audio;
* Producer: one song per request; ``status`` only moves forward (PENDING → RUNNING → SUCCESS | FAILED),
  and ``data`` holds the song once SUCCESS.

Needs the virtual clock: skipped on live.
"""

from __future__ import annotations

from typing import Any

import pytest

from contracts import families, mockplane
from contracts.session import ContractSession, current, response_problems

CONTRACT = current()
CLOCK = "needs the mock's virtual clock to finish a task"
#: ``SonicClip.state`` in lifecycle order (openapi/sonic.yaml).
SONIC_RANK = {"pending": 0, "running": 1, "streaming": 2, "succeeded": 3, "failed": 3}
PRODUCER_RANK = {"PENDING": 0, "RUNNING": 1, "SUCCESS": 2, "FAILED": 2}


def walk(contract: ContractSession, create: str, step: float, reads: int) -> list[dict[str, Any]]:
    """Create with the operation's valid body, then poll (via its link) every ``step`` virtual seconds."""
    if create not in contract.spec.operations:
        pytest.skip(f"{create} is not in the product spec")
    link = families.linked_poll(contract.spec, create)
    body = families.valid_body(contract.spec, create)
    assert link is not None and body is not None, f"{create} needs a link and a valid example"
    poll = contract.spec.operations[link[0]]
    key = contract.fresh_key(create)
    bodies = []
    with contract.client(contract.main, key) as http:
        op = contract.spec.operations[create]
        made = http.request(op.method, op.path, json=body)
        assert made.status_code == 200, made.text
        path = poll.path.replace("{task_id}", str(families.pointer(made.json(), link[1])))
        for _ in range(reads):
            response = http.get(path)
            problems = response_problems(
                contract.spec,
                poll.operation_id,
                response.status_code,
                response.headers.get("content-type"),
                response.content,
            )
            assert not problems, "; ".join(problems)
            bodies.append(response.json())
            mockplane.advance(contract, contract.main, step)
    return bodies


@pytest.mark.control_plane(CLOCK)
@pytest.mark.cost(credits=CONTRACT.pricing.list_price("sonicCreate"))
def test_sonic_create_makes_two_clips_that_finish(contract: ContractSession) -> None:
    """A Sonic create yields two clips; clip states never go back; finished clips carry audio."""
    bodies = walk(contract, "sonicCreate", 15, 40)
    last: dict[str, int] = {}
    for body in bodies:
        clips = body.get("data")
        if not isinstance(clips, list):
            continue  # not ready yet
        assert len(clips) == 2, f"one create call produces two clips, got {len(clips)}: {body}"
        for clip in clips:
            rank = SONIC_RANK[clip["state"]]
            assert rank >= last.get(clip["clip_id"], 0), f"clip {clip['clip_id']} went back to {clip['state']}"
            last[clip["clip_id"]] = rank
            if clip["state"] == "succeeded":
                assert clip.get("audio_url"), f"a finished clip has its audio: {clip}"
    assert len(last) == 2 and all(rank == 3 for rank in last.values()), f"the clips never finished: {bodies[-1]}"


@pytest.mark.control_plane(CLOCK)
@pytest.mark.cost(credits=CONTRACT.pricing.list_price("producerCreate"))
def test_producer_task_moves_forward_to_one_song(contract: ContractSession) -> None:
    """A Producer task goes PENDING → RUNNING → SUCCESS, never back, and ends with one song."""
    bodies = walk(contract, "producerCreate", 5, 60)
    ranks = [PRODUCER_RANK[b["status"]] for b in bodies if "status" in b]
    assert ranks == sorted(ranks), f"status went back: {[b.get('status') for b in bodies]}"
    final = bodies[-1]
    assert final["status"] == "SUCCESS", final
    assert len(final["data"]) == 1 and final["data"][0].get("audio_url"), final
