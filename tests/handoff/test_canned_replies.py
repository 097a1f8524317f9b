"""Canned replies as a case's counsellor is offered them: their team's and the shared ones,
in the resident's language, with the counsellor, the desk, its hours and the pseudonym filled
in; a reply naming a team that does not exist is refused when content is validated."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.content.files import ContentError
from bot.releases.load import load_content
from bot.settings import DEFAULT_CONTENT_DIR
from handoff.console.reply_aids import canned_replies, reply_aids

CONTENT = load_content(DEFAULT_CONTENT_DIR)


def offered(team: str, reads: str | None = None) -> dict[str, dict[str, str]]:
    return {r["id"]: r for r in canned_replies(CONTENT, reads=reads, team_id=team,
                                               counsellor="佐藤", pseudonym="相談者 7F3A")}


def test_a_team_gets_its_own_replies_and_the_shared_ones() -> None:
    assert "midori_food_bank" in offered("midori")
    assert "midori_food_bank" not in offered("kawabe")
    assert {"hello", "desk_hours"} <= set(offered("kawabe")) & set(offered("midori"))


def test_the_variables_are_filled_in_the_residents_language() -> None:
    midori = next(t for t in CONTENT.places.teams if t.id == "midori")
    japanese = offered("midori")["desk_hours"]
    assert japanese["language"] == "ja"
    assert japanese["text"].startswith(f"「{midori.name}」の受付時間は、")
    assert "{" not in japanese["text"] and "月" in japanese["text"]
    english = offered("midori", "en")["desk_hours"]
    local = CONTENT.for_language("en").places.teams
    assert english["language"] == "en"
    assert f'"{next(t for t in local if t.id == "midori").name}"' in english["text"]
    assert "{" not in english["text"] and "Mon" in english["text"]
    assert "佐藤" in offered("midori", "vi")["midori_food_bank"]["text"]
    # A language with no variant of its own: やさしい日本語.
    assert offered("midori", "fr")["hello"]["language"] == "ja_easy"
    aids = reply_aids(CONTENT, reads="en", team_id="midori", counsellor="佐藤",
                      pseudonym="相談者 7F3A")
    assert aids["reply_language"] == "英語" and aids["easy_rules"] is not None


def test_a_reply_for_an_unknown_team_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "content"
    shutil.copytree(DEFAULT_CONTENT_DIR, folder)
    replies = folder / "replies.yaml"
    replies.write_text(replies.read_text(encoding="utf-8").replace(
        "teams: [midori]", "teams: [midori, atlantis]"), encoding="utf-8")
    with pytest.raises(ContentError, match="reply midori_food_bank: unknown team 'atlantis'"):
        load_content(folder)
