"""Surface patterns run by RE2: time linear in the text, whatever an administrator writes.

Python's `re` backtracks: one lexicon pattern with a few adjacent `\\s*` took seconds on a
message of spaces, and a pattern like `(a|a)*b` can take hours. RE2 cannot backtrack, so it
has no look-arounds either; a rule says what must not count with a second pattern, `unless`:
a match of `pattern` that lies inside a match of `unless` is dropped (虐待 unless 虐待防止).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import re2

# An `unless` match may start this many characters before the match it cancels (a
# look-behind such as 「鳥が」飛ぶ); what lies further back cannot cancel it.
UNLESS_REACH = 24
# Each rule reports at most this many places in one message: the level does not change with
# the hundredth 「今」, and the work per message stays bounded.
MAX_MATCHES = 12


class PatternError(ValueError):
    pass


def _options(*, longest: bool = False) -> re2.Options:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # the error is raised to the caller, who names the rule
    options.longest_match = longest
    return options


def compile_pattern(source: str, *, longest: bool = False) -> re2._Regexp:
    """An RE2 program, or PatternError with an explanation an administrator can act on."""
    try:
        return re2.compile(source, _options(longest=longest))
    except re2.error as e:
        detail = e.args[0].decode() if e.args and isinstance(e.args[0], bytes) else str(e)
        if "(?!" in source or "(?=" in source or "(?<" in source:
            detail += ("; look-aheads and look-behinds are not supported (they make matching "
                       "slow): write what must not count as `unless`")
        elif "\\1" in source or "\\2" in source:
            detail += "; back-references are not supported"
        raise PatternError(f"pattern does not compile: {detail}") from e


@dataclass(frozen=True)
class Pattern:
    regex: re2._Regexp
    unless: re2._Regexp | None = None

    @classmethod
    def of(cls, source: str, unless: str | None = None) -> Pattern:
        return cls(compile_pattern(source),
                   compile_pattern(unless, longest=True) if unless else None)

    def search(self, text: str) -> bool:
        return next(self.finditer(text), None) is not None

    def finditer(self, text: str) -> Iterator[tuple[int, int]]:
        """Spans of matches that no `unless` match covers, at most MAX_MATCHES of them."""
        pos, found, skipped = 0, 0, 0
        while pos <= len(text) and found < MAX_MATCHES and skipped <= MAX_MATCHES:
            m = self.regex.search(text, pos)
            if m is None:
                return
            start, end = m.span()
            if self.unless is not None and self._cancelled(text, start, end):
                # Look again one character on: 「今まで…今殴られ」 has a second 今.
                skipped += 1
                pos = start + 1
                continue
            found += 1
            yield start, end
            pos = end if end > start else start + 1

    def _cancelled(self, text: str, start: int, end: int) -> bool:
        assert self.unless is not None
        # On a window around the match, so that each try costs the window, not the message.
        lo = max(0, start - UNLESS_REACH)
        window = text[lo:end + UNLESS_REACH]
        for at in range(start - lo, -1, -1):
            m = self.unless.match(window, at)
            if m is not None and lo + m.end() >= end:
                return True
        return False


# RE2::Set answers from a DFA; on a very long text the DFA may run out of memory and then says
# "no match". Beyond this length every pattern is run on its own instead (still linear).
SET_MAX_CHARS = 2000


class PatternSet:
    """Every pattern of a lexicon in one RE2 set: one scan of a message says which patterns
    can match at all, instead of one search per pattern (most of the cost of a message)."""

    def __init__(self, sources: list[str]) -> None:
        self.size = len(sources)
        options = _options()
        options.max_mem = 64 << 20
        self._set: re2.Set | None = re2.Set.SearchSet(options)
        try:
            for source in sources:
                self._set.Add(source)
            self._set.Compile()
        except re2.error:  # too large to compile as one: each pattern runs on its own
            self._set = None

    def candidates(self, text: str) -> list[int]:
        """Indexes of the patterns that match somewhere in `text` (all, when not sure)."""
        if self._set is None or len(text) > SET_MAX_CHARS:
            return list(range(self.size))
        return sorted(self._set.Match(text) or ())
