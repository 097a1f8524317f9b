"""Identifiers for what administrators add in forms (a choice's value, a town, a number).

The files need ids of lower-case letters, digits and `_`; a welfare officer should never have to
invent one. The reading of the words is used where it is kana (「はい」 → `hai`), else a plain
fallback, and a number is added until the id is free.
"""

from __future__ import annotations

import re
from collections.abc import Collection

import jaconv


def identifier(words: str, taken: Collection[object], fallback: str) -> str:
    roman = jaconv.kana2alphabet(jaconv.kata2hira(jaconv.z2h(words, kana=False, ascii=True,
                                                               digit=True))).lower()
    base = re.sub(r"[^a-z0-9]+", "_", roman).strip("_")[:30] or fallback
    found, n = base, 2
    while found in taken:
        found, n = f"{base}_{n}", n + 1
    return found
