"""One message cannot stall the bot: every pattern runs in time linear in the text.

The costs are measured as this process's CPU time and compared with a message of the same
length that matches nothing: ratios, not wall-clock limits, so a slow machine does not fail
them and a backtracking pattern (seconds to hours) cannot pass them.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bot.nlp import Analyzer, Level, LexiconError, load_lexicon
from bot.nlp.patterns import MAX_MATCHES, Pattern, PatternError, compile_pattern
from bot.nlp.shipped import shipped_analyzer

SIZE = 5000  # LINE's longest text message
ORDINARY = ("きょうは いい天気ですね。" * SIZE)[:SIZE]

# Inputs that made the backtracking engine stall: a pattern's start, a long run of what its
# `\s*` and `[^。]{0,6}?` parts can both take, and no way to finish the match.
ADVERSARIAL = {
    "たばこ, spaces, ん": "たばこ" + " " * (SIZE - 4) + "ん",
    "full-width spaces": "たばこ" + "　" * (SIZE - 4) + "ん",
    "mixed white space": "火を" + " \t\u3000" * ((SIZE - 3) // 3) + "ん",
    "repeated starts": ("たばこを " * SIZE)[:SIZE],
    "one word again and again": ("今 " * SIZE)[:SIZE],
    "no sentence end": ("子ども" + "あ" * 30) * (SIZE // 33),
}


def cpu_seconds(analyzer: Analyzer, text: str, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        analyzer.analyze(text)
        best = min(best, time.process_time() - start)
    return max(best, 1e-4)


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_adversarial_messages_cost_about_what_an_ordinary_one_does(name: str) -> None:
    analyzer = shipped_analyzer()
    text = ADVERSARIAL[name]
    assert len(text) <= SIZE
    ratio = cpu_seconds(analyzer, text) / cpu_seconds(analyzer, ORDINARY)
    # Backtracking made the first of these 10,000 times slower than ORDINARY.
    assert ratio < 5, f"{name}: {ratio:.1f}× an ordinary message of the same length"


def test_cost_grows_linearly_with_the_length_of_the_message() -> None:
    analyzer = shipped_analyzer()
    short = cpu_seconds(analyzer, ADVERSARIAL["たばこ, spaces, ん"][:500] + "ん")
    long = cpu_seconds(analyzer, ADVERSARIAL["たばこ, spaces, ん"])
    assert long / short < 40  # ten times the text; a quadratic cost would be ~100×


def test_a_pattern_that_backtracks_exponentially_in_re_is_linear_here() -> None:
    pattern = Pattern.of("(a|a)*b|(x+x+)+y")
    start = time.process_time()
    assert not pattern.search("a" * 40 + "c" + "x" * 40)  # hours with Python's re
    assert time.process_time() - start < 1


def test_look_arounds_are_refused_with_a_way_forward() -> None:
    with pytest.raises(PatternError, match="unless"):
        compile_pattern("虐待(?!防止)")
    with pytest.raises(PatternError, match="back-references"):
        compile_pattern(r"(a)\1")


def test_an_administrators_look_ahead_is_refused_when_the_lexicon_loads(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parents[2] / "content" / "risk"
    for path in source.glob("*.yaml"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    target = tmp_path / "child_abuse.yaml"
    text = target.read_text(encoding="utf-8")
    target.write_text(text.replace("育児放棄)'", "育児放棄)(?!防止)'", 1), encoding="utf-8")
    with pytest.raises(LexiconError, match=r"ca\.abuse: pattern.*unless"):
        load_lexicon(tmp_path)


def test_unless_drops_only_the_matches_it_covers() -> None:
    pattern = Pattern.of("虐待", unless=r"虐待\s*防止")
    assert list(pattern.finditer("虐待防止の研修")) == []
    assert list(pattern.finditer("虐待防止の研修で虐待を知った")) == [(8, 10)]
    # A look-behind, written as `unless` reaching back before the match.
    fly = Pattern.of("とぶ", unless="[鳥空]とぶ")
    assert list(fly.finditer("鳥がとぶ")) == [(2, 4)]
    assert list(fly.finditer("空とぶ")) == []


def test_one_rule_reports_a_bounded_number_of_places() -> None:
    assert len(list(Pattern.of("今").finditer("今" * SIZE))) == MAX_MATCHES


BROKEN = ["今夜死にます\x00", "今夜死にます\ud83d", "\x00今夜\udfff死にます"]


@pytest.mark.parametrize("words", BROKEN)
def test_nul_and_lone_surrogates_are_read_around(words: str) -> None:
    result = shipped_analyzer().analyze(words)
    assert result.level == Level.IMMINENT
    assert all(words[h.start:h.end] == h.text for h in result.hits)  # spans on the original


def test_the_pattern_set_finds_what_every_pattern_alone_finds() -> None:
    """One RE2 set scan chooses which patterns to run; it must never hide a match."""
    from bot.nlp.evaluate import load_labelled

    analyzer = shipped_analyzer()
    texts = [m.text for m in load_labelled(Path(__file__).parent / "eval_set.yaml")]
    everything = analyzer._pattern_set.size
    for text in texts:
        folded = analyzer_folded(text)
        chosen = set(analyzer._pattern_set.candidates(folded))
        for k in range(everything):
            if k not in chosen:
                assert next(analyzer._pattern_rules[k][3].finditer(folded), None) is None, text


def analyzer_folded(text: str) -> str:
    from bot.nlp.prepare import prepare

    return prepare(text).folded
