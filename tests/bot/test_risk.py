"""Risk in what residents type, end to end: assessed in every state, imminent interrupts."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.db.models import Conversation, RiskAssessmentRecord
from handoff.models import Case, CaseMessage, Priority
from tests.flows.helpers import tel_links
from tests.live import LiveApp, Resident, conversation_of, texts

IMMINENT = "もう無理です。今夜死のうと思う"
HIGH = "正直、死にたいです"
OVERDOSE = "薬を全部飲んだ"
VIOLENCE_NOW = "今、夫に殴られています"
CHILD_NOW = "子どもが今叩かれてる"


def the_case(live: LiveApp, r: Resident) -> Case | None:
    with live.session() as s:
        conv = s.scalars(select(Conversation).where(
            Conversation.line_user_id == r.user_id)).one()
        return s.scalars(select(Case).where(Case.conversation_id == conv.id)).first()


def state_of(live: LiveApp, r: Resident) -> str:
    return conversation_of(live, r).state


def records_of(live: LiveApp, r: Resident) -> list[RiskAssessmentRecord]:
    """This resident's risk assessments, oldest first."""
    with live.session() as s:
        return list(s.scalars(select(RiskAssessmentRecord).where(
            RiskAssessmentRecord.conversation_id == conversation_of(live, r).id)
            .order_by(RiskAssessmentRecord.id)))


def put_in_state(live: LiveApp, r: Resident, state: str) -> None:
    r.send(r.follow())
    r.wait_messages(4)
    with live.session() as s, s.begin():
        conv = s.scalars(select(Conversation).where(
            Conversation.line_user_id == r.user_id)).one()
        conv.state = state


def test_danger_in_the_very_first_message_gets_help_and_a_person_at_once(live: LiveApp) -> None:
    r = Resident(live)
    event = r.text(IMMINENT)
    answer = r.say_event(event)
    assert "命" in texts(answer) and "tel:119" in tel_links(answer)
    # Within the same webhook batch: the answer to this very event, through its reply token.
    replies = [c for c in live.emulator.deliveries()
               if (c.body or {}).get("replyToken") == event["replyToken"]]
    assert replies and "tel:119" in tel_links(replies[0].body["messages"])

    case = the_case(live, r)
    assert case is not None and case.priority == Priority.IMMINENT
    assert case.basis == "life_safety"  # no consent yet: the life-safety exception
    assert case.risk_level == "imminent" and "suicidal_ideation" in case.risk_categories
    with live.session() as s:
        words = s.scalars(select(CaseMessage.text).where(CaseMessage.case_id == case.id)).all()
    [record] = records_of(live, r)
    assert words == [IMMINENT]
    assert record.level == "imminent" and any(h["text"] for h in record.hits)
    assert state_of(live, r) == "emergency"
    assert "はじめてもよいですか" in texts(r.tap("続きから"))


@pytest.mark.parametrize("state", ["trouble", "areas", "municipality", "municipality_area",
                                   "municipality_name", "consent_counsel", "handoff", "declined",
                                   "paused"])
def test_imminent_danger_interrupts_any_state(live: LiveApp, state: str) -> None:
    r = Resident(live)
    put_in_state(live, r, state)
    answer = r.say(IMMINENT)
    assert "tel:119" in tel_links(answer) and "命" in texts(answer)
    case = the_case(live, r)
    assert case is not None and case.priority == Priority.IMMINENT
    assert state_of(live, r) == "emergency"


def replies_to(live: LiveApp, event: dict[str, Any]) -> list[dict[str, Any]]:
    """The messages LINE (the emulator) accepted as the reply to this event."""
    return [m for c in live.emulator.deliveries()
            if (c.body or {}).get("replyToken") == event["replyToken"]
            for m in c.body["messages"]]


def test_an_overdose_gets_119_first_and_the_words_to_call_now(live: LiveApp) -> None:
    r = Resident(live)
    put_in_state(live, r, "trouble")
    event = r.text(OVERDOSE)
    answer = r.say_event(event)
    assert answer[0]["text"].startswith("いますぐ119に電話")
    links = tel_links(answer)
    assert links[:2] == ["tel:119", "tel:%237119"]  # the # number dials from the link
    assert tel_links(replies_to(live, event)) == links  # all in the reply, nothing later
    case = the_case(live, r)
    assert case is not None and case.priority == Priority.IMMINENT
    assert state_of(live, r) == "emergency"
    labels = [i["action"]["label"] for i in answer[-1]["quickReply"]["items"]]
    assert labels[0] == "人と話したい" and "続きから" in labels[1:]
    assert "どんなことでお困りですか" in texts(r.tap("続きから"))  # back to the form, later
    assert state_of(live, r) == "trouble"


def test_violence_now_gets_110_first_and_the_dv_lines(live: LiveApp) -> None:
    r = Resident(live)
    answer = r.say(VIOLENCE_NOW)
    assert "安全な場所" in answer[0]["text"] and "110" in answer[0]["text"]
    assert tel_links(answer)[:3] == ["tel:110", "tel:%238008", "tel:0120279889"]
    assert "DV相談ナビ #8008" in texts(answer)  # the number as people read it


def test_a_child_in_danger_gets_189(live: LiveApp) -> None:
    r = Resident(live)
    answer = r.say(CHILD_NOW)
    assert "189" in answer[0]["text"]
    assert tel_links(answer)[:2] == ["tel:189", "tel:110"]


def test_more_than_four_numbers_all_reach_line(live: LiveApp) -> None:
    r = Resident(live)
    event = r.text(IMMINENT)
    r.say_event(event)
    links = tel_links(replies_to(live, event))
    assert len(links) > 4 and len(set(links)) == len(links)
    assert {"tel:0120279338", "tel:0120783556", "tel:0570783556", "tel:0570064556",
            "tel:119", "tel:110"} == set(links)


def test_the_emergency_button_shows_the_general_numbers(live: LiveApp) -> None:
    r = Resident(live)
    put_in_state(live, r, "who")
    answer = r.say("緊急")
    assert tel_links(answer) == ["tel:119", "tel:110", "tel:0120279338", "tel:0120783556",
                                 "tel:0570783556"]
    assert "相談員がいる時間なら" not in texts(answer)


def test_high_risk_points_to_a_person_and_the_flow_goes_on(live: LiveApp) -> None:
    r = Resident(live)
    put_in_state(live, r, "trouble")
    answer = r.say(HIGH)
    assert "つらい気持ち" in texts(answer) and "どなたのこと" in texts(answer)
    labels = [i["action"]["label"] for i in answer[-1]["quickReply"]["items"]]
    assert "人と話したい" in labels
    assert the_case(live, r) is None  # no consent, not imminent: nobody reads it yet
    conv = conversation_of(live, r)
    assert conv.risk_level == "high" and conv.answers["trouble"] == HIGH


def test_high_risk_raises_an_open_case_and_a_later_case_starts_high(live: LiveApp) -> None:
    r = Resident(live)
    put_in_state(live, r, "consent_counsel")
    r.say("同意する")
    case = the_case(live, r)
    assert case is not None and case.priority == Priority.NORMAL
    r.say(HIGH)
    case = the_case(live, r)
    assert case is not None and case.priority == Priority.HIGH
    assert case.risk_level == "high" and case.basis == "consent"


def test_every_text_message_is_assessed_and_kept_with_it(live: LiveApp) -> None:
    r = Resident(live)
    r.send(r.follow())
    r.wait_messages(4)
    for words in ["こんばんは", "取り立てが怖いです", "40代です"]:
        r.say(words)
    records = records_of(live, r)
    assert [rec.level for rec in records] == ["none", "concern", "none"]
    assert records[1].categories == ["debt_collection"]
    assert all(rec.lexicon_version for rec in records)


BROKEN = ["今夜死にます\x00", "今夜死にます\ud83d", "\x00\x01今夜死にます\udfff"]


@pytest.mark.parametrize("words", BROKEN)
def test_a_message_with_a_nul_or_a_broken_emoji_is_still_assessed(live: LiveApp,
                                                                    words: str) -> None:
    """A lone surrogate (half an emoji from a broken client) or a NUL reaches us inside valid
    JSON; the message must still be read, assessed and answered, not fail as an event."""
    r = Resident(live)
    answer = r.say(words)
    assert "tel:119" in tel_links(answer)
    case = the_case(live, r)
    assert case is not None and case.priority == Priority.IMMINENT
