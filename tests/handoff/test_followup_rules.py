"""Follow-ups planned from what happens in the conversation, and sent by the scheduler."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from line_emulator import events as line_events
from sqlalchemy import select

from bot.db.models import utcnow
from bot.settings import DEFAULT_CONTENT_DIR
from handoff import casework, queue
from handoff.accounts import add_counsellor
from handoff.models import Case, FollowUp, FollowUpState, Outcome
from tests.live import (
    LiveApp,
    Resident,
    conversation_of,
    resident_with_case,
    texts,
    wait_for,
)


@pytest.fixture
def live(database_url: str) -> Iterator[LiveApp]:
    app = LiveApp(database_url, followup_interval_seconds=0.5).start()
    yield app
    app.stop()


def plan(live: LiveApp, r: Resident) -> list[tuple[str, str, str | None]]:
    conv = conversation_of(live, r)
    with live.session() as s:
        return [(f.kind, f.state, f.reason) for f in s.scalars(
            select(FollowUp).where(FollowUp.conversation_id == conv.id).order_by(FollowUp.id))]


def due_times(live: LiveApp, r: Resident) -> list[datetime]:
    conv = conversation_of(live, r)
    with live.session() as s:
        return list(s.scalars(select(FollowUp.due_at).where(FollowUp.conversation_id == conv.id)
                              .order_by(FollowUp.id)))


def test_a_resident_who_stops_mid_intake_gets_one_reminder_unless_they_block(
    live: LiveApp,
) -> None:
    r = Resident(live)
    r.send(r.follow())
    r.wait_messages(4)
    assert plan(live, r) == []  # nothing to remind of at the welcome
    r.tap("はじめる")
    assert plan(live, r) == [("intake_stalled", "scheduled", None)]
    first_due = due_times(live, r)
    r.say("仕事のことで")
    # Counted from the latest message: the same reminder moved later, no second one.
    assert plan(live, r) == [("intake_stalled", "scheduled", None)]
    assert due_times(live, r)[0] > first_due[0]
    r.send(line_events.unfollow_event(r.user_id))
    wait_for(lambda: plan(live, r)[-1] == ("intake_stalled", "cancelled", "blocked"))


def test_waiting_for_a_person_then_picked_up_then_closed(live: LiveApp) -> None:
    r, _ = resident_with_case(live)
    kinds = {(k, st) for k, st, _ in plan(live, r)}
    assert ("not_picked_up", "scheduled") in kinds
    assert ("intake_stalled", "scheduled") not in kinds
    with live.session() as s, s.begin():
        me = add_counsellor(session=s, username="sato", display_name="佐藤",
                            password="correct horse battery staple", team_id="pref")
        case = s.scalars(select(Case)).one()
        assert queue.claim(session=s, case_id=case.id, counsellor=me).won
        s.refresh(case)
        casework.tell_joined(session=s, case=case, counsellor=me, content=live.runtime.content)
        casework.close(session=s, case=case, counsellor=me, outcome=Outcome.PLAN, detail="",
                       content=live.runtime.content)
    final = plan(live, r)
    assert ("not_picked_up", "cancelled", "picked_up") in final
    assert final[-1] == ("after_close", "scheduled", None)


def test_the_scheduler_sends_what_is_due_through_the_outbox(
    database_url: str, tmp_path: Path
) -> None:
    # Whatever the hour this runs at: a deployment whose quiet hours are empty.
    content = tmp_path / "content"
    shutil.copytree(DEFAULT_CONTENT_DIR, content)
    rules = content / "followups.yaml"
    rules.write_text(rules.read_text().replace('{start: "21:00", end: "08:00"}',
                                               '{start: "00:00", end: "00:00"}'))
    live = LiveApp(database_url, followup_interval_seconds=0.5, content_dir=content).start()
    try:
        sends_due_followup(live)
    finally:
        live.stop()


def sends_due_followup(live: LiveApp) -> None:
    r = Resident(live)
    r.send(r.follow())
    r.wait_messages(4)
    conv = conversation_of(live, r)
    with live.session() as s, s.begin():
        s.add(FollowUp(conversation_id=conv.id, kind="manual", text="その後いかがですか",
                       due_at=utcnow()))
    wait_for(lambda: "その後いかがですか" in texts(r.bot_messages()), timeout=15)
    pushes = [c for c in live.emulator.deliveries() if c.path == "/v2/bot/message/push"]
    assert len(pushes) == 1
    with live.session() as s:
        assert s.scalars(select(FollowUp.state)).one() == FollowUpState.SENT
