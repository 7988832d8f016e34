"""The registry: every family, in one list (the only module that imports them all)."""

from __future__ import annotations

from mockserver.families import account, studio
from mockserver.families.entry import FamilyEntry
from mockserver.families.nuro import family as nuro
from mockserver.families.producer import family as producer
from mockserver.families.sonic import family as sonic
from mockserver.spec import ApiSpec

__all__ = ["registry"]


def registry(spec: ApiSpec) -> list[FamilyEntry]:
    """Every family, built from the loaded spec."""
    return [
        nuro.register(spec),
        sonic.register(spec),
        producer.register(spec),
        studio.register(spec),
        account.register(spec),
    ]
