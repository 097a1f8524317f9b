"""Tokens with lemmas and character offsets, from fugashi with the unidic-lite dictionary."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import fugashi

SENTENCE_ENDS = set("。！？!?\n")


@dataclass(frozen=True)
class Token:
    surface: str
    lemma: str
    pos: str
    start: int  # offsets in the normalised text
    end: int
    sentence: int  # index of the sentence the token is in


@lru_cache(maxsize=1)
def tagger() -> fugashi.Tagger:
    # One tagger per process: loading the dictionary is the expensive part.
    return fugashi.Tagger()


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    cursor = 0
    sentence = 0
    for word in tagger()(text):
        surface = word.surface
        start = text.find(surface, cursor)
        if start < 0:  # should not happen; keep offsets monotonic anyway
            start = cursor
        end = start + len(surface)
        if any(c in SENTENCE_ENDS for c in text[cursor:start]):
            sentence += 1
        lemma = word.feature.lemma
        if not lemma or lemma == "*":
            lemma = surface
        # unidic lemmas of loanwords carry the source word ("カット-cut"); keep the Japanese.
        lemma = lemma.split("-", 1)[0] if "-" in lemma and not lemma.startswith("-") else lemma
        tokens.append(Token(surface, lemma, word.feature.pos1 or "", start, end, sentence))
        if surface in SENTENCE_ENDS or any(c in SENTENCE_ENDS for c in surface):
            sentence += 1
        cursor = end
    return tokens
