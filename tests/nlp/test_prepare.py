"""Reading a message before the rules and the model: English, romaji turned into kana."""

from __future__ import annotations

import pytest

from bot.nlp import Level
from bot.nlp.prepare import dictionary_form, lemmas_of, readings, script_of, to_kana
from tests.nlp.helpers import rules_alone


@pytest.mark.parametrize(("text", "script"), [
    ("もう無理", "ja"), ("LINEで相談したい", "ja"), ("OKです", "ja"),
    ("I can't pay my rent", "en"), ("please help me", "en"), ("Thank you so much", "en"),
    ("mou tsukareta", "romaji"), ("okane ga nai", "romaji"), ("ashita shigoto iku", "romaji"),
])
def test_the_script_a_message_is_written_in(text: str, script: str) -> None:
    assert script_of(text) == script


def test_romaji_becomes_kana_with_japanese_sentence_marks() -> None:
    assert to_kana("minna, arigatou.") == "みんな、 ありがとう。"
    assert to_kana("konya", n_before_y=True) == "こんや"


def test_an_ambiguous_romaji_message_is_read_both_ways_and_as_written() -> None:
    read = readings("konya kaeru")
    assert [r.read_as for r in read] == ["こにゃ かえる", "こんや かえる", None]
    assert [r.script for r in read] == ["romaji", "romaji", "en"]
    assert read[-1].norm.text == "konya kaeru"  # another language's rules see the letters
    assert [r.read_as for r in readings("mou tsukareta")] == ["もう つかれた", None]
    assert [r.read_as for r in readings("死にたい")] == [None]


@pytest.mark.parametrize(("text", "level"), [
    ("mou shinitai", Level.HIGH),
    ("konban kusuri wo zenbu nomu", Level.IMMINENT),
    ("shinu hodo nemui", Level.NONE),
    ("I'm going to kill myself", Level.IMMINENT),
    ("I want to die", Level.HIGH),
    ("I don't want to die", Level.NONE),
    ("this deadline is killing me", Level.NONE),
    ("my husband is hitting me", Level.IMMINENT),
])
def test_the_rules_read_romaji_and_english(text: str, level: Level) -> None:
    assert rules_alone().analyze(text).level == level


def test_words_are_read_as_the_rules_are_written() -> None:
    # What an officer types in a rule form, and the lemma the analyser compares it with.
    assert dictionary_form("米びつ") == "米櫃"
    assert dictionary_form("パチンコ") == "ぱちんこ"  # katakana folded, as messages are
    assert dictionary_form("借金") == "借金"
    assert dictionary_form("死にたい") == "死にたい"  # two words: kept as written
    assert lemmas_of("米びつが空です") == ["米櫃", "が", "空", "です"]

