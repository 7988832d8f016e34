"""The API families, one folder (or module) each; ``registry.py`` is the only module that names them all.

Adding a family is a folder ``families/<name>/`` (``rules.py`` pure, ``handlers.py`` HTTP, and a
``family.py`` whose ``register(spec)`` returns its :class:`~mockserver.families.entry.FamilyEntry`), its
spec file in ``openapi/``, and one line in ``registry.py``.
"""
