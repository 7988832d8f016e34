"""The mock's control plane (``/_mock/``), as the mock-only layers use it: clock, ledger, faults, catalog.

Only the suite's own calls go through here; they are free (not product operations) and never used live.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from contracts.session import ContractSession, Target


@dataclass(frozen=True)
class LedgerView:
    """A key's ledger: its entries and totals (``GET /_mock/ledger?api_key=K``)."""

    entries: list[dict[str, Any]]
    totals: dict[str, int]

    def of(self, reason: str) -> list[dict[str, Any]]:
        """Entries of one reason (grant, adjust, debit, refund)."""
        return [e for e in self.entries if e["reason"] == reason]

    def refunds_per_task(self) -> Counter[str]:
        """How many refund entries each task has."""
        return Counter(str(e["task_id"]) for e in self.of("refund") if e["task_id"] is not None)


def ledger(contract: ContractSession, target: Target, key: str) -> LedgerView:
    """The ledger of ``key`` (reading it settles refunds that are due, like a balance read)."""
    with contract.control(target) as control:
        response = control.get("/_mock/ledger", params={"api_key": key})
    response.raise_for_status()
    body = response.json()
    return LedgerView(list(body["entries"]), dict(body["totals"]))


def advance(contract: ContractSession, target: Target, seconds: float) -> float:
    """Move the virtual clock forward; the new instant (epoch seconds)."""
    with contract.control(target) as control:
        response = control.post("/_mock/clock/advance", json={"seconds": seconds})
    response.raise_for_status()
    return float(response.json()["epoch"])


def now(contract: ContractSession, target: Target) -> float:
    """The virtual clock (epoch seconds)."""
    with contract.control(target) as control:
        response = control.get("/_mock/clock")
    response.raise_for_status()
    return float(response.json()["epoch"])


def reset(contract: ContractSession, target: Target) -> None:
    """Forget all state (only on a mock the suite started itself)."""
    if target not in (contract.targets.sunset, contract.targets.gone) or contract.options.mode != "own":
        raise RuntimeError("the suite resets only the mocks it started (and never the main one)")
    with contract.control(target) as control:
        control.post("/_mock/reset").raise_for_status()


def add_fault(
    contract: ContractSession, target: Target, operation: str, error: str, key: str, at_progress: int | None = None
) -> None:
    """Fail the next call of ``operation`` made with ``key`` with catalog error ``error``."""
    rule: dict[str, Any] = {"operation": operation, "error": error, "times": 1, "api_key": key}
    if at_progress is not None:
        rule["at_progress"] = at_progress
    with contract.control(target) as control:
        response = control.post("/_mock/faults", json=rule)
    assert response.status_code == 200, f"fault rule {rule} refused: {response.text}"


def served_catalog(contract: ContractSession, target: Target) -> list[dict[str, Any]]:
    """The error catalog the mock serves (``GET /_mock/errors``)."""
    with contract.control(target) as control:
        response = control.get("/_mock/errors")
    response.raise_for_status()
    errors: list[dict[str, Any]] = response.json()["errors"]
    return errors


def fail_task(
    contract: ContractSession, target: Target, task_id: str, error: str, at_progress: int | None
) -> tuple[int, dict[str, Any]]:
    """``POST /_mock/tasks/{id}/fail``: (status, body)."""
    payload: dict[str, Any] = {"error": error}
    if at_progress is not None:
        payload["at_progress"] = at_progress
    with contract.control(target) as control:
        response = control.post(f"/_mock/tasks/{task_id}/fail", json=payload)
    return response.status_code, response.json()


def complete_task(contract: ContractSession, target: Target, task_id: str) -> tuple[int, dict[str, Any]]:
    """``POST /_mock/tasks/{id}/complete``: (status, body)."""
    with contract.control(target) as control:
        response = control.post(f"/_mock/tasks/{task_id}/complete")
    return response.status_code, response.json()
