"""A form's edit of a content file changes the lines of what was edited, and nothing else:
comments, order, quoting and hand-wrapped lists stay as their writers left them."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.content.yamledit import EditError, YamlDocument, append_to_last_list, set_entry_field

CONTENT = Path(__file__).resolve().parents[2] / "content"


def text_of(name: str) -> str:
    return (CONTENT / name).read_text(encoding="utf-8")


def changed(before: str, after: str) -> tuple[list[str], list[str]]:
    """(removed lines, added lines)."""
    diff = list(difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0))
    removed = [line[1:] for line in diff if line.startswith("-") and not line.startswith("---")]
    added = [line[1:] for line in diff if line.startswith("+") and not line.startswith("+++")]
    return removed, added


def comments(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if "#" in line]


def strings(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from strings(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from strings(value, (*path, i))
    elif isinstance(node, str):
        yield path, node


@pytest.mark.parametrize("name", ["flows/intake.yaml", "places.yaml", "resources.yaml",
                                  "messages.yaml", "replies.yaml", "risk/modifiers.yaml"])
def test_sending_back_what_was_there_changes_no_byte(name: str) -> None:
    original = text_of(name)
    document = YamlDocument(original)
    for path, value in list(strings(document.plain()))[:60]:
        document.set(path, value)
    assert document.text == original


def test_a_changed_text_changes_its_line_and_keeps_every_comment() -> None:
    original = text_of("flows/intake.yaml")
    document = YamlDocument(original)
    path = ["states", "consent_counsel", "ask", "choices", 0, "label"]
    document.set(path, "はい、同意します")
    removed, added = changed(original, document.text)
    assert len(removed) == len(added) == 1
    assert "はい、同意します" in added[0] and added[0].lstrip().startswith("- {label:")
    assert comments(document.text) == comments(original)
    assert yaml.safe_load(document.text)["states"]["consent_counsel"]["ask"]["choices"][0][
        "label"] == "はい、同意します"


def test_every_edit_stays_inside_the_entry_it_edits() -> None:
    """Each string of the hotlines and places files, changed in turn: the lines that differ are
    those of the entry holding it (a hand-wrapped list may wrap again differently)."""
    for name in ("resources.yaml", "places.yaml"):
        original = text_of(name)
        lines = original.splitlines()
        for path, value in list(strings(YamlDocument(original).plain()))[::7]:
            document = YamlDocument(original)
            document.set(path, value + "（改）")
            removed, added = changed(original, document.text)
            assert removed and len(removed) <= 3, (name, path, removed)
            assert all(line in lines for line in removed)
            assert sum(1 for line in added if "（改）" in line) == 1, (name, path, added)
            assert comments(document.text) == comments(original) or any(
                "#" in line for line in removed), (name, path)
            assert yaml.safe_load(document.text) == _with(yaml.safe_load(original), path,
                                                          value + "（改）")


def _with(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


def test_a_new_hotline_is_written_like_the_others_where_it_is_put() -> None:
    original = text_of("resources.yaml")
    document = YamlDocument(original)
    document.insert(["hotlines"], 2, {"id": "night_welfare", "label": "夜間・休日の福祉相談",
                                      "tel": "0120-000-000", "categories": ["no_food"]})
    removed, added = changed(original, document.text)
    assert removed == []
    assert added == ["  - id: night_welfare", "    label: 夜間・休日の福祉相談",
                     '    tel: "0120-000-000"', "    categories: [no_food]"]
    assert [h["id"] for h in yaml.safe_load(document.text)["hotlines"]][:4] == [
        "ambulance", "police", "night_welfare", "yorisoi"]


def test_a_new_choice_is_one_line_like_its_neighbours() -> None:
    original = text_of("flows/intake.yaml")
    document = YamlDocument(original)
    path = ["states", "consent_counsel", "ask", "choices"]
    document.insert(path, 2, {"label": "あとで決める", "value": "later", "next": "declined"})
    removed, added = changed(original, document.text)
    assert removed == [] and added == [
        "        - {label: あとで決める, value: later, next: declined}"]


def test_two_choices_change_places_and_nothing_else_moves() -> None:
    original = text_of("flows/intake.yaml")
    document = YamlDocument(original)
    path = ["states", "consent_counsel", "ask", "choices"]
    before = document.plain(path)
    document.move(path, 0, 1)
    assert document.plain(path) == [before[1], before[0]]
    removed, added = changed(original, document.text)
    assert sorted(removed) == sorted(added) and len(removed) == 1
    assert comments(document.text) == comments(original)


def test_a_removed_entry_takes_its_own_comment_with_it() -> None:
    original = "teams:\n  # the first desk\n  - id: a\n    name: A\n  # the second desk\n" \
               "  - id: b\n    name: B  # kept\n"
    document = YamlDocument(original)
    document.remove(["teams", 0])
    assert document.text == "teams:\n  # the second desk\n  - id: b\n    name: B  # kept\n"


def test_a_new_key_is_added_at_the_end_of_its_mapping() -> None:
    original = "desk:\n  # hours\n  open: 9\n  close: 17  # weekdays\nother: 1\n"
    document = YamlDocument(original)
    document.set(["desk", "lunch"], "12:00")
    assert document.text == ("desk:\n  # hours\n  open: 9\n  close: 17  # weekdays\n"
                             "  lunch: '12:00'\nother: 1\n")


def test_a_text_of_several_lines_is_a_literal_block_and_a_quoted_one_stays_quoted() -> None:
    original = 'a:\n  tel: "110"\n  text: short\n'
    document = YamlDocument(original)
    document.set(["a", "tel"], "119")
    document.set(["a", "text"], "一行目\n二行目")
    assert document.text == 'a:\n  tel: "119"\n  text: |-\n    一行目\n    二行目\n'


def test_a_hand_wrapped_list_is_wrapped_again() -> None:
    original = ("rules:\n  - id: x\n    examples:\n"
                "      positive: [ひとりぼっちです, 誰にも相談できない, 頼れる人がいない,\n"
                "                 夜になると寂しくて涙が出る]\n")
    document = YamlDocument(original)
    document.set(["rules", 0, "examples", "positive", 1], "だれにも相談できない")
    _, added = changed(original, document.text)
    assert len(added) == 2 and added[1].startswith(" " * 17)
    assert document.plain(["rules", 0, "examples", "positive"])[1] == "だれにも相談できない"


def test_an_edit_that_does_not_fit_is_refused() -> None:
    document = YamlDocument("a: [1, 2]\n")
    with pytest.raises(EditError):
        document.set(["b", "c"], 1)
    with pytest.raises(EditError):
        document.move(["a"], 0, 5)
    with pytest.raises(EditError):
        document.insert(["a", 0], 0, 1)


def test_texts_appended_to_a_language_file_are_written_like_the_others() -> None:
    original = text_of("languages/en.yaml")
    new = [{"ja": "みどり市 夜間福祉ダイヤル", "text": "Midori City night line"},
           {"ja": "受付: 毎日", "text": "Open: every day #1"}]
    after = append_to_last_list(original, "texts", new)
    removed, added = changed(original, after)
    assert removed == []
    assert added == ["- ja: みどり市 夜間福祉ダイヤル", "  text: Midori City night line",
                     "- ja: '受付: 毎日'", "  text: 'Open: every day #1'"]
    assert yaml.safe_load(after)["texts"][-2:] == new
    # A list that does not end the file is extended where it is, by the careful path.
    places = text_of("places.yaml")
    town = {"id": "sakura", "name": "さくら町"}
    extended = append_to_last_list(places, "municipalities", [town])
    assert yaml.safe_load(extended)["municipalities"][-1] == town
    assert changed(places, extended) == ([], ["  - {id: sakura, name: さくら町}"])


CORPUS = """# A writer's file: comments stay.
writer: w01
persona: test
messages:
- id: w01-0001
  text: もう食べるものがない
  level: high
  labels: [high, high]
  lang: ja
- id: w01-0002
  bubbles:
  - でんきが
  - とまった
  level: concern
  labels: [concern, high]
"""


def test_one_field_of_one_corpus_message_is_rewritten() -> None:
    relabelled = set_entry_field(CORPUS, "messages", "w01-0001", "level", "imminent")
    assert relabelled == CORPUS.replace("  level: high\n", "  level: imminent\n")
    written = set_entry_field(CORPUS, "messages", "w01-0001", "text", "二行の\n文")
    assert "  text: |-\n    二行の\n    文\n  level: high" in written
    assert yaml.safe_load(written)["messages"][0]["text"] == "二行の\n文"
    bubbles = set_entry_field(CORPUS, "messages", "w01-0002", "bubbles", ["電気が", "止まった"])
    assert yaml.safe_load(bubbles)["messages"][1]["bubbles"] == ["電気が", "止まった"]
    assert bubbles.startswith("# A writer's file: comments stay.\n")
    added = set_entry_field(CORPUS, "messages", "w01-0002", "kind", "electricity")
    assert added.endswith("  labels: [concern, high]\n  kind: electricity\n")
    with pytest.raises(KeyError):
        set_entry_field(CORPUS, "messages", "w01-9999", "level", "none")
