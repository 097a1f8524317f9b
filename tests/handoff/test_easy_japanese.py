"""やさしい日本語 advice for a counsellor's reply: long sentences, many kanji, hard words."""

from __future__ import annotations

import json
import re

import pytest

from bot.releases.load import load_replies
from bot.settings import DEFAULT_CONTENT_DIR
from handoff.easy_japanese import AVOID, MAX_LENGTH, Advice, check, rules, sentences


def kinds(advice: list[Advice]) -> list[str]:
    return [a.kind for a in advice]


def test_short_plain_sentences_need_nothing() -> None:
    assert check("こんにちは。そうだんいんの さとうです。ゆっくりで だいじょうぶです。") == []
    assert check("") == [] and check("   \n ") == []


def test_sentences_end_at_a_stop_or_a_line() -> None:
    assert sentences("こんにちは。げんきですか？\nまた あした\n\n！") == [
        "こんにちは。", "げんきですか？", "また あした"]


def test_a_long_sentence_is_counted_without_spaces_and_its_stop() -> None:
    short = "あ" * MAX_LENGTH + "。"
    assert check(short) == []
    assert check("あ " * MAX_LENGTH + "。") == []  # 分かち書き: the spaces do not count
    long = "あ" * (MAX_LENGTH + 12) + "。"
    [advice] = check(long)
    assert advice.kind == "long" and advice.sentence == long
    assert advice.problem == "この文は長いです（42字）。"
    assert advice.suggestion == "30字くらいまでに分けましょう。"


def test_kanji_over_thirty_percent_of_a_sentence() -> None:
    # 4 kanji of 13 characters: 31 %.
    [advice] = check("あしたの午後に電話しますね。")
    assert advice.kind == "kanji" and advice.problem == "漢字が多いです（31%）。"
    assert "ひらがな" in advice.suggestion
    assert check("きょうの ごごに 電話を かけますね。") == []  # 2 of 15
    # A short sentence is not judged by its kanji share.
    assert check("お元気ですか。") == []


def test_a_hard_word_gets_an_easier_one() -> None:
    [advice] = check("しょるいを 提出して ください。")
    assert advice.kind == "word"
    assert advice.problem == "「提出」はむずかしいことばです。"
    assert advice.suggestion == "「だす」などに言いかえましょう。"
    easier = {a.word: a.easier for a in AVOID}
    assert easier["申請"] == "もうしこみ" and easier["世帯"] == "いえの人"


@pytest.mark.parametrize(("text", "word"), [
    ("おしえて いただけますか。", "〜いただく"),
    ("おまち くださいませ。", "〜くださいませ"),
    ("しりょうが ございません。", "〜でございます"),
    ("申し訳ありません。", "申し訳ありません"),
])
def test_keigo_is_found_in_its_forms(text: str, word: str) -> None:
    assert [a.problem for a in check(text) if a.kind == "word"] == [
        f"「{word}」はむずかしいことばです。"]


def test_thanks_is_not_keigo_to_avoid() -> None:
    assert check("ありがとうございます。") == []


def test_a_sentence_can_have_every_problem_in_order() -> None:
    text = "至急、本日中に世帯全員の収入を確認できる書類を窓口に提出してください。"
    advice = check(text)
    assert kinds(advice) == ["long", "kanji"] + ["word"] * 6
    assert advice[0].problem == "この文は長いです（34字）。"
    assert advice[1].problem == "漢字が多いです（56%）。"
    # In the list's order, not the sentence's.
    assert [a.problem for a in advice[2:]] == [f"「{w}」はむずかしいことばです。" for w in (
        "至急", "提出", "確認", "世帯", "収入", "窓口")]
    assert {a.sentence for a in advice} == {text}


def test_sentences_in_other_languages_are_left_alone() -> None:
    assert check("Hello, I'm Sato, a counsellor here, and I will read everything you wrote.") == []
    assert check("您好，我是咨询员佐藤。请按您自己的节奏，一点一点告诉我今天最需要的东西。") == []


def test_the_avoid_list_has_easier_words_for_each() -> None:
    assert 25 <= len(AVOID) <= 40
    assert len({a.word for a in AVOID}) == len(AVOID)
    for a in AVOID:
        assert a.easier and not re.search(r"[\u4e00-\u9fff]{2}", a.easier), a.word


def test_the_rules_for_the_page_are_json_and_the_same_list() -> None:
    data = json.loads(json.dumps(rules()))
    assert [a["word"] for a in data["avoid"]] == [a.word for a in AVOID]
    assert all(a["forms"] for a in data["avoid"])
    assert data["max_length"] == MAX_LENGTH and set(data["words"]) == {"long", "kanji", "word"}


def test_the_shipped_easy_japanese_replies_follow_their_own_advice() -> None:
    for reply in load_replies(DEFAULT_CONTENT_DIR / "replies.yaml").replies:
        assert check(reply.texts["ja_easy"]) == [], reply.id
