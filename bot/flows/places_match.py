"""A town's name typed instead of tapped, matched tolerantly. Pure: no I/O.

A prefecture serves tens of towns, more than one quick reply holds, and many residents would
rather write 「あおば」 than look for it. The typed words and each municipality's name and
reading are put in one form before comparing: NFKC (full/half width), katakana as hiragana,
no blanks, and without the 市/町/村 (or their readings) at the end. A small typo still matches
when only one town is that close; several equally close towns are all returned, for the
resident to choose with buttons.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import jaconv

# The most towns offered when a typed name could be several (they are quick-reply buttons).
MAX_CANDIDATES = 5
# A typo: one character wrong, missing or extra in a name of 3 to 7 characters (「あおぼ」,
# 「高盛町」), one more in each 4 after that; shorter names must be written right.
SHORTEST_FUZZY = 3

# The ending that says what kind of town it is, written or read (し, まち/ちょう, むら/そん).
_SUFFIX = re.compile(r"(市|町|村|区|し|まち|ちょう|むら|そん)$")
# What residents add around the name: 「あおば町です」「あおば町に住んでいます」「住所はあおば」.
_AROUND = re.compile(
    r"^(住所は|住まいは|すまいは|じゅうしょは|わたしは|私は)|"
    r"(に住んでいます|にすんでいます|に住んでる|にすんでる|です|だよ|在住|住み|の者)$")
_BLANKS = re.compile(r"[\s\u3000・.,。、「」『』()（）]+")


@dataclass(frozen=True)
class Place:
    """One municipality as matching sees it."""

    id: str
    name: str
    kana: str | None = None
    aliases: tuple[str, ...] = ()


def fold(text: str) -> str:
    """The form both sides are compared in: NFKC, katakana → hiragana, lower case, no blanks
    or quotes (「アオバ町」「ｱｵﾊﾞ町」「あおば 町」 all become 「あおば町」)."""
    text = unicodedata.normalize("NFKC", text)
    text = jaconv.kata2hira(text).casefold()
    return _BLANKS.sub("", text)


def core(text: str) -> str:
    """The folded name without what residents add around it nor its 市/町/村 ending."""
    folded = _AROUND.sub("", fold(text))
    folded = _AROUND.sub("", folded)  # 「住所はあおば町です」: both sides
    stripped = _SUFFIX.sub("", folded)
    return stripped or folded


def forms(place: Place) -> set[str]:
    """Every folded form the place may be written in: its name and reading, with and without
    the ending."""
    found: set[str] = set()
    for name in (place.name, place.kana, *place.aliases):
        if name:
            found |= {fold(name), core(name)}
    return {f for f in found if f}


def distance(a: str, b: str) -> int:
    """Levenshtein's edit distance: characters to change, add or remove to make one the other."""
    before = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        now = [i]
        for j, cb in enumerate(b, 1):
            now.append(min(before[j] + 1, now[j - 1] + 1, before[j - 1] + (ca != cb)))
        before = now
    return before[-1]


def _typo(typed: set[str], place: Place) -> int | None:
    """How many characters these words are off the place's name, if few enough for a typo."""
    found = [d for f in forms(place) if len(f) >= SHORTEST_FUZZY
             for t in typed if len(t) >= SHORTEST_FUZZY
             if (d := distance(t, f)) <= max(1, len(f) // 4)]
    return min(found, default=None)


def match(places: Iterable[Place], text: str) -> list[str]:
    """The ids of the municipalities these words name, best first: one when it is clear, several
    when the words fit more than one (to ask which), none when they name no town we know."""
    places = list(places)
    typed = fold(text)
    typed_core = core(text)
    if not typed_core or len(typed) > 30:  # a sentence about something else, not a name
        return []
    exact = [p.id for p in places if typed in forms(p) or typed_core in forms(p)]
    if exact:
        return exact[:MAX_CANDIDATES]
    # The beginning of a name (「やま」 for やまね町, やまだ村): every town it begins.
    if len(typed_core) >= 2:
        starts = [p.id for p in places if any(f.startswith(typed_core) for f in forms(p))]
        if starts:
            return starts[:MAX_CANDIDATES]
    # A small typo: the closest, and every one as close (to ask which).
    near = [(d, p.id) for p in places if (d := _typo({typed, typed_core}, p)) is not None]
    best = min((d for d, _ in near), default=None)
    return [pid for d, pid in near if d == best][:MAX_CANDIDATES]
