"""What the statistical model sees of a message: character n-grams of the normalised text and
the lemmas fugashi found (the same tokens the rules used). Pure, and shared by training and
serving, so that a feature means the same thing in both."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from bot.nlp.tokens import Token

CHAR_NGRAMS = (2, 3, 4)
# Particles and punctuation say little alone; as parts of bigrams (薬_を) they stay.
_SKIP_UNIGRAM_POS = {"助詞", "補助記号", "空白"}


def features(folded: str, tokens: Sequence[Token]) -> set[str]:
    """`c:` character n-grams (white space kept as one space, so word edges count in English
    and romaji), `w:` lemmas, `b:` lemma bigrams."""
    found: set[str] = set()
    text = f" {folded.strip()} "
    for n in CHAR_NGRAMS:
        for i in range(len(text) - n + 1):
            gram = text[i:i + n]
            if not gram.isspace():
                found.add("c:" + gram)
    lemmas = [tk.lemma.lower() for tk in tokens if not tk.surface.isspace()]
    for tk, lemma in zip((t for t in tokens if not t.surface.isspace()), lemmas, strict=True):
        if tk.pos not in _SKIP_UNIGRAM_POS:
            found.add("w:" + lemma)
    for a, b in itertools.pairwise(lemmas):
        found.add(f"b:{a}_{b}")
    return found


def readable(feature: str) -> str:
    """How a counsellor reads a feature: 「死にた」, 薬, 薬+を."""
    kind, _, value = feature.partition(":")
    if kind == "c":
        return f"「{value}」"
    if kind == "b":
        return value.replace("_", "+", 1)
    return value
