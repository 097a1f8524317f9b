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
    """Character n-grams as they are (white space kept as one space, so word edges count in
    English and romaji), `w:` lemmas and `b:` lemma bigrams. Runs for every message: the
    n-grams are built by comprehension, not by a loop that tests each one."""
    text = f" {folded.strip()} "
    size = len(text)
    found = {text[i:i + CHAR_NGRAMS[0]] for i in range(size - CHAR_NGRAMS[0] + 1)}
    for n in CHAR_NGRAMS[1:]:
        found.update(text[i:i + n] for i in range(size - n + 1))
    words = [tk for tk in tokens if not tk.surface.isspace()]
    lemmas = [tk.lemma.lower() for tk in words]
    found.update("w:" + lemma for tk, lemma in zip(words, lemmas, strict=True)
                 if tk.pos not in _SKIP_UNIGRAM_POS)
    found.update(f"b:{a}_{b}" for a, b in itertools.pairwise(lemmas))
    return found


def readable(feature: str) -> str:
    """How a counsellor reads a feature: 「死にた」, 薬, 薬+を."""
    kind, sep, value = feature.partition(":")
    if sep and kind == "w":
        return value
    if sep and kind == "b":
        return value.replace("_", "+", 1)
    return f"「{feature.strip()}」"
