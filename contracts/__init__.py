"""Contract tests for MusicAPI: any endpoint (the mock by default, the live service on request) against
the specs in ``openapi/`` and the behaviour the documents promise. See ``contracts/README.md``.
"""
