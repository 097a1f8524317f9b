"""Tokens with lemmas and character offsets, from fugashi with the unidic-lite dictionary."""

from __future__ import annotations

import threading
from typing import Any, NamedTuple

import fugashi

SENTENCE_ENDS = set("。！？!?\n")


class Token(NamedTuple):  # a tuple: cheap to build for every word of every message
    surface: str
    lemma: str
    pos: str
    start: int  # offsets in the normalised text
    end: int
    sentence: int  # index of the sentence the token is in


_local = threading.local()


def tagger() -> fugashi.Tagger:
    # One tagger per thread: MeCab's tagger keeps its lattice inside, so two threads parsing
    # with one tagger corrupt each other's words (the worker runs residents in parallel, and
    # an administrator's publish checks the lexicon meanwhile). Loading it is the slow part.
    found: fugashi.Tagger | None = getattr(_local, "tagger", None)
    if found is None:
        found = _local.tagger = fugashi.Tagger()
    return found


LEMMA_FIELD = 7  # unidic: pos1..pos4, cType, cForm, lForm, lemma, ...


def _slow_pos_and_lemma(word: Any) -> tuple[str, str | None]:
    feature = word.feature
    return feature.pos1 or "", feature.lemma


def tokenize(text: str) -> list[Token]:
    """Runs for every message, so it is written flat: it reads two fields of the raw CSV,
    as building fugashi's feature tuple for every word costs more than all our matching."""
    tokens: list[Token] = []
    append = tokens.append
    cursor = 0
    sentence = 0
    for word in tagger()(text):
        surface = word.surface
        space = word.white_space  # what MeCab skipped before this word
        start = cursor + len(space)
        end = start + len(surface)
        if "\n" in space:
            sentence += 1
        fields = word.feature_raw.split(",", LEMMA_FIELD + 1)
        lemma: str | None
        if len(fields) <= LEMMA_FIELD:
            pos, lemma = fields[0], None  # an unknown word: no lemma
        elif '"' in fields[LEMMA_FIELD] or '"' in fields[0]:
            pos, lemma = _slow_pos_and_lemma(word)  # quoted CSV: a comma inside the word
        else:
            pos, lemma = fields[0], fields[LEMMA_FIELD]
        if not lemma or lemma == "*":
            lemma = surface
        elif "-" in lemma and not lemma.startswith("-"):
            # unidic lemmas of loanwords carry the source word ("カット-cut"); keep the Japanese.
            lemma = lemma.split("-", 1)[0]
        append(Token(surface, lemma, pos, start, end, sentence))
        if surface[-1] in SENTENCE_ENDS:
            sentence += 1
        cursor = end
    return tokens
