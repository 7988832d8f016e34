"""Schemathesis wiring: explicit configs (no ``schemathesis.toml`` discovery), the budget hooks, the input
rules, the documented-refusal filter and the family task checks.

Hooks registered here are global to the process, which is the contract suite's own pytest process.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, cast

import schemathesis
from schemathesis import APIOperation, BaseSchema, Config, HookContext, Response
from schemathesis import Case as _Case
from schemathesis.checks import CheckContext
from schemathesis.core import NOT_SET
from schemathesis.core.failures import AcceptedNegativeData, Failure, ServerError
from schemathesis.openapi.checks import MissingHeaderNotRejected, RejectedPositiveData

from contracts import families
from contracts.budget import NO_BODY
from contracts.session import ContractSession, Target, current

Case = _Case[APIOperation[Any, Any, Any, Any]]
#: A pytest test function parametrized by schemathesis.
TestFunction = Callable[..., None]

#: Failures a documented refusal explains (see ``families.RefusalPolicy``): a refused valid request...
REFUSAL_FAILURES = (RejectedPositiveData, ServerError, MissingHeaderNotRejected, AcceptedNegativeData)
#: ...and, only for an unavailable or retired operation (which answers its documented status to anything),
#: a 5xx, a missing header or an invalid body that was not answered with a 4xx.
RETIREMENT_FAILURES = (ServerError, MissingHeaderNotRejected, AcceptedNegativeData)


def st_config(
    session: ContractSession,
    target: Target,
    *,
    mode: str,
    billable_positive: bool = False,
    stateful_steps: int | None = None,
) -> Config:
    """The schemathesis config of one layer, built explicitly from the run's options.

    Mocks: every phase, ``max_examples`` examples (default 25), shrinking on. Budgeted runs (live, or
    ``--max-credits``): no shrinking (no replays), no security-parameter cases (they would be billed if
    the service ignored auth), and for billable positive tests the fuzzing phase only, with
    ``--live-examples`` examples. Every run: fixed seed, no example database, the mock's ``ignored_auth``
    probes off (the mock accepts any non-empty key by design; wrong keys are checked by the preflight
    and layer 0), and positive data must be answered 2xx (404 for unknown ids).
    """
    options = session.options
    budgeted = session.guard.budgeted
    examples = options.max_examples or 25
    if budgeted and billable_positive:
        examples = options.live_examples
    generation: dict[str, Any] = {"max-examples": examples, "database": "none", "mode": mode}
    phases: dict[str, Any] = {}
    if budgeted:
        generation["no-shrink"] = True
        generation["with-security-parameters"] = False
        if billable_positive:
            phases = {"examples": {"enabled": False}, "coverage": {"enabled": False}}
    if stateful_steps is not None:
        phases["stateful"] = {"max-steps": stateful_steps}
    raw: dict[str, Any] = {
        "seed": options.seed,
        "base-url": target.url,
        "headers": {"Authorization": f"Bearer {options.key}"},
        "generation": generation,
        "checks": {
            "ignored_auth": {"enabled": False},
            "positive_data_acceptance": {"expected-statuses": ["2xx", "404"]},
        },
        "phases": phases,
        "suppress-health-check": ["all"],
    }
    return Config.from_dict(raw)


def product_schema(session: ContractSession, target: Target, **kwargs: Any) -> BaseSchema:
    """The product spec (what ``/openapi.json`` serves, built from ``openapi/``) loaded for a layer."""
    return schemathesis.openapi.from_dict(
        copy.deepcopy(session.spec.product_document), config=st_config(session, target, **kwargs)
    )


def parametrize(schema: BaseSchema) -> Callable[[TestFunction], TestFunction]:
    """``schema.parametrize()``, typed: one pytest item per operation."""
    return cast(Callable[[TestFunction], TestFunction], schema.parametrize())


def case_body(case: Case) -> Any:
    """The JSON body of a case (:data:`NO_BODY` when there is none or it is not JSON)."""
    if case.body is NOT_SET or (case.media_type and "json" not in case.media_type):
        return NO_BODY
    return case.body


def _operation_id(case: Case) -> str | None:
    """The operationId of a case (by its label, ``POST /api/v1/nuro/create``)."""
    spec = current().spec
    for op in spec.operations.values():
        if op.label == case.operation.label:
            return op.operation_id
    return None


@schemathesis.hook
def map_case(context: HookContext, case: Case) -> Case:
    """Make schema-valid bodies follow the family's input rules (``families.INPUT_RULES``)."""
    operation_id = _operation_id(case)
    body = case_body(case)
    if operation_id is not None and body is not NO_BODY:
        repaired = families.repair_body(current().spec, operation_id, body)
        if repaired is not body:
            case.body = repaired
    return case


def _affordable(case: Case) -> bool:
    """On a budgeted run, whether a case fits: cases built at collection (spec examples, the coverage
    phase) must be free; cases generated while a test runs must fit its allowance."""
    guard = current().guard
    if not guard.budgeted:
        return True
    price = guard.pricing.price(case.method, case.formatted_path, case_body(case))
    if guard.current is None:
        return price == 0
    remaining = guard.remaining_for_test()
    return remaining is None or price <= remaining


@schemathesis.hook
def filter_case(context: HookContext, case: Case) -> bool:
    """On a budgeted run, do not even generate a request the allowance cannot pay for."""
    return _affordable(case)


@schemathesis.hook
def before_add_examples(context: HookContext, examples: list[Case]) -> None:
    """The spec-examples phase gets neither ``map_case`` nor ``filter_case``: repair and filter here."""
    kept = [map_case(context, case) for case in examples]
    examples[:] = [case for case in kept if _affordable(case)]


@schemathesis.hook
def before_call(context: HookContext, case: Case, kwargs: dict[str, Any]) -> None:
    """The hard budget: raise before sending a request that does not fit (notes §6)."""
    price = current().guard.reserve(case.method, case.formatted_path, case_body(case))
    _PRICES[id(case)] = price


@schemathesis.hook
def after_call(context: HookContext, case: Case, response: Response) -> None:
    """Account for the answer (and fail the test on spending nobody budgeted)."""
    price = _PRICES.pop(id(case), 0)
    current().guard.settle(case.method, case.formatted_path, price, response.status_code)


_PRICES: dict[int, int] = {}


def _response_json(response: Response) -> Any:
    content_type = (response.headers.get("content-type") or [""])[0]
    if "json" not in content_type:
        return None
    try:
        return response.json()
    except Exception:
        return None


@schemathesis.hook
def filter_failure(context: HookContext, failure: Failure, case: Case, response: Response) -> bool:
    """Keep every failure except a refusal the documents announce (``families.RefusalPolicy``)."""
    if not isinstance(failure, REFUSAL_FAILURES):
        return True
    operation_id = _operation_id(case)
    if operation_id is None:
        return True
    session = current()
    target = next(
        (
            t
            for t in (session.main, session.targets.gone)
            if t is not None and response.request.url is not None and str(response.request.url).startswith(t.url)
        ),
        session.main,
    )
    reason = session.refusals(target).is_documented_refusal(
        operation_id, case_body(case), response.status_code, _response_json(response)
    )
    if isinstance(failure, RETIREMENT_FAILURES) and not session.refusals(target).unavailable(operation_id):
        return True
    return reason is None


@schemathesis.check
def task_body_rules(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A polled task obeys its family's rules at every instant (``families.TASK_RULES``)."""
    rules = families.TASK_RULES.get(_operation_id(case) or "")
    if rules is None or response.status_code != 200:
        return None
    body = _response_json(response)
    if not isinstance(body, dict):
        return None
    problems = rules(body)
    assert not problems, "; ".join(problems)
    return True
