"""LINE answering 500, 429 or too slowly for a while: every message arrives after recovery,
exactly once and in order for each resident."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from bot.db.models import OutboxMessage, OutboxStatus
from tests.live import LiveApp, Resident, wait_for

RESIDENTS = 4


# Every test has a server and database of its own (fresh_live): a fault outlives a test, and
# "nothing given up" is checked over every outbox row.
@pytest.fixture(scope="module")
def live_settings() -> dict[str, Any]:
    # Short client timeout so "slow" is cheap to provoke; fast backoff keeps the test short.
    return {"line_request_timeout_seconds": 0.5}


def produced(live: LiveApp, user_id: str) -> list[dict[str, Any]]:
    """What the bot meant to send this resident, in the order it decided it."""
    with live.session() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.line_user_id == user_id)
                         .order_by(OutboxMessage.id)).all()
        return [m for row in rows for m in row.messages]


def settled(live: LiveApp, residents: list[Resident]) -> bool:
    with live.session() as s:
        unfinished = s.scalars(select(OutboxMessage.status).where(
            OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))).all()
    return not unfinished and all(r.all_sent() for r in residents)


def talk(live: LiveApp) -> list[Resident]:
    residents = [Resident(live) for _ in range(RESIDENTS)]
    for r in residents:
        r.send(r.follow())
    for r in residents:
        r.send(r.text("はじめる"))
        r.send(r.text("家賃が払えなくて困っています"))
    return residents


def check_delivered_once_in_order(live: LiveApp, residents: list[Resident]) -> None:
    wait_for(lambda: settled(live, residents), timeout=60)
    with live.session() as s:
        statuses = set(s.scalars(select(OutboxMessage.status)))
    assert statuses == {OutboxStatus.SENT}  # nothing given up
    for r in residents:
        assert r.bot_messages() == produced(live, r.user_id)  # all, once, in order
    accepted_keys = [c.retry_key for c in live.emulator.calls
                     if c.path.endswith("/message/push") and c.status == 200]
    assert len(accepted_keys) == len(set(accepted_keys))


@pytest.mark.parametrize("statuses", [[500] * 8, [429] * 8, [500, 429, 503, 500, 429, 502]])
def test_errors_for_a_while_then_everything_arrives(fresh_live: LiveApp,
                                                    statuses: list[int]) -> None:
    live = fresh_live
    live.emulator.inject_faults(statuses)
    residents = talk(live)
    check_delivered_once_in_order(live, residents)
    failed = [c for c in live.emulator.calls if c.status in set(statuses)]
    assert len(failed) == len(statuses)  # the outage really hit the bot's calls


def test_slow_answers_time_out_and_the_retry_key_stops_a_double(
        fresh_database_url: str, live_factory: Callable[..., LiveApp],
        live_settings: dict[str, Any]) -> None:
    # Pushes only (no reply window): LINE took each slow message; the bot's request timed out
    # and its retry, with the same X-Line-Retry-Key, is answered 409 instead of a second copy.
    app = live_factory(fresh_database_url, **live_settings, reply_token_ttl_seconds=0)
    app.emulator.inject_delays([1.5] * 4)
    residents = talk(app)
    check_delivered_once_in_order(app, residents)
    conflicts = [c for c in app.emulator.calls if c.status == 409]
    assert conflicts, "the timed-out pushes were retried and recognised"
