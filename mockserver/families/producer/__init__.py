"""Producer, the BGM successor: one clip per create, a top-level PENDING → RUNNING → SUCCESS | FAILED.

``rules.py`` is pure (no web stack: importing it loads no starlette); ``handlers.py`` speaks HTTP; ``family.py``
is what the engine sees (the Family interface) and the registry entry.
"""
