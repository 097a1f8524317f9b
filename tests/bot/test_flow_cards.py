"""The intake as cards: in the order a resident meets it, and a card's form applied to the flow
file as the smallest change (pure: no server, no database)."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
import yaml

from bot.content.flow import Flow
from bot.content.ids import identifier
from bot.flows import cards

TEXT = (Path(__file__).resolve().parents[2] / "content" / "flows" / "intake.yaml").read_text(
    encoding="utf-8")
FLOW = Flow.model_validate(yaml.safe_load(TEXT))


def changed(after: str) -> tuple[list[str], list[str]]:
    diff = list(difflib.unified_diff(TEXT.splitlines(), after.splitlines(), lineterm="", n=0))
    return ([d[1:] for d in diff if d.startswith("-") and not d.startswith("---")],
            [d[1:] for d in diff if d.startswith("+") and not d.startswith("+++")])


def test_cards_come_in_the_order_a_resident_meets_them() -> None:
    order = cards.order(FLOW)
    assert sorted(order) == sorted(FLOW.states)
    assert order[:3] == ["welcome", "trouble", "info"]
    assert order.index("who") < order.index("areas") < order.index("urgency")
    welcome = cards.card(FLOW, "welcome")
    assert welcome.summary == "連絡してくださって、ありがとうございます。"
    assert [c.next for c in welcome.choices] == ["trouble", "info", "language"]
    assert "welcome" in cards.card(FLOW, "trouble").reached_from


def test_a_bubble_edit_changes_its_line_only() -> None:
    edit = cards.CardEdit(ask_text=[("いま、いちばん気がかりなことを教えてください。", False)])
    assert changed(cards.apply(TEXT, "trouble", edit)) == (
        ["        - text: どんなことでお困りですか。うまく言えなくても、ひとことでも大丈夫です。"],
        ["        - text: いま、いちばん気がかりなことを教えてください。"])
    # Windows line ends and trailing blanks from a textarea are not a change.
    same = cards.CardEdit(say=[(b.text.replace("\n", "\r\n") + "  ", False)
                               for b in cards.card(FLOW, "welcome").say])
    assert cards.apply(TEXT, "welcome", same) == TEXT


def test_choices_are_relabelled_retargeted_moved_removed_and_added() -> None:
    card = cards.card(FLOW, "info")
    keep = [cards.ChoiceEdit(c.label, c.next or "") for c in card.choices]
    relabelled = cards.apply(TEXT, "info", cards.CardEdit(choices=[
        cards.ChoiceEdit("相談する", "trouble"), keep[1]]))
    assert changed(relabelled) == (
        ["        - {label: 相談をはじめる, value: start, next: trouble}"],
        ["        - {label: 相談する, value: start, next: trouble}"])
    moved = cards.apply(TEXT, "info", cards.CardEdit(choices=keep, move=(1, -1)))
    assert [c["value"] for c in yaml.safe_load(moved)["states"]["info"]["ask"]["choices"]] == \
        ["back", "start"]
    removed = cards.apply(TEXT, "info", cards.CardEdit(choices=[
        keep[0], cards.ChoiceEdit("", "", remove=True)]))
    assert changed(removed) == (["        - {label: 最初の画面に戻る, value: back, next: welcome}"],
                                [])
    added = cards.apply(TEXT, "info", cards.CardEdit(
        choices=keep, new_choice=cards.ChoiceEdit("はなしたい", "trouble")))
    assert changed(added) == ([], [
        "        - {label: はなしたい, value: hanashitai, next: trouble}"])


def test_a_form_made_for_another_version_of_the_card_is_refused() -> None:
    with pytest.raises(cards.CardError):
        cards.apply(TEXT, "info", cards.CardEdit(choices=[cards.ChoiceEdit("x", "")]))


def test_ids_come_from_the_reading_and_are_free() -> None:
    assert identifier("はい", set(), "choice") == "hai"
    assert identifier("フードバンク", set(), "choice") == "fu_dobanku"
    assert identifier("相談", set(), "choice") == "choice"
    assert identifier("はい", {"hai", "hai_2"}, "choice") == "hai_3"


def test_a_question_goes_with_the_choices_that_lead_to_it_and_only_then() -> None:
    assert not cards.removable(FLOW, "welcome")  # the start
    assert not cards.removable(FLOW, "areas")  # the `next` of 「ご相談は、どなたのことですか」
    assert cards.removable(FLOW, "declined")
    assert cards.leading_choices(FLOW, "declined") == [("consent_counsel", "同意しない")]
    text = cards.remove_state(TEXT, FLOW, "declined")
    flow = yaml.safe_load(text)
    assert "declined" not in flow["states"]
    assert [c["value"] for c in flow["states"]["consent_counsel"]["ask"]["choices"]] == ["agree"]
    with pytest.raises(cards.CardError):
        cards.remove_state(TEXT, FLOW, "areas")

    added, name = cards.add_state(TEXT, question="ほかにもありますか。", from_state="info",
                                  entry_label="ほかのこと",
                                  choices=[cards.ChoiceEdit("はい", "trouble")])
    assert name == "hokanimoarimasuka"
    again = Flow.model_validate(yaml.safe_load(added))
    assert cards.leading_choices(again, name) == [("info", "ほかのこと")]
    assert cards.remove_state(added, again, name) == TEXT


def test_a_multi_selects_done_button_is_relabelled_and_retargeted() -> None:
    card = cards.card(FLOW, "areas")
    assert card.multi and card.done is not None and card.done.label == "選び終わった"
    edit = cards.CardEdit(done=cards.ChoiceEdit("これで全部", "municipality"))
    assert changed(cards.apply(TEXT, "areas", edit)) == (
        ["      done: {label: 選び終わった, value: done, next: urgency}"],
        ["      done: {label: これで全部, value: done, next: municipality}"])
    # Unchanged words leave the file as it was.
    same = cards.CardEdit(done=cards.ChoiceEdit("選び終わった", "urgency"))
    assert cards.apply(TEXT, "areas", same) == TEXT
