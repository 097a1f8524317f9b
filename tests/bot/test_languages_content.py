"""Language files: checked as content is loaded (critical texts required, labels that fit),
and content put into a language."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bot.content.files import ContentError
from bot.content.languages import Translator
from bot.content.texts import localize_resources
from bot.releases.load import load_content

CONTENT = Path(__file__).resolve().parents[2] / "content"


def copy_with(tmp_path: Path, code: str, change: object) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    path = target / "languages" / f"{code}.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)  # type: ignore[operator]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return target


def test_the_shipped_languages_cover_every_text() -> None:
    content = load_content(CONTENT)
    assert {"en", "ja_easy"} <= set(content.languages)
    assert content.language_gaps() == []


def test_a_language_without_a_safety_text_is_refused(tmp_path: Path) -> None:
    imminent = load_content(CONTENT).messages.risk_imminent[0]

    def drop(data: dict) -> None:  # type: ignore[type-arg]
        data["texts"] = [e for e in data["texts"] if e["ja"] != imminent]

    with pytest.raises(ContentError, match=r"safety or consent text at messages\.yaml "
                                           r"risk_imminent"):
        load_content(copy_with(tmp_path, "en", drop))


def test_a_missing_ordinary_text_is_reported_not_refused(tmp_path: Path) -> None:
    info = load_content(CONTENT).flows["intake"].flow.states["info"].say[1].text

    def drop(data: dict) -> None:  # type: ignore[type-arg]
        data["texts"] = [e for e in data["texts"] if e["ja"] != info]

    content = load_content(copy_with(tmp_path, "en", drop))
    [gap] = content.language_gaps()
    assert (gap.language, gap.problem, gap.refused) == ("en", "missing", False)
    # The resident still reads something: the Japanese, rather than nothing.
    assert content.for_language("en").tr(info) == info


def test_a_label_too_long_for_line_is_refused(tmp_path: Path) -> None:
    def lengthen(data: dict) -> None:  # type: ignore[type-arg]
        for e in data["texts"]:
            if e["ja"] == "人と話したい":
                e["text"] = "I would like to talk to a real person now"

    with pytest.raises(ContentError, match="longer than 20 characters"):
        load_content(copy_with(tmp_path, "en", lengthen))


def test_a_variant_must_keep_the_placeholders(tmp_path: Path) -> None:
    def break_it(data: dict) -> None:  # type: ignore[type-arg]
        for e in data["texts"]:
            if "{team_name}" in e["ja"]:
                e["text"] = e["text"].replace("{team_name}", "the desk")
                break

    with pytest.raises(ContentError, match="placeholders"):
        load_content(copy_with(tmp_path, "en", break_it))


def test_numbers_in_a_residents_language_come_first_and_others_only_where_understood() -> None:
    content = load_content(CONTENT)
    english = localize_resources(content.resources, Translator(content.languages["en"]))
    ids = [h.id for h in english.hotlines]
    assert ids[:2] == ["tell_lifeline", "fresc"]
    assert {"tell_lifeline", "fresc"} <= {h.id for h in english.general()}
    japanese = content.for_language(None).resources
    assert "tell_lifeline" not in [h.id for h in japanese.hotlines]
    assert english.hotlines[0].call_text == "Call 03-5774-0992"  # the button, in English
    assert content.resources.hotlines[0].call_text == "119 に電話する"
