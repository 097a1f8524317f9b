"""A town's typed name, matched tolerantly (pure): endings, kana, width, typos, ambiguity."""

from __future__ import annotations

import pytest

from bot.flows.places_match import MAX_CANDIDATES, Place, core, distance, fold, match

TOWNS = [
    Place("midori", "みどり市", "みどりし"),
    Place("aoba", "あおば町", "あおばまち"),
    Place("yamane", "やまね町", "やまねまち"),
    Place("yamada", "山田村", "やまだむら"),
    Place("takamori", "高森町", "たかもりまち", ("旧高森村",)),
    Place("hanasaki", "はなさき市", "はなさきし"),
]


def test_fold_puts_width_and_kana_in_one_form() -> None:
    assert fold("アオバ町") == fold("ｱｵﾊﾞ町") == fold("あおば　町") == "あおば町"
    assert fold("「あおば町」") == "あおば町"


def test_core_drops_the_ending_and_what_residents_add() -> None:
    assert core("あおば町") == core("あおばまち") == core("あおば町です") == "あおば"
    assert core("住所はあおば町です") == core("あおば町に住んでいます") == "あおば"
    assert core("町") == "町"  # never nothing


@pytest.mark.parametrize(("typed", "expected"), [
    ("あおば町", ["aoba"]),  # the name
    ("あおば", ["aoba"]),  # without 町
    ("アオバ", ["aoba"]),  # katakana
    ("ｱｵﾊﾞﾏﾁ", ["aoba"]),  # half-width katakana, the reading with its ending
    ("あおばまち", ["aoba"]),  # the reading
    ("あおば町です", ["aoba"]),
    ("みどりし", ["midori"]),
    ("ミドリ市", ["midori"]),
    ("やまだむら", ["yamada"]),  # a kanji name by its reading
    ("山田", ["yamada"]),
    ("たかもり", ["takamori"]),
    ("旧高森村", ["takamori"]),  # an alias (the name before a merger)
    ("みろり市", ["midori"]),  # a typo
    ("あおぼ", ["aoba"]),
    ("高盛町", ["takamori"]),  # the wrong kanji from the phone's conversion
    ("はなざき", ["hanasaki"]),
    ("ＨＡＮＡＳＡＫＩ", []),  # no romaji reading given: not guessed
])
def test_a_typed_name_finds_its_town(typed: str, expected: list[str]) -> None:
    assert match(TOWNS, typed) == expected


@pytest.mark.parametrize("typed", ["やま", "やまな"])
def test_words_that_fit_several_towns_return_them_all(typed: str) -> None:
    assert sorted(match(TOWNS, typed)) == ["yamada", "yamane"]


@pytest.mark.parametrize("typed", [
    "お金がなくて困っています", "わからない", "ありがとう", "いいえ", "大丈夫です",
    "あ", "市", "町", "", "   ", "どこにも住んでいません、ネットカフェにいます",
])
def test_other_words_name_no_town(typed: str) -> None:
    assert match(TOWNS, typed) == []


def test_short_names_are_not_guessed_from_a_typo() -> None:
    towns = [Place("tsu", "津市", "つし"), Place("mito", "見戸町", "みとまち")]
    assert match(towns, "津") == ["tsu"]
    assert match(towns, "つ") == ["tsu"]  # the reading without し
    assert match(towns, "ち") == []  # one character off a one-character name is anything


def test_candidates_are_capped_for_the_buttons() -> None:
    towns = [Place(f"t{i}", f"やま{chr(0x3042 + 2 * i)}町") for i in range(10)]
    assert len(match(towns, "やま")) == MAX_CANDIDATES


def test_distance() -> None:
    assert distance("あおば", "あおば") == 0
    assert distance("あおぼ", "あおば") == 1
    assert distance("あおば", "あば") == 1
    assert distance("", "abc") == 3
