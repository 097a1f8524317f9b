"""Risk-phrase detection in Japanese (fugashi + unidic-lite). Pure: text in, assessment out."""

from bot.nlp.analyzer import Analyzer, Hit, RiskAssessment, analyze
from bot.nlp.levels import Level
from bot.nlp.lexicon import Lexicon, LexiconError, load_lexicon

__all__ = ["Analyzer", "Hit", "Level", "Lexicon", "LexiconError", "RiskAssessment", "analyze",
           "load_lexicon"]
