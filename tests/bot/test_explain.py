"""Content problems in Japanese for the forms: each kind the forms meet, and nothing hidden
when a problem has no Japanese yet."""

from __future__ import annotations

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
