"""The analyser of the content shipped with the product: its rules and its trained model, as a
deployment that has not edited them serves them. What `bot.nlp.analyze` uses."""

from __future__ import annotations

from functools import lru_cache

from bot.content import SHIPPED_CONTENT_DIR
from bot.nlp.analyzer import Analyzer, RiskAssessment
from bot.nlp.corpus import CORPUS_DIR, load_corpus
from bot.nlp.load import load_lexicon
from bot.nlp.trained import model_for


@lru_cache(maxsize=1)
def shipped_analyzer() -> Analyzer:
    risk = SHIPPED_CONTENT_DIR / "risk"
    return Analyzer(load_lexicon(risk), model_for(load_corpus(risk / CORPUS_DIR)))


def analyze(text: str) -> RiskAssessment:
    """Assess one message with the shipped lexicon and model."""
    return shipped_analyzer().analyze(text)
