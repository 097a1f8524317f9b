"""The analyser on the shipped lexicon: lemmas, variants, modifiers, spans and explanations."""

from __future__ import annotations

import pytest

from bot.nlp import Level
from bot.nlp.normalize import normalise
from tests.nlp.helpers import analyze


@pytest.mark.parametrize("text", ["死にたい", "死にたいです", "ずっと死にたかった", "しにたい",
                                  "しにたいいいい", "氏にたい", "ｼﾆﾀｲ", "死にたい…😢"])
def test_wanting_to_die_in_its_many_spellings_is_high(text: str) -> None:
    result = analyze(text)
    assert result.level >= Level.HIGH and "suicidal_ideation" in result.categories


@pytest.mark.parametrize("text", ["死にたくない", "死ぬつもりはない", "死にたいとは思わない",
                                  "自殺なんて考えていない"])
def test_negation_makes_a_hit_inactive_but_explains_it(text: str) -> None:
    result = analyze(text)
    assert result.level == Level.NONE
    assert any("negated" in h.modifiers for h in result.hits)


@pytest.mark.parametrize("text", ["死ぬほど眠い", "死ぬかと思った", "笑い死ぬかと思った",
                                  "死ぬ気で頑張る"])
def test_idioms_are_not_risk(text: str) -> None:
    assert analyze(text).level == Level.NONE


def test_a_third_partys_words_are_lowered_not_dropped() -> None:
    result = analyze("友達が死にたいと言っている")
    assert result.level == Level.CONCERN and "suicidal_ideation" in result.categories
    assert any("third_party" in h.modifiers for h in result.hits)


def test_the_past_is_lowered() -> None:
    result = analyze("昔は死にたいと思っていた")
    assert result.level == Level.CONCERN
    assert any("past" in h.modifiers for h in result.hits)


@pytest.mark.parametrize("text", ["今夜死のうと思う", "もう死にたい。今から行きます",
                                  "薬を全部飲んだ"])
def test_ideation_with_a_time_or_means_is_imminent(text: str) -> None:
    assert analyze(text).level == Level.IMMINENT


@pytest.mark.parametrize(("text", "category"), [
    ("リスカしちゃった", "self_harm"), ("ＯＤした", "self_harm"),
    ("今日食べるものがない", "no_food"), ("家を追い出された", "housing_loss"),
    ("電気を止められた", "utilities_cut"), ("夫に殴られる", "violence"),
    ("子どもを叩いてしまう", "child_abuse"), ("取り立てが怖い", "debt_collection"),
    ("頼れる人がいない", "isolation"),
])
def test_every_category_is_detected(text: str, category: str) -> None:
    result = analyze(text)
    assert category in result.categories and result.level >= Level.CONCERN


@pytest.mark.parametrize("text", ["家賃のことで相談したいです", "わからない", "こんにちは",
                                  "仕事を探しています", "", "😊", "あ" * 5000])
def test_ordinary_consultations_are_none(text: str) -> None:
    assert analyze(text).level == Level.NONE


def test_spans_point_into_the_original_text() -> None:
    text = "ｓｔｏｐ。　本当に、しにたいいいい😢"
    [hit] = [h for h in analyze(text).hits if h.category == "suicidal_ideation"]
    assert text[hit.start:hit.end] == hit.text
    assert hit.text.startswith("しにたい")
    assert hit.rule_id and hit.why


def test_the_explanation_names_rule_words_and_modifiers() -> None:
    lines = analyze("死にたくない").explain()
    assert any("si.want_to_die" in line and "死にたく" in line and "negated" in line
               for line in lines)


def test_a_long_message_with_risk_at_the_end_is_found() -> None:
    text = "家賃のことで相談したいです。" * 300 + "本当はもう死にたい"
    result = analyze(text)
    assert result.level >= Level.HIGH
    [hit] = [h for h in result.hits if h.category == "suicidal_ideation"]
    assert text[hit.start:hit.end] == hit.text


def test_normalisation_keeps_a_map_to_the_original() -> None:
    n = normalise("ＯＤしたーーー")
    assert n.text == "odしたー"
    assert n.span(0, 2) == (0, 2) and n.span(4, 5) == (4, 5)
