"""Nuro, the retired family: 410 Gone by default, the documented behaviour in legacy mode.

``rules.py`` is pure (no web stack: importing it loads no starlette); ``handlers.py`` speaks HTTP; ``family.py``
is what the engine sees (the Family interface) and the registry entry.
"""
