"""One reading of a message for the rules and the model alike: the language it is written
in, romaji turned into kana (jaconv), normalised text, and fugashi's tokens. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import jaconv

from bot.nlp.normalize import Normalised, normalise, to_hiragana
from bot.nlp.tokens import Token, tokenize

Script = Literal["ja", "romaji", "en"]

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
# Syllables of Hepburn and kunrei romaji, as typed on a phone: a word made only of them is
# Japanese written in Latin letters. English words rarely are ("die" is, "want" is not).
_SYLLABLE = (r"(?:(?:ky|gy|sh|sy|ch|cy|ty|dy|ny|hy|by|py|my|ry|ts|j|[kgsztdnhbpmyrwfv])?"
             r"[aiueo]|n(?![aiueoy])|[kstpgdbcm](?=[kstpgdbcmj]))")
_ROMAJI_WORD = re.compile(rf"(?:{_SYLLABLE})+")
# Words that say "this is English", which a romaji sentence does not contain.
_ENGLISH = frozenset("""i i'm im me my myself you your he she they we it it's is am are was were
be been the a an to of and or but not no don't dont can't cant won't will would want wanna
going gonna have has had do does did this that what how why when where there here just
can't anymore help please kill die dying dead life live tonight today now all for with on in
at from so if then than feel feeling think know sorry goodbye bye everyone nobody anyone
someone pills jump hurt hit scared afraid money food rent home job work""".split())  # noqa: SIM905 - reads better as words


@dataclass(frozen=True)
class Prepared:
    script: Script
    norm: Normalised  # of the text the analysis reads (kana for romaji), spans map to it
    folded: str  # normalised, katakana folded to hiragana: what patterns and n-grams see
    tokens: list[Token]
    read_as: str | None = None  # the kana reading of a romaji message, for the explanation


def script_of(text: str) -> Script:
    """ja unless the message is written in Latin letters: then English or romaji."""
    letters = sum(1 for c in text if c.isalpha())
    ascii_letters = sum(1 for c in text if c.isascii() and c.isalpha())
    if not letters or ascii_letters / letters < 0.8:
        return "ja"
    words = _WORD.findall(text.lower())
    if not words:
        return "ja"
    english = sum(1 for w in words if w in _ENGLISH and w not in ("to", "no", "de"))
    romaji = sum(1 for w in words if _ROMAJI_WORD.fullmatch(w))
    if english / len(words) >= 0.2 or romaji / len(words) < 0.75:
        return "en"
    return "romaji"


def to_kana(text: str) -> str:
    """Romaji to hiragana with jaconv; a doubled n before a vowel (minna) is ん + n first,
    which jaconv alone reads as んあ."""
    text = re.sub(r"n(?=n[aiueoy])", "ん", text.lower())
    return jaconv.alphabet2kana(text)


def prepare(text: str) -> Prepared:
    script = script_of(text)
    read_as = to_kana(text) if script == "romaji" else None
    norm = normalise(read_as if read_as is not None else text)
    return Prepared(script, norm, to_hiragana(norm.text), tokenize(norm.text), read_as)
