"""The shipped rules without the model: what the rule tests and the rules' figures measure."""

from __future__ import annotations

from functools import lru_cache

from bot.content import SHIPPED_CONTENT_DIR
from bot.nlp.analyzer import Analyzer, RiskAssessment
from bot.nlp.load import load_lexicon


@lru_cache(maxsize=1)
def rules_alone() -> Analyzer:
    return Analyzer(load_lexicon(SHIPPED_CONTENT_DIR / "risk"))


def analyze(text: str) -> RiskAssessment:
    return rules_alone().analyze(text)
