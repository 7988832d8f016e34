"""``GET /_mock/errors?operation=``: the errors an operation can answer, by the rule its triggers apply."""

from __future__ import annotations

import httpx

KEY = "sk_catalog"


def test_the_filtered_catalog_is_exactly_what_a_fault_rule_accepts(client: httpx.Client) -> None:
    every = [e["id"] for e in client.get("/_mock/errors").json()["errors"]]
    fitting = [e["id"] for e in client.get("/_mock/errors", params={"operation": "sonicCreate"}).json()["errors"]]
    assert "sonic.rate_limited" in fitting and "nuro.queue_full" not in fitting and len(fitting) < len(every)
    for error in every:
        added = client.post("/_mock/faults", json={"operation": "sonicCreate", "error": error, "times": 1})
        assert (added.status_code == 200) == (error in fitting), (error, added.text)
        client.delete("/_mock/faults")


def test_an_unknown_operation_is_a_400(client: httpx.Client) -> None:
    answer = client.get("/_mock/errors", params={"operation": "mockReset"})
    assert answer.status_code == 400 and answer.json()["error_id"] == "request.validation"
    assert "is not an operation of the API" in answer.json()["message"]
