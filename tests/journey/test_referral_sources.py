"""相談経路 through the real webhook and the LINE emulator: a resident who comes by a
department's referral link (its greeting typed in) gets their conversation's and then their
case's source recorded and the same first answer as anyone; a normal first message records
none; the emulator opens LINE's oaMessage link with the greeting in the compose box."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from bot.content.schema import Source
from bot.db.models import RiskAssessmentRecord
from bot.flows.referral_links import link, prefilled_text
from bot.settings import EMULATOR_LINE_ID
from handoff.models import Case, CaseMessage
from tests.live import LiveApp, Resident, conversation_of, texts, wait_for

TAX = Source(id="tax", name="税務課")
WATER = Source(id="water", name="水道局")
WELCOME_QUESTION = "ご相談を、はじめてもよいですか。"


def case_of(live: LiveApp, r: Resident) -> Case:
    with live.session() as s:
        return s.scalars(select(Case).where(
            Case.conversation_id == conversation_of(live, r).id)).one()


def to_case(r: Resident) -> None:
    """From wherever the intake is, ask for a person and agree: a case opens."""
    r.say("人と話したい")
    r.say("同意する")
    wait_for(r.all_sent)


def assessed(live: LiveApp, r: Resident) -> int:
    return live.count(RiskAssessmentRecord,
                      RiskAssessmentRecord.conversation_id == conversation_of(live, r).id)


def test_a_resident_who_opens_with_the_link_text_is_counted_by_its_source(
        live: LiveApp) -> None:
    by_link, by_follow = Resident(live), Resident(live)
    answer = by_link.say(prefilled_text(TAX))  # their very first message: no follow before
    by_follow.send(by_follow.follow())
    greeted = by_follow.wait_messages(len(answer))
    # The same intake as anyone who adds the account: the welcome and its question, not the
    # greeting taken as their trouble, and nothing read for danger in the department's words.
    assert texts(answer) == texts(greeted) and WELCOME_QUESTION in texts(answer)
    conversation = conversation_of(live, by_link)
    assert conversation.source == "tax"
    assert conversation.state == "welcome" and "trouble" not in conversation.answers
    assert assessed(live, by_link) == 0

    to_case(by_link)
    assert case_of(live, by_link).source == "tax"


def test_after_adding_the_account_the_link_text_still_records_the_source(
        live: LiveApp) -> None:
    r = Resident(live)
    r.send(r.follow())
    welcome = r.wait_messages(4)
    answer = r.say(prefilled_text(WATER))
    assert texts(answer) == texts(welcome)  # the welcome again, as to a greeting
    assert conversation_of(live, r).source == "water"
    # The first source wins: a second leaflet changes nothing.
    r.say(prefilled_text(TAX))
    assert conversation_of(live, r).source == "water"
    to_case(r)
    assert case_of(live, r).source == "water"


def test_words_added_to_the_greeting_are_the_residents_own(live: LiveApp) -> None:
    r = Resident(live)
    answer = r.say(f"{prefilled_text(TAX)}\n家賃が3か月払えていません")
    assert "話してくださって、ありがとうございます" in texts(answer)
    conversation = conversation_of(live, r)
    assert conversation.source == "tax"
    assert conversation.answers["trouble"] == "家賃が3か月払えていません"
    assert assessed(live, r) == 1


def test_danger_written_after_the_greeting_is_answered_first(live: LiveApp) -> None:
    r = Resident(live)
    answer = r.say(f"{prefilled_text(TAX)}もう死にたい。今夜、薬を全部飲むつもりです")
    assert any("tel:" in str(m) for m in answer)  # the numbers at once
    assert conversation_of(live, r).risk_level == "imminent"
    case = case_of(live, r)
    assert (case.basis, case.priority, case.source) == ("life_safety", "imminent", "tax")


def test_a_normal_first_message_records_no_source(live: LiveApp) -> None:
    r = Resident(live)
    r.say("家賃が払えません")
    assert conversation_of(live, r).source is None
    assert conversation_of(live, r).answers["trouble"] == "家賃が払えません"
    to_case(r)
    assert case_of(live, r).source is None


def test_with_a_case_open_the_words_reach_the_counsellor_as_written(live: LiveApp) -> None:
    r = Resident(live)
    r.send(r.follow())
    r.wait_messages(4)
    to_case(r)
    r.say(prefilled_text(TAX))
    assert conversation_of(live, r).source is None and case_of(live, r).source is None
    with live.session() as s:
        words = s.scalars(select(CaseMessage.text).where(
            CaseMessage.case_id == case_of(live, r).id)).all()
    assert prefilled_text(TAX) in words


def test_the_emulator_opens_the_link_with_the_greeting_typed_in(live: LiveApp) -> None:
    url = link(EMULATOR_LINE_ID, TAX)
    in_emulator = "/emulator/R/" + url.removeprefix("https://line.me/R/")
    answer = live.http.get(in_emulator)
    assert answer.status_code == 303
    target = urlsplit(answer.headers["location"])
    assert target.path == "/emulator/"
    assert parse_qs(target.query) == {"oaMessage": [prefilled_text(TAX)]}
    page = live.http.get(answer.headers["location"])
    assert page.status_code == 200 and 'id="text"' in page.text
    # Another account's link: LINE would not find it either.
    assert live.http.get(in_emulator.replace("%40tsunagu", "%40someone")).status_code == 404
