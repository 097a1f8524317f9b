"""What each intent a flow step returns does to the database, applied on their own in one
transaction (`apply_intents`), without the webhook, the worker or LINE."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.db.engine import make_engine, make_session_factory
from bot.db.models import Conversation, utcnow
from bot.flows import intents as it
from bot.journey.conversation import FlowLibrary, apply_intents
from bot.line import text
from bot.releases.load import load_content
from bot.settings import DEFAULT_CONTENT_DIR
from handoff import followups
from handoff.models import Case, CaseMessage, CaseStatus, FollowUp, FollowUpState, Outcome

LIBRARY = FlowLibrary(load_content(DEFAULT_CONTENT_DIR))
RETENTION = timedelta(days=LIBRARY.content.places.retention_days)


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    engine = make_engine(database_url)
    sessions: sessionmaker[Session] = make_session_factory(engine)
    with sessions() as s, s.begin():
        yield s
    engine.dispose()


def conversation(s: Session) -> Conversation:
    conv = Conversation(line_user_id="U" + "1" * 32, flow_id="intake", flow_version="old",
                        state="who", answers={"municipality": "midori"}, consent={})
    s.add(conv)
    s.flush()
    return conv


def test_send_returns_the_messages_in_order_and_writes_nothing_else(session: Session) -> None:
    conv = conversation(session)
    sent = apply_intents(session, conv, [it.Send([text("一")]), it.Send([text("二"), text("三")])],
                         LIBRARY, utcnow())
    assert [m["text"] for m in sent] == ["一", "二", "三"]
    assert session.scalars(select(Case)).all() == []


def test_consent_is_recorded_by_scope_with_its_time(session: Session) -> None:
    conv, now = conversation(session), utcnow()
    conv.delete_after = now + RETENTION  # as for anyone who has not consented yet
    apply_intents(session, conv, [it.SetConsent("counsellor", True),
                                  it.SetConsent("share", False)], LIBRARY, now)
    assert conv.consent == {"counsellor": {"granted": True, "at": now.isoformat()},
                            "share": {"granted": False, "at": now.isoformat()}}
    assert conv.delete_after is None  # consent keeps the conversation


def test_opening_a_case_routes_it_by_the_answers(session: Session) -> None:
    conv = conversation(session)
    apply_intents(session, conv, [it.OpenCase()], LIBRARY, utcnow())
    [case] = session.scalars(select(Case).where(Case.conversation_id == conv.id)).all()
    town = next(m for m in LIBRARY.content.places.municipalities if m.id == "midori")
    assert case.status == CaseStatus.OPEN and case.team_id == town.team


def test_words_for_the_counsellor_reach_the_case_opening_it_if_needed(session: Session) -> None:
    conv = conversation(session)
    apply_intents(session, conv, [it.ForwardToCase("家賃が払えません")], LIBRARY, utcnow())
    [case] = session.scalars(select(Case).where(Case.conversation_id == conv.id)).all()
    [message] = session.scalars(select(CaseMessage).where(CaseMessage.case_id == case.id)).all()
    assert message.text == "家賃が払えません"


def test_withdrawal_stops_follow_ups_closes_the_case_and_sets_the_erasure_date(
        session: Session) -> None:
    conv, now = conversation(session), utcnow()
    apply_intents(session, conv, [it.SetConsent("counsellor", True), it.OpenCase()], LIBRARY, now)
    followups.schedule(session=session, conversation_id=conv.id, kind="manual", text="その後は",
                       due_at=now + timedelta(days=1))
    apply_intents(session, conv, [it.WithdrawConsent()], LIBRARY, now)
    assert conv.consent == {scope: {"granted": False, "at": now.isoformat()}
                            for scope in ("counsellor", "share")}
    assert conv.consent_withdrawn_at == now and conv.delete_after == now + RETENTION
    [case] = session.scalars(select(Case).where(Case.conversation_id == conv.id)).all()
    assert case.status == CaseStatus.CLOSED and case.outcome == Outcome.WITHDRAWN
    [follow_up] = session.scalars(select(FollowUp)).all()
    assert follow_up.state == FollowUpState.CANCELLED


def test_starting_over_moves_the_conversation_to_the_current_flow(session: Session) -> None:
    conv = conversation(session)
    apply_intents(session, conv, [it.SwitchToCurrentVersion()], LIBRARY, utcnow())
    assert conv.flow_version == LIBRARY.content.flows["intake"].version
