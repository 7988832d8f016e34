"""Fault rules: fail the next N calls of an operation, or each call with a seeded probability.

Rules live in a :class:`~mockserver.engine.ports.FaultStore` (the mock's store), so every worker over a
durable store applies the same rules and counts the same hits.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from mockserver.catalog import CATALOG
from mockserver.engine.ports import FaultStore
from mockserver.engine.records import FaultRule
from mockserver.engine.triggers import Forced, lookup
from mockserver.errors import MockError

#: The sequence numbering the draws of probabilistic fault rules (a store restarts it on ``clear_faults``).
FAULT_DRAWS = "fault_draw"


def fault_draw(seed: int, number: int) -> float:
    """Draw number ``number`` (in ``[0, 1)``) of the probabilistic fault rules under ``seed``."""
    return random.Random(f"{seed}/faults/{number}").random()


@dataclass
class FaultBook:
    """The active fault rules, kept in a store, with seeded draws for probabilistic ones.

    Draw *n* depends only on the seed and *n* (a sequence in the store), so the draws are reproducible
    after a reset and shared by worker processes over one durable store.
    """

    seed: int
    store: FaultStore
    #: Operations no rule can reach in this configuration (a retired family answering 410 first), with why.
    unreachable: dict[str, str] = field(default_factory=dict)

    @property
    def rules(self) -> list[FaultRule]:
        """The rules, oldest first."""
        return self.store.fault_rules()

    def add(
        self,
        operation: str,
        error_id: str,
        *,
        times: int | None = None,
        probability: float | None = None,
        api_key: str | None = None,
        at_progress: int | None = None,
    ) -> FaultRule:
        """Add a rule (validated: the error must apply to the operation)."""
        spec = lookup(error_id, operation, "fault rule")
        if operation in self.unreachable and spec.status != 410:
            raise MockError(CATALOG["request.validation"], f"operation: {operation} {self.unreachable[operation]}")
        if (times is None) == (probability is None):
            raise MockError(CATALOG["request.validation"], "give exactly one of times or probability")
        return self.store.add_fault(FaultRule(0, operation, error_id, times, probability, api_key, at_progress))

    def match(self, operation: str, api_key: str | None) -> Forced | None:
        """The first rule that fires for this call (consuming one of its ``times``)."""
        if not any(rule.applies(operation, api_key) for rule in self.store.fault_rules()):
            return None  # the common case, without taking the write lock
        with self.store.transaction():
            for rule in self.store.fault_rules():
                if not rule.applies(operation, api_key):
                    continue
                if rule.times is None and fault_draw(self.seed, self.store.next_sequence(FAULT_DRAWS)) >= (
                    rule.probability or 0.0
                ):
                    continue
                self.store.hit_fault(rule.id)
                return Forced(CATALOG[rule.error_id], f"fault rule {rule.id}", rule.at_progress)
        return None

    def clear(self) -> None:
        """Remove every rule; restart the draws."""
        self.store.clear_faults()
