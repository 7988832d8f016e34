"""Layer 2: stateful sequences through the spec's OpenAPI links (create → poll), with schemathesis.

Every step is checked like layer 1. At the end, every link whose source answered 2xx must have led to a
2xx of its target: a create whose ``task_id`` cannot be followed (a broken link pointer, a missing field)
only ever reaches "not found", and notes §9.4 warns that schemathesis alone reports that as a pass.
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, Phase, settings
from schemathesis import Response

from contracts import families
from contracts.session import ContractSession, current
from contracts.st_support import Case, product_schema

CONTRACT = current()
BUDGETED = CONTRACT.guard.budgeted
SCENARIOS = 2 if BUDGETED else 15
STEPS = 4 if BUDGETED else 6
MAX_PRICE = max((p.price for p in CONTRACT.pricing.operations), default=0)
stateful = product_schema(CONTRACT, CONTRACT.main, mode="positive" if BUDGETED else "all", stateful_steps=STEPS)
#: (operationId, status class) of every step of the run.
STEPS_SEEN: Counter[tuple[str, int]] = Counter()
LABELS = {op.label: op.operation_id for op in families.product_operations(CONTRACT.spec)}


class LinkedWorkflow(stateful.as_state_machine()):  # type: ignore[misc]
    """Schemathesis' link-driven state machine, recording what each step answered."""

    def after_call(self, response: Response, case: Case) -> None:
        """Record the step."""
        super().after_call(response, case)
        STEPS_SEEN[(LABELS.get(case.operation.label, "?"), response.status_code // 100)] += 1


@pytest.mark.cost(credits=SCENARIOS * STEPS * MAX_PRICE if BUDGETED else None)
def test_links_create_then_poll(contract: ContractSession) -> None:
    """Create → poll sequences conform at every step, and every successful create can be polled."""
    STEPS_SEEN.clear()
    phases = [Phase.explicit, Phase.generate] if BUDGETED else [Phase.explicit, Phase.generate, Phase.shrink]
    LinkedWorkflow.run(
        settings=settings(
            max_examples=SCENARIOS,
            stateful_step_count=STEPS,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            phases=phases,
        )
    )
    unfollowed = []
    for op in families.product_operations(contract.spec):
        link = families.linked_poll(contract.spec, op.operation_id)
        if link is None or not STEPS_SEEN[(op.operation_id, 2)] or STEPS_SEEN[(link[0], 2)]:
            continue
        # The state machine did not happen to take this link (33 operations, a fixed budget of steps):
        # follow it once by hand, so every link that led anywhere is checked whatever the exploration did.
        if not BUDGETED and follows(contract, op.operation_id, link):
            continue
        unfollowed.append(
            f"{op.operation_id} answered 2xx {STEPS_SEEN[(op.operation_id, 2)]} times, "
            f"but {link[0]} never answered 2xx through the link"
        )
    assert not unfollowed, "; ".join(unfollowed)


def follows(contract: ContractSession, operation_id: str, link: tuple[str, str]) -> bool:
    """Call ``operation_id`` with a valid body and its link's target with the id the link points at: both 2xx."""
    op, target = contract.spec.operations[operation_id], contract.spec.operations[link[0]]
    with contract.client(contract.main) as http:
        made = http.request(op.method, op.path, json=families.valid_body(contract.spec, operation_id))
        if not made.is_success:
            return True  # a body the example cannot make valid here (it names clips): nothing to follow
        task_id = str(families.pointer(made.json(), link[1]))
        return http.get(target.path.replace("{task_id}", task_id)).is_success
