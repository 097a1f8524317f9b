"""Text normalisation that remembers where each character came from.

Matching runs on the normalised text; spans are reported on the resident's own text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_REPEAT = 1  # a character repeated 3+ times counts once (しにたいいいい → しにたい)
REPEAT_RUN = 3
HALF_WIDTH_MARKS = "\uff9e\uff9f"  # ﾞ ﾟ


@dataclass(frozen=True)
class Normalised:
    text: str
    origin: list[int]  # origin[i]: index in the original text of normalised character i
    original: str

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original-text span of normalised characters [start, end)."""
        if start >= end:
            return (self.origin[start] if start < len(self.origin) else len(self.original),) * 2
        return self.origin[start], self.origin[end - 1] + 1


_HIRAGANA = {c: c - 0x60 for c in range(ord("ァ"), ord("ヶ") + 1)}


def to_hiragana(text: str) -> str:
    """Katakana → hiragana, one character for one (so offsets stay valid)."""
    return text.translate(_HIRAGANA)


_RUN = re.compile(rf"(\S)\1{{{REPEAT_RUN - 1},}}|\s\s")
# What no tokenizer or pattern should meet: NUL and other controls, lone surrogates (a
# broken emoji from a client). They become a space or U+FFFD, so the message is still read.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


_CURLY_CHARS = "\u2018\u2019\u02bc"
_CURLY = re.compile(f"[{_CURLY_CHARS}]")


def _safe(c: str) -> str:
    if "\ud800" <= c <= "\udfff":
        return "\ufffd"
    return " " if _UNSAFE.match(c) else c


def normalise(text: str) -> Normalised:
    if not _UNSAFE.search(text) and unicodedata.is_normalized("NFKC", text) \
            and text == text.lower() and not _RUN.search(text) and not _CURLY.search(text):
        return Normalised(text, list(range(len(text))), text)  # the common case: nothing to do
    chars: list[str] = []
    origin: list[int] = []
    for i, c in enumerate(text):
        # A phone's typographic apostrophe ("don\u2019t") is read as the keyboard's.
        n = "'" if c in _CURLY_CHARS else unicodedata.normalize("NFKC", _safe(c)).lower()
        # A half-width voiced mark belongs to the kana before it: ﾄﾞ is ド, not ト + ゛
        # (ｵｰﾊﾞｰﾄﾞｰｽﾞ must read オーバードーズ). Character by character NFKC would split them.
        if c in HALF_WIDTH_MARKS and chars:
            joined = unicodedata.normalize("NFC", chars[-1] + n)
            if len(joined) == 1:
                chars[-1] = joined
                continue
        for m in n:
            chars.append(m)
            origin.append(i)
    # Fold long runs of one character ("死にたいいいい", "つらーーーい"), and any run of
    # white space to one (a line break if it holds one): patterns then meet one space at most.
    out: list[str] = []
    out_origin: list[int] = []
    i = 0
    while i < len(chars):
        j = i
        if chars[i].isspace():
            while j < len(chars) and chars[j].isspace():
                j += 1
            out.append("\n" if "\n" in chars[i:j] else chars[i])
            out_origin.append(origin[i])
            i = j
            continue
        while j < len(chars) and chars[j] == chars[i]:
            j += 1
        keep = MAX_REPEAT if j - i >= REPEAT_RUN else j - i
        out.extend(chars[i:i + keep])
        out_origin.extend(origin[i:i + keep])
        i = j
    return Normalised("".join(out), out_origin, text)
