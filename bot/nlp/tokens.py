"""Tokens with lemmas and character offsets, from fugashi with the unidic-lite dictionary."""

from __future__ import annotations

import threading
from typing import NamedTuple

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
_new = tuple.__new__  # a NamedTuple built without its Python-level __new__: 30% of the loop


def tagger() -> fugashi.Tagger:
    # One tagger per thread: MeCab's tagger keeps its lattice inside, so two threads parsing
    # with one tagger corrupt each other's words (the worker runs residents in parallel, and
    # an administrator's publish checks the lexicon meanwhile). Loading it is the slow part.
    found: fugashi.Tagger | None = getattr(_local, "tagger", None)
    if found is None:
        found = _local.tagger = fugashi.Tagger()
    return found


def tokenize(text: str) -> list[Token]:
    """Runs for every message, so it is written flat: MeCab writes all words as one string
    (surface, pronunciation, form, lemma, part of speech, ... separated by tabs), which costs
    a third of asking fugashi for a node object and its properties word by word."""
    tokens: list[Token] = []
    append = tokens.append
    find = text.find
    cursor = 0
    sentence = 0
    newline = "\n" in text
    for line in tagger().parse(text).split("\n"):
        fields = line.split("\t", 5)
        if len(fields) < 5:  # EOS, or the empty line after it
            continue
        surface, lemma = fields[0], fields[3]
        start = find(surface, cursor)
        if start < 0:  # MeCab never changes the text; if it did, keep offsets moving
            start = cursor
        elif newline and start > cursor and "\n" in text[cursor:start]:
            sentence += 1
        end = start + len(surface)
        if not lemma or lemma == "*":
            lemma = surface
        elif "-" in lemma and lemma[0] != "-":
            # unidic lemmas of loanwords carry the source word ("カット-cut"); keep the Japanese.
            lemma = lemma.partition("-")[0]
        append(_new(Token, (surface, lemma, fields[4].partition("-")[0], start, end, sentence)))
        if surface and surface[-1] in SENTENCE_ENDS:
            sentence += 1
        cursor = end
    return tokens
