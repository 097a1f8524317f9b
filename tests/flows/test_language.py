"""Which language a first message is plainly written in (pure, on small language files)."""

from __future__ import annotations

import pytest

from bot.content.languages import LanguagePack
from bot.flows.language import detect


def pack(code: str, detect_words: list[str]) -> LanguagePack:
    return LanguagePack(code=code, name=code, name_ja=code, review="draft", detect=detect_words,
                        offer="?", offer_yes="yes", offer_no="no")


PACKS = {p.code: p for p in [
    pack("en", ["i", "my", "the", "need", "help", "money", "hello", "please", "have"]),
    pack("vi", ["tôi", "toi", "không", "khong", "cần", "can", "giúp", "tiền", "xin", "chào"]),
    pack("pt_br", ["eu", "não", "nao", "preciso", "dinheiro", "ajuda", "olá", "meu"]),
    pack("zh_hans", ["们", "吗", "这", "没", "钱", "帮"]),
    pack("ne", ["मलाई", "छ", "पैसा"]),
]}


@pytest.mark.parametrize(("words", "code"), [
    ("I need help with money", "en"),
    ("hello", "en"),  # one word, all of it the language's
    ("Xin chào, tôi cần giúp", "vi"),
    ("toi khong co tien", "vi"),
    ("Olá, eu preciso de ajuda", "pt_br"),
    ("我没有钱了", "zh_hans"),
    ("मलाई पैसा चाहिन्छ", "ne"),
])
def test_plainly_another_language(words: str, code: str) -> None:
    found = detect(words, PACKS)
    assert found is not None and found.code == code


@pytest.mark.parametrize("words", [
    "お金がなくて困っています",
    "助けて",  # kanji only, and Japanese
    "生活費",
    "tasukete kudasai",  # romaji
    "okane ga nai",
    "OK",
    "123",
    "",
    "🙏",
    "LINE",
])
def test_japanese_or_unclear_is_not_offered_anything(words: str) -> None:
    assert detect(words, PACKS) is None
