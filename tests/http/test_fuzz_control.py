"""The control plane fuzzed with schemathesis (every check, fixed seed): no input makes it answer a 5xx.

The product operations are fuzzed by the contract suite (``contracts/test_layer1_schema.py``); this covers
``/_mock/*``, from its own spec (``openapi/mock-control.yaml``, served at ``/_mock/openapi.json``), in
process over ASGI so each case costs no socket. Like the contract suite's ``map_case``, a hook makes fault
rule bodies follow the rules the schema cannot say (an operation of the product spec, an error of the
catalog that applies to it, exactly one of ``times``/``probability``), and the catalog's ``operation``
filter names an operation of the API; it replaces only string values that break them, so negative cases
stay negative.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from schemathesis import APIOperation, Config, HookContext
from schemathesis import Case as _Case

from mockserver.app import create_app
from mockserver.catalog import CATALOG
from mockserver.config import Config as MockConfig
from mockserver.config import NuroMode
from mockserver.spec import CONTROL_SPEC, ApiSpec

Case = _Case[APIOperation[Any, Any, Any, Any]]
#: Nuro in legacy mode: with it gone, a fault rule on a Nuro operation is refused as one that could never fire.
#: Generated examples per operation (CI: 150, about 2,400 cases; ``MUSICAPI_MOCK_FUZZ_EXAMPLES=1000`` for a long run).
EXAMPLES = int(os.environ.get("MUSICAPI_MOCK_FUZZ_EXAMPLES", "150"))
APP = create_app(MockConfig(clock="manual", nuro=NuroMode.parse("legacy")))
SETTINGS = Config.from_dict(
    {
        "seed": 13,
        "headers": {"Authorization": "Bearer sk_fuzz"},
        "generation": {"max-examples": EXAMPLES, "database": "none", "mode": "all"},
        "checks": {"ignored_auth": {"enabled": False}},
        "suppress-health-check": ["all"],
    }
)
schema = schemathesis.openapi.from_asgi("/_mock/openapi.json", APP, config=SETTINGS)
OPERATIONS = sorted(op for op, spec in ApiSpec.load().operations.items() if spec.spec_name != CONTROL_SPEC)


def _follow_fault_rules(body: dict[str, Any]) -> None:
    operation = body.get("operation")
    if isinstance(operation, str) and operation not in OPERATIONS:
        operation = body["operation"] = OPERATIONS[len(operation) % len(OPERATIONS)]
    error = body.get("error")
    if isinstance(operation, str) and isinstance(error, str):
        allowed = [spec.id for spec in CATALOG.for_operation(operation)]
        if error not in allowed and allowed:
            body["error"] = allowed[len(error) % len(allowed)]
    if "times" in body and "probability" in body:  # keep the one a negative case made invalid
        times, probability = body["times"], body["probability"]
        times_ok = isinstance(times, int) and not isinstance(times, bool) and times >= 1
        probability_ok = isinstance(probability, int | float) and not isinstance(probability, bool)
        probability_ok = probability_ok and 0 <= probability <= 1
        del body["times" if times_ok and not probability_ok else "probability"]
    elif "times" not in body and "probability" not in body:
        body["times"] = 1


@schema.hook
def map_case(context: HookContext, case: Case) -> Case:
    """Fault rule bodies follow the rules their schema cannot state."""
    if case.operation.path == "/_mock/faults" and case.method == "POST" and isinstance(case.body, dict):
        _follow_fault_rules(case.body)
    query = case.query
    if case.operation.path == "/_mock/errors" and isinstance(query, dict) and isinstance(query.get("operation"), str):
        query["operation"] = OPERATIONS[len(query["operation"]) % len(OPERATIONS)]  # an operation of the API
    return case


@schema.parametrize()
def test_no_control_call_is_a_server_error(case: Case) -> None:
    """Every generated control-plane request is answered in its spec and never with a 5xx."""
    case.call_and_validate()
