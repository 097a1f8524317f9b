"""Canned replies (content/replies.yaml): their shape, the variant a resident's language gets,
and an absent file meaning none."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bot.content.files import ContentError
from bot.content.schema import CannedReplies, CannedReply
from bot.releases.load import load_replies
from bot.settings import DEFAULT_CONTENT_DIR

SHIPPED = DEFAULT_CONTENT_DIR / "replies.yaml"
LANGUAGES = {"ja", "ja_easy", "en", "vi", "zh_hans", "pt_br", "tl", "ne", "id"}


def reply(**texts: str) -> CannedReply:
    return CannedReply(id="hello", title="あいさつ", texts=texts)


def test_the_shipped_replies_have_every_language() -> None:
    replies = load_replies(SHIPPED).replies
    assert 1 <= len(replies) <= 20  # the schema's limit: a menu a counsellor can read
    for one in replies:
        assert set(one.texts) == LANGUAGES, one.id
        named = {code for code, text in one.texts.items() if "{name}" in text}
        assert named in (set(), LANGUAGES), f"{one.id}: the name in some variants only"


def test_a_resident_gets_their_language_else_easy_japanese_else_japanese() -> None:
    both = reply(ja="こんにちは。", ja_easy="こんにちは！", en="Hello.")
    assert both.text_for("en") == ("en", "Hello.")
    assert both.text_for("vi") == ("ja_easy", "こんにちは！")
    assert both.text_for(None) == ("ja", "こんにちは。")
    assert both.text_for("ja_easy") == ("ja_easy", "こんにちは！")
    assert reply(ja="こんにちは。").text_for("vi") == ("ja", "こんにちは。")


@pytest.mark.parametrize(("texts", "expected"), [
    ({"en": "Hello."}, "standard Japanese variant (ja) is required"),
    ({"ja": "相談員の{who}です。"},
     "unknown placeholder {who} (known: hours, name, pseudonym, team)"),
    ({"ja": "こんにちは{"}, "lone"),
    ({"ja": "こんにちは。", "pt-br": "Olá."}, "'pt-br' is not a language code"),
    ({"ja": "   "}, "ja: 1 to"),
])
def test_a_wrong_reply_is_refused(texts: dict[str, str], expected: str) -> None:
    with pytest.raises(ValueError, match=re.escape(expected)):
        reply(**texts)


def test_ids_are_unique() -> None:
    one: dict[str, Any] = {"id": "hello", "title": "あいさつ", "texts": {"ja": "こんにちは。"}}
    with pytest.raises(ValueError, match="used twice: hello"):
        CannedReplies.model_validate({"replies": [one, one]})


def test_no_file_or_an_empty_one_means_no_replies(tmp_path: Path) -> None:
    assert load_replies(tmp_path / "replies.yaml").replies == []
    (tmp_path / "replies.yaml").write_text("# none yet\n", encoding="utf-8")
    assert load_replies(tmp_path / "replies.yaml").replies == []


def test_a_problem_names_the_file_and_the_place(tmp_path: Path) -> None:
    path = tmp_path / "replies.yaml"
    path.write_text("replies:\n- id: hello\n  title: あいさつ\n  texts: {en: Hello.}\n",
                    encoding="utf-8")
    with pytest.raises(ContentError) as raised:
        load_replies(path)
    problem = raised.value.problems[0]
    assert problem.file == str(path) and problem.at == ("replies", "0", "texts")
