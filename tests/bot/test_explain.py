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
