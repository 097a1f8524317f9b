"""Risk-phrase detection in Japanese (fugashi + unidic-lite). Pure: text in, assessment out."""

from bot.nlp.analyzer import Analyzer, Hit, RiskAssessment
from bot.nlp.levels import Level
from bot.nlp.lexicon import Lexicon, LexiconError
from bot.nlp.load import load_lexicon
from bot.nlp.shipped import analyze

__all__ = ["Analyzer", "Hit", "Level", "Lexicon", "LexiconError", "RiskAssessment", "analyze",
           "load_lexicon"]
