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


_LATIN = re.compile(r"[A-Za-zＡ-Ｚａ-ｚ]")


def script_of(text: str) -> Script:
    """ja unless the message is written in Latin letters: then English or romaji."""
    if not _LATIN.search(text):
        return "ja"  # most messages: no Latin letter at all
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


def to_kana(text: str, *, n_before_y: bool = False) -> str:
    """Romaji to hiragana with jaconv. A doubled n before a vowel (minna) is ん + n first,
    which jaconv alone reads as んあ; sentence marks become Japanese ones (。、), which is what
    the rules expect. `n_before_y` reads an n between a vowel and y as ん (konya: こんや,
    not こにゃ): typed without an IME, the two cannot be told apart."""
    text = re.sub(r"n(?=n[aiueoy])", "ん", text.lower())
    if n_before_y:
        text = re.sub(r"(?<=[aiueo])n(?=y[aiueo])", "n'", text)
    return jaconv.alphabet2kana(text).translate(_MARKS)


_MARKS = str.maketrans({".": "。", ",": "、", "!": "！", "?": "？"})


def prepare(text: str) -> Prepared:
    return readings(text)[0]


def readings(text: str) -> list[Prepared]:
    """The message as the analysis reads it, and the analysis keeps the safest reading. A
    message read as romaji is also read as it was written: a short Indonesian, Tagalog,
    Vietnamese or Portuguese sentence can be made of Japanese syllables only (aku di jembatan),
    and its own language's rules must still see it. Romaji that can be read two ways (konya:
    こんや or こにゃ) gives both kana readings."""
    script = script_of(text)
    if script != "romaji":
        return [_prepared(script, text, None)]
    kana = [to_kana(text)]
    other = to_kana(text, n_before_y=True)
    if other != kana[0]:
        kana.append(other)
    return [*(_prepared(script, k, k) for k in kana), _prepared("en", text, None)]


def _prepared(script: Script, text: str, read_as: str | None) -> Prepared:
    norm = normalise(text)
    return Prepared(script, norm, to_hiragana(norm.text), tokenize(norm.text), read_as)


def dictionary_form(word: str) -> str:
    """The lemma the analyser reads a single word as (米びつ → 米櫃, パチンコ → ぱちんこ), for
    rules written by people who do not know unidic's lemmas; words read as several stay as
    written (the rule's examples say whether they match)."""
    tokens = prepare(word).tokens
    return tokens[0].lemma if len(tokens) == 1 else word


def lemmas_of(text: str) -> list[str]:
    """How the analyser reads a sentence, word by word, in the lemmas rules are written in."""
    return [t.lemma for t in prepare(text).tokens]
