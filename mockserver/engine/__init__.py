"""The family-agnostic domain: lifecycle, ledger, accounts, billing, triggers, faults, limits, webhooks.

Pure: no starlette, uvicorn or httpx (an import-linter contract holds this). Every function receives a
:class:`~mockserver.engine.context.Context`, never the composition root; the store protocols it needs are
declared in :mod:`mockserver.engine.ports`, and the stores in ``mockserver.store`` adapt them.
"""
