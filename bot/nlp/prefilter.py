"""Which characters can start a match of a regex: a cheap gate before running it.

With some eighty pattern rules, running every regex on every message costs more than
tokenising it. Most patterns begin with one of a few literal characters; a message that
contains none of them cannot match, and the regex is skipped. When the start cannot be
worked out (a class like \\w, an optional first element), the answer is None: always run.
"""

from __future__ import annotations

import re
from typing import Any

try:  # the parser behind `re`; its layout is stable but private, so fall back gracefully
    from re import _constants as C  # type: ignore[attr-defined]
    from re import _parser as P  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - other Python versions
    P = C = None


def first_chars(pattern: str, flags: int = 0) -> frozenset[str] | None:
    if P is None:
        return None
    try:
        parsed = P.parse(pattern, flags)
        found = _first(list(parsed))
    except Exception:  # anything unexpected: no gate, the regex always runs
        return None
    if found is None:
        return None
    if flags & re.IGNORECASE:
        found = found | {c.upper() for c in found} | {c.lower() for c in found}
    return frozenset(found)


def _first(items: list[tuple[Any, Any]]) -> set[str] | None:
    """First characters of a sequence of parsed items (None: unknown or may be empty)."""
    for op, arg in items:
        if op is C.AT:  # ^, $, \\b: zero width, look at what follows
            continue
        if op is C.LITERAL:
            return {chr(arg)}
        if op is C.IN:
            chars: set[str] = set()
            for kind, value in arg:
                if kind is C.LITERAL:
                    chars.add(chr(value))
                elif kind is C.RANGE and value[1] - value[0] < 256:
                    chars.update(chr(c) for c in range(value[0], value[1] + 1))
                else:
                    return None
            return chars
        if op is C.BRANCH:
            union: set[str] = set()
            for branch in arg[1]:
                got = _first(list(branch))
                if got is None:
                    return None
                union |= got
            return union
        if op is C.SUBPATTERN:
            return _first(list(arg[-1]))
        if op in (C.MAX_REPEAT, C.MIN_REPEAT) and arg[0] >= 1:
            return _first(list(arg[2]))
        return None  # optional elements, look-arounds, back-references, any char...
    return None
