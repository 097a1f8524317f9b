"""An accepted event is never lost and never processed twice, whatever stops the process."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.db.models import InboxEvent, InboxStatus, OutboxMessage, OutboxStatus
from bot.journey import worker
from bot.journey.conversation import handle_event
from tests.live import LiveApp, Resident, wait_for


class ProcessDied(BaseException):
    """Stands for the process vanishing: not an `Exception`, so nothing in the app catches it."""


def test_events_accepted_before_a_stop_are_processed_once_after_restart(
    fresh_database_url: str,
) -> None:
    # First process: the webhook accepts, then the process stops before any processing.
    first = LiveApp(fresh_database_url, background=False).start()
    residents = [Resident(first) for _ in range(3)]
    for r in residents:
        follow, text = r.follow(), r.text("仕事がなくなりました")
        text["timestamp"] = follow["timestamp"] + 1
        r.send(follow, text)
    first.stop()
    assert first.count(InboxEvent, InboxEvent.status == InboxStatus.PENDING) == 6
    assert first.count(OutboxMessage) == 0

    # Second process on the same database: picks them up, each exactly once.
    second = LiveApp(fresh_database_url).start()
    try:
        for r in residents:
            second.emulator.register_user(r.user_id)
        wait_for(lambda: second.count(OutboxMessage, OutboxMessage.status == OutboxStatus.SENT)
                 == 6, timeout=20)
        assert second.count(InboxEvent, InboxEvent.status == InboxStatus.DONE) == 6
        with second.session() as s:
            per_event = [row.source_event_id for row in s.scalars(select(OutboxMessage))]
        assert len(per_event) == len(set(per_event)) == 6
        # The old reply tokens belong to the first emulator: LINE refuses them, so each
        # answer is pushed, once: the welcome (3 bubbles and its question), then the thanks
        # for what they typed and the next question.
        for r in residents:
            assert len(second.emulator.bot_messages(r.user_id)) == 4 + 2
    finally:
        second.stop()


def test_a_worker_dying_mid_event_leaves_it_pending_and_writes_nothing(
    fresh_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = LiveApp(fresh_database_url, background=False).start()
    try:
        r = Resident(live)
        r.send(r.text("家賃のことで"))

        def dies_after_writing(*args: object, **kwargs: object) -> int:
            handle_event(*args, **kwargs)  # type: ignore[arg-type]
            raise ProcessDied

        monkeypatch.setattr(worker, "handle_event", dies_after_writing)
        key = f"user:{r.user_id}"
        rt = live.runtime
        with pytest.raises(ProcessDied):
            worker.process_source(rt.sessions, key, lambda: rt.library, reply_ttl_seconds=50)
        assert live.count(InboxEvent, InboxEvent.status == InboxStatus.PENDING) == 1
        assert live.count(OutboxMessage) == 0

        monkeypatch.setattr(worker, "handle_event", handle_event)
        served = lambda: rt.library  # noqa: E731
        assert worker.process_source(rt.sessions, key, served, reply_ttl_seconds=50) == 1
        assert worker.process_source(rt.sessions, key, served, reply_ttl_seconds=50) == 0
        assert live.count(OutboxMessage) == 1
        assert live.count(InboxEvent, InboxEvent.status == InboxStatus.DONE) == 1
    finally:
        live.stop()


def test_an_event_that_keeps_failing_is_kept_and_the_resident_still_hears_back(
    fresh_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> int:
        raise RuntimeError("bug in a flow")

    monkeypatch.setattr(worker, "handle_event", broken)
    live = LiveApp(fresh_database_url).start()
    try:
        r = Resident(live)
        r.send(r.text("助けてください"))
        messages = r.wait_messages(1)
        assert "もう一度" in messages[0]["text"]
        with live.session() as s:
            event = s.scalars(select(InboxEvent)).one()
        assert event.status == InboxStatus.FAILED
        assert event.attempts == worker.MAX_ATTEMPTS
        assert event.error == "RuntimeError"  # the class only: no message text
    finally:
        live.stop()
