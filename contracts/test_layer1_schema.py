"""Layer 1: schema conformance of every product operation with schemathesis (``/openapi.json``, built from
``openapi/``): response schemas, status codes, content types, headers; schema-valid data accepted,
invalid data rejected with a 4xx; no server errors.

``test_accepts_valid_input`` generates positive data only: after the family input rules
(``families.INPUT_RULES``), it must be answered 2xx (404 for an unknown id), or with a refusal the documents
announce (``families.RefusalPolicy``) — never with an arbitrary 400. ``test_rejects_invalid_input``
generates negative data (plus the spec examples and boundary cases of the coverage phase). On budgeted
runs billable positive cases are limited to ``--live-examples`` per operation and free cases only are
generated for the negative test. ``test_retired_nuro_conforms`` runs both modes against the suite's own
default mock, where Nuro is retired: whatever the request, 410 Gone as documented (never a 5xx).
"""

from __future__ import annotations

import pytest

from contracts.session import current
from contracts.st_support import Case, parametrize, product_schema

CONTRACT = current()
BUDGETED = CONTRACT.guard.budgeted
positive = product_schema(CONTRACT, CONTRACT.main, mode="positive", billable_positive=True)
negative = product_schema(CONTRACT, CONTRACT.main, mode="negative")
#: The suite's own Nuro-gone mock (elsewhere the main target is already where Nuro is retired, or not).
GONE = CONTRACT.targets.gone if CONTRACT.options.mode == "own" else None
retired = product_schema(CONTRACT, GONE or CONTRACT.main, mode="all").include(tag="nuro")


@pytest.mark.cost(per_operation=True, calls=CONTRACT.options.live_examples if BUDGETED else None)
@parametrize(positive)
def test_accepts_valid_input(case: Case) -> None:
    """Schema-valid requests are accepted and every answer conforms."""
    case.call_and_validate()


@pytest.mark.cost(credits=0 if BUDGETED else None)
@parametrize(negative)
def test_rejects_invalid_input(case: Case) -> None:
    """Schema-invalid requests are refused with a documented 4xx and every answer conforms."""
    case.call_and_validate()


@pytest.mark.cost(credits=0)
@parametrize(retired)
def test_retired_nuro_conforms(case: Case) -> None:
    """Where Nuro is retired (a default mock), every request to it gets the documented 410, never a 5xx."""
    if GONE is None:
        pytest.skip("the suite's own Nuro-gone mock runs only without --base-url/--mock-url")
    case.call_and_validate()
