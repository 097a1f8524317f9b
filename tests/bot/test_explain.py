"""Content problems in Japanese for the forms: each kind the forms meet, and nothing hidden
when a problem has no Japanese yet."""

from __future__ import annotations

import pytest

from bot.content.explain import GENERAL, explain


def test_the_problems_an_officer_meets_are_explained_in_japanese() -> None:
    dead = explain("state 'who': ask has no choices and the state takes no free text")
    assert dead.state == "who" and "行き止まり" in dead.japanese
    lost = explain("state 'declined': unreachable: no choice, free text or global leads here")
    assert lost.state == "declined" and "どこからも進めなくなります" in lost.japanese
    long = explain("state 'who': choice 'self': label 'あいうえおかきくけこさしすせそたちつてとな' "
                   "is longer than LINE's 20 characters")
    assert long.choice == "self" and "20字まで" in long.japanese
    assert "電話番号として読めません" in explain(
        "hotlines.9.tel: Value error, 'よる' is not a phone number: write it as people dial"
    ).japanese
    assert "終わりの時刻" in explain(
        "teams.1.hours: Value error, close must be after open").japanese
    assert "ひとつ以上選んでください" in explain(
        "teams.3.hours.days: List should have at least 1 item after validation").japanese
    assert "「sakura」というチーム" in explain(
        "municipalities: municipality x: unknown team sakura").japanese
    assert "訳を言語のファイルに足すまでは" in explain(
        "missing: the safety or consent text at resources.yaml hotlines.x.label (夜間ダイヤル)"
    ).japanese


def test_a_problem_without_japanese_still_shows_with_its_english() -> None:
    odd = explain("state 'x': something new the loader says")
    assert odd.japanese == GENERAL
    assert odd.english == "state 'x': something new the loader says"


def test_a_rule_whose_examples_disagree_is_explained_at_the_rule() -> None:
    missed = explain("rule nf.x: positive example '米びつが空です' does not match")
    assert missed.rule == "nf.x" and missed.state is None
    assert "例文「米びつが空です」は、この決まりで見つけたい言い方のはず" in missed.japanese
    found = explain("rule nf.x: negative example '米びつを買った' matches")
    assert found.rule == "nf.x" and "見つけてはいけない言い方のはず" in found.japanese
    assert "見つける言葉がありません" in explain("rule nf.x: give `lemmas` or `pattern`").japanese
    assert "組み合わせ「combo.ideation_with_plan」" in explain(
        "combination combo.ideation_with_plan: unknown category plan_means").japanese
    assert "「ギャンブルの借金」のときに案内する緊急の連絡先がありません" in explain(
        "hotlines: no number for the risk category 'gyanburu' (ギャンブルの借金): name it in "
        "the categories of at least one number").japanese


@pytest.mark.parametrize("message", [
    "closures.0: Value error, 'to' must not be before 'from'",
    "risk_high: Value error, 1 to 5 bubbles",
    "trouble: Value error, each bubble needs 1 to 5000 characters",
    "offer: Value error, an offer needs offer_yes and offer_no",
    "texts: Value error, translated twice: 相談する",
    "dangers.1.categories.0: 'violence' is already in the danger 'injury'",
    "dangers.1.first.0: unknown number 'nightline' (hotlines: police, ambulance)",
    "hotlines: no number has `general: true`: the 「緊急」 button shows those",
    "municipalities.2: Value error, municipality sakura: give its `team`, or the `office` to name",
    "risk_imminent_by_danger.fire: no danger 'fire' in resources.yaml (dangers: injury)",
    "replies.0.texts: Value error, ja: a lone '{' or '}'",
    "richmenu.areas.0: Value error, a tile either posts back (postback) or sends words (text)",
    "routing life_areas: unknown programme foodbank",
    "rules.3.gap: Input should be a valid integer, unable to parse string as an integer",
    "rules.3.gap: Input should be less than or equal to 5",
])
def test_rarer_loader_messages_have_japanese_too(message: str) -> None:
    assert explain(message).japanese != GENERAL
