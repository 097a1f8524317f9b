"""The analyser against the independently labelled evaluation set (tests/nlp/eval_set.yaml).

Missing danger costs a life; a false alarm costs a counsellor a minute. So recall on the
imminent and high levels has hard floors, and precision is reported by `tsunagu nlp eval`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.nlp import Level
from bot.nlp.evaluate import Report, evaluate, load_labelled
from tests.nlp.helpers import rules_alone

EVAL_SET = Path(__file__).resolve().parent / "eval_set.yaml"


@pytest.fixture(scope="module")
def report() -> Report:
    return evaluate(rules_alone(), load_labelled(EVAL_SET))


def test_the_set_is_large_and_covers_every_level(report: Report) -> None:
    assert report.total >= 300
    assert all(report.scores[level].support >= 30 for level in Level)


def test_no_imminent_message_is_missed(report: Report) -> None:
    missed = [m.text for m in report.misses if m.expected == Level.IMMINENT]
    assert report.scores[Level.IMMINENT].recall == 1.0, missed


def test_high_risk_recall_is_at_least_95_percent(report: Report) -> None:
    missed = [m.text for m in report.misses if m.expected == Level.HIGH]
    assert report.scores[Level.HIGH].recall >= 0.95, missed


HELD_OUT = Path(__file__).resolve().parent / "heldout_set.yaml"


def test_held_out_figures_do_not_fall_below_what_was_measured() -> None:
    """The lexicon was tuned while reading eval_set.yaml, so its figures there overstate what
    to expect. heldout_set.yaml was written afterwards by someone who saw neither the lexicon
    nor that set, and nobody tunes on it: it tells how the rules generalise. These floors are
    the figures first measured on it (imminent 0.69, high 0.72), kept as a ratchet so a lexicon
    change cannot quietly make generalisation worse; raise them when it gets better."""
    scores = evaluate(rules_alone(), load_labelled(HELD_OUT)).scores
    assert scores[Level.IMMINENT].recall_at_least >= 0.69
    assert scores[Level.HIGH].recall_at_least >= 0.72
    assert scores[Level.NONE].recall >= 0.90  # ordinary messages are not flagged
