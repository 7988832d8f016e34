"""Input-language support: Nuro "currently supports Chinese and English".

The mock cannot tell English from other Latin-script languages without a language model, so the
rule is by script: letters must be Latin or Han (CJK ideographs). Text whose letters are more than
:data:`FOREIGN_SHARE` from other scripts (Cyrillic, Arabic, Hangul, Kana, Thai, ...) is not supported.
"""

from __future__ import annotations

import unicodedata

#: Share of letters from unsupported scripts above which input is refused.
FOREIGN_SHARE = 0.2
_SUPPORTED_PREFIXES = ("LATIN", "CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH")


def is_supported(text: str) -> bool:
    """Whether ``text`` is Chinese or English (by script; see module docs)."""
    if text.isascii():  # every ASCII letter is Latin: the common case costs one C call
        return True
    letters = foreign = 0
    for char in text:
        if char.isascii():
            letters += char.isalpha()
            continue
        if not char.isalpha():
            continue
        letters += 1
        name = unicodedata.name(char, "")
        if not name.startswith(_SUPPORTED_PREFIXES):
            foreign += 1
    return letters == 0 or foreign / letters <= FOREIGN_SHARE
