"""Follow-ups planned from what happens in the conversation, and sent by the scheduler."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from line_emulator import events as line_events
from sqlalchemy import select

from bot.db.models import utcnow
from bot.settings import DEFAULT_CONTENT_DIR
from handoff import casework, queue
from handoff.models import Case, Counsellor, FollowUp, FollowUpState, Outcome
from tests.live import (
    LiveApp,
    Resident,
    Staff,
    conversation_of,
    resident_with_case,
    texts,
    wait_for,
)


@pytest.fixture(scope="module")
def live_settings() -> dict[str, Any]:
    return {"followup_interval_seconds": 0.5}


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("sato", "佐藤", team_id="pref")]


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
    r, case_id = resident_with_case(live)
    kinds = {(k, st) for k, st, _ in plan(live, r)}
    assert ("not_picked_up", "scheduled") in kinds
    assert ("intake_stalled", "scheduled") not in kinds
    with live.session() as s, s.begin():
        me = s.scalars(select(Counsellor).where(Counsellor.username == "sato")).one()
        case = s.scalars(select(Case).where(
            Case.conversation_id == conversation_of(live, r).id)).one()
        assert case.id == case_id
        assert queue.claim(session=s, case_id=case.id, counsellor=me).won
        s.refresh(case)
        casework.tell_joined(session=s, case=case, counsellor=me, content=live.runtime.content)
        casework.close(session=s, case=case, counsellor=me, outcome=Outcome.INFO, detail="",
                       content=live.runtime.content)
    final = plan(live, r)
    assert ("not_picked_up", "cancelled", "picked_up") in final
    assert final[-1] == ("after_close", "scheduled", None)


def test_the_scheduler_sends_what_is_due_through_the_outbox(
    fresh_database_url: str, tmp_path: Path, live_factory: Callable[..., LiveApp]
) -> None:
    # Its own database: the module's server, with the shipped quiet hours, would dispatch
    # on this one too.
    # Whatever the hour this runs at: a deployment whose quiet hours are empty.
    content = tmp_path / "content"
    shutil.copytree(DEFAULT_CONTENT_DIR, content)
    rules = content / "followups.yaml"
    rules.write_text(rules.read_text().replace('{start: "21:00", end: "08:00"}',
                                               '{start: "00:00", end: "00:00"}'))
    sends_due_followup(live_factory(fresh_database_url, followup_interval_seconds=0.5,
                                    content_dir=content))


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
