"""Due follow-ups becoming outbox rows, without a server: dispatch_due (handoff/followups.py)
and the scheduler's job around it (send_due_followups in bot/platform/lifecycle.py).

On the module's shared database: every test has residents of its own and looks only at their
rows (a pass also sends what other tests left due). Quiet hours, blocked and withdrawn
residents and two dispatchers at once are in tests/handoff/test_followups.py, on an empty
database each."""

from __future__ import annotations

from datetime import time, timedelta
from types import SimpleNamespace

import pytest
from line_emulator.events import new_user_id
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.db.engine import transaction
from bot.db.models import Conversation, OutboxMessage, utcnow
from bot.platform.lifecycle import send_due_followups
from handoff.followups import FollowUpRules, QuietHours, dispatch_due
from handoff.models import FollowUp, FollowUpState

# Whatever the hour this runs at: no quiet hours.
ANY_HOUR = FollowUpRules(quiet_hours=QuietHours(start=time(0, 0), end=time(0, 0)), rules={})


def resident_with_follow_ups(sessions: sessionmaker[Session], *texts: str,
                             due: timedelta = timedelta(minutes=-1)) -> tuple[str, int]:
    """A resident with these follow-ups, one minute apart, the last due `due` from now."""
    user = new_user_id()
    now = utcnow()
    with transaction(sessions) as s:
        conv = Conversation(line_user_id=user, flow_id="intake", flow_version="v",
                            state="handoff", answers={}, consent={})
        s.add(conv)
        s.flush()
        for n, words in enumerate(texts):
            s.add(FollowUp(conversation_id=conv.id, kind="manual", text=words,
                           due_at=now + due - timedelta(minutes=len(texts) - 1 - n)))
        return user, conv.id


def pushes_to(sessions: sessionmaker[Session], user: str) -> list[OutboxMessage]:
    with sessions() as s:
        return list(s.scalars(select(OutboxMessage).where(OutboxMessage.line_user_id == user)
                              .order_by(OutboxMessage.id)))


def states(sessions: sessionmaker[Session], conversation_id: int) -> list[str]:
    with sessions() as s:
        return list(s.scalars(select(FollowUp.state).where(
            FollowUp.conversation_id == conversation_id).order_by(FollowUp.id)))


def dispatch(sessions: sessionmaker[Session]) -> int:
    with transaction(sessions) as s:
        return dispatch_due(session=s, rules=ANY_HOUR, now=utcnow())


def test_a_due_follow_up_becomes_one_push_and_a_second_pass_sends_nothing_more(
        sessions: sessionmaker[Session]) -> None:
    user, conv_id = resident_with_follow_ups(sessions, "その後いかがですか")
    assert dispatch(sessions) >= 1
    dispatch(sessions)
    [push] = pushes_to(sessions, user)
    assert push.messages == [{"type": "text", "text": "その後いかがですか"}]
    assert push.conversation_id == conv_id and push.reply_token is None  # always a push
    assert states(sessions, conv_id) == [FollowUpState.SENT]


def test_one_not_due_yet_is_left_for_later(sessions: sessionmaker[Session]) -> None:
    user, conv_id = resident_with_follow_ups(sessions, "まだ", due=timedelta(hours=1))
    dispatch(sessions)
    assert pushes_to(sessions, user) == []
    assert states(sessions, conv_id) == [FollowUpState.SCHEDULED]


def test_a_pass_stops_at_its_limit(sessions: sessionmaker[Session]) -> None:
    user, conv_id = resident_with_follow_ups(sessions, "1", "2", "3")
    with transaction(sessions) as s:
        assert dispatch_due(session=s, rules=ANY_HOUR, now=utcnow(), limit=1) == 1
    assert len(pushes_to(sessions, user)) <= 1
    assert states(sessions, conv_id).count(FollowUpState.SCHEDULED) >= 2


def test_due_follow_ups_go_out_in_the_order_they_fell_due_each_with_its_own_retry_key(
        sessions: sessionmaker[Session]) -> None:
    user, conv_id = resident_with_follow_ups(sessions, "一", "二", "三")
    dispatch(sessions)
    pushes = pushes_to(sessions, user)
    assert [p.messages[0]["text"] for p in pushes] == ["一", "二", "三"]
    assert len({p.retry_key for p in pushes}) == 3
    assert states(sessions, conv_id) == [FollowUpState.SENT] * 3


async def test_the_scheduler_job_sends_everything_due_in_batches_and_wakes_the_sender(
        sessions: sessionmaker[Session]) -> None:
    user, conv_id = resident_with_follow_ups(sessions, *(f"{n}" for n in range(5)))
    woken = []
    content = SimpleNamespace(followups=ANY_HOUR,  # Japanese only: texts as written
                              for_language=lambda code: SimpleNamespace(tr=lambda t: t))
    runtime = SimpleNamespace(sessions=sessions, content=content,
                              wake_outbox=lambda: woken.append(True))
    total = await send_due_followups(runtime, batch=2)  # type: ignore[arg-type]
    assert total >= 5  # three batches at least: 2, 2, then what is left
    assert [p.messages[0]["text"] for p in pushes_to(sessions, user)] == \
        ["0", "1", "2", "3", "4"]
    assert len(woken) >= 3  # woken as each batch was written, not only at the end
    assert states(sessions, conv_id) == [FollowUpState.SENT] * 5
    assert await send_due_followups(runtime, batch=2) == 0  # type: ignore[arg-type]
    assert len(pushes_to(sessions, user)) == 5


@pytest.mark.parametrize("following", [True, False])
def test_a_blocked_resident_s_follow_up_is_cancelled_not_sent(
        sessions: sessionmaker[Session], following: bool) -> None:
    user, conv_id = resident_with_follow_ups(sessions, "x")
    with transaction(sessions) as s:
        conv = s.get(Conversation, conv_id)
        assert conv is not None
        conv.following = following
    dispatch(sessions)
    assert len(pushes_to(sessions, user)) == (1 if following else 0)
    assert states(sessions, conv_id) == \
        [FollowUpState.SENT if following else FollowUpState.CANCELLED]
