"""Sonic, the vocal successor: two clips per create, each finishing on its own, webhooks as ``suno``.

``rules.py`` is pure (no web stack: importing it loads no starlette); ``handlers.py`` speaks HTTP; ``family.py``
is what the engine sees (the Family interface) and the registry entry.
"""
