"""Which of content's languages a message is plainly written in, if any. Pure.

Used for a resident's first message only, to offer the switch in their language (or, when the
message is imminent danger, to answer in it at once). "Plainly": a wrong offer costs a Japanese
resident a confusing bubble, so the evidence must be clear — the script (Devanagari, Chinese
characters only Chinese uses) or several of the language's own words (`detect` in its file),
and nothing Japanese (kana, or romaji such as "tasukete").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from bot.content.languages import LanguagePack

_KANA = re.compile(r"[\u3040-\u30ff\uff66-\uff9f]")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_DEVANAGARI = re.compile(r"[\u0900-\u097f]")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
# Japanese written in the Latin alphabet: never offered another language.
ROMAJI = frozenset({
    "desu", "masu", "deshita", "tasukete", "kudasai", "onegai", "onegaishimasu", "arigatou",
    "arigato", "sumimasen", "gomen", "gomennasai", "watashi", "boku", "ore", "shinitai", "shinu",
    "kane", "okane", "nai", "naidesu", "dekinai", "wakaranai", "komatte", "komatteimasu",
    "sodan", "soudan", "shigoto", "ie", "kazoku",
})


def _script_pack(text: str, packs: Mapping[str, LanguagePack], script: str) -> LanguagePack | None:
    for pack in packs.values():
        if any(word in text for word in pack.detect if _script_of(word) == script):
            return pack
    return None


def _script_of(word: str) -> str:
    if _DEVANAGARI.search(word):
        return "deva"
    if _HAN.search(word):
        return "han"
    return "latin"


def detect(text: str, packs: Mapping[str, LanguagePack]) -> LanguagePack | None:
    """The language `text` is plainly written in, or None (Japanese, or not clear)."""
    text = unicodedata.normalize("NFC", text).strip().lower()
    if not text or _KANA.search(text):
        return None
    if _DEVANAGARI.search(text):
        return _script_pack(text, packs, "deva") or next(
            (p for p in packs.values() if any(_script_of(w) == "deva" for w in p.detect)), None)
    if _HAN.search(text):
        return _script_pack(text, packs, "han")
    words = _WORD.findall(text)
    if not words or ROMAJI.intersection(words):
        return None
    scores = []
    for pack in packs.values():
        known = {w for w in pack.detect if _script_of(w) == "latin"}
        hits = sum(1 for w in words if w in known)
        scores.append((hits, hits == len(words), pack.code, pack))
    scores.sort(key=lambda s: (s[0], s[1]), reverse=True)
    if not scores or scores[0][0] == 0:
        return None
    best, runner_up = scores[0], scores[1] if len(scores) > 1 else None
    clear = best[0] >= 2 or best[1]  # two of its words, or every word of a short message
    ahead = runner_up is None or best[0] > runner_up[0]
    return best[3] if clear and ahead else None
