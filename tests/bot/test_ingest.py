"""Group commit of webhook bodies (bot/edge/ingest.py) on a real database."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from line_emulator import events as line_events
from sqlalchemy import Engine, event, func, select
from sqlalchemy.exc import StatementError

from bot.db.engine import make_engine, make_session_factory
from bot.db.models import InboxEvent
from bot.edge.inbox import StoreResult
from bot.edge.ingest import InboxWriter


@pytest.fixture
def engine(fresh_database_url: str) -> Iterator[Engine]:
    engine = make_engine(fresh_database_url)
    yield engine
    engine.dispose()


def commits_of(engine: Engine) -> list[int]:
    counted: list[int] = []
    event.listen(engine, "commit", lambda _conn: counted.append(1))
    return counted


def stored(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(select(InboxEvent.webhook_event_id)
                                 .order_by(InboxEvent.webhook_event_id)))


def body(*events: dict[str, Any]) -> list[dict[str, Any]]:
    return list(events)


def text_event(n: int) -> dict[str, Any]:
    return line_events.text_event(f"U{n:032x}", f"message {n}")


def store_all(writer: InboxWriter, bodies: list[list[dict[str, Any]]]
              ) -> list[StoreResult | BaseException]:
    async def run() -> list[StoreResult | BaseException]:
        return await asyncio.gather(*(writer.store(b) for b in bodies), return_exceptions=True)
    return asyncio.run(run())


def test_concurrent_webhooks_share_a_commit(engine: Engine) -> None:
    writer = InboxWriter(make_session_factory(engine))
    commits = commits_of(engine)
    events = [text_event(n) for n in range(40)]
    results = store_all(writer, [body(e) for e in events])
    assert results == [StoreResult(accepted=1, duplicates=0)] * 40
    assert stored(engine) == sorted(e["webhookEventId"] for e in events)
    # They all arrived while nothing was being written: one transaction for the forty.
    assert len(commits) == 1


def test_a_redelivery_in_the_same_batch_is_a_duplicate(engine: Engine) -> None:
    writer = InboxWriter(make_session_factory(engine))
    first, second = text_event(1), text_event(2)
    redelivered = {**first, "deliveryContext": {"isRedelivery": True}}
    results = store_all(writer, [body(first, second), body(redelivered), body(second)])
    assert results == [StoreResult(2, 0), StoreResult(0, 1), StoreResult(0, 1)]
    assert store_all(writer, [body(first)]) == [StoreResult(0, 1)]  # and in a later one
    assert len(stored(engine)) == 2


def test_a_body_the_database_refuses_fails_alone(engine: Engine) -> None:
    writer = InboxWriter(make_session_factory(engine))
    good = [text_event(n) for n in range(3)]
    # A payload the JSON column cannot take (the webhook refuses such bodies earlier, with a
    # 400; here the writer meets one, as it would meet a database error on one body).
    bad = {**text_event(99), "odd": {1, 2}}
    results = store_all(writer, [body(good[0]), body(bad), body(good[1], good[2])])
    assert results[0] == StoreResult(1, 0)
    assert isinstance(results[1], (StatementError, TypeError))  # as each driver wraps it
    assert results[2] == StoreResult(2, 0)
    assert stored(engine) == sorted(e["webhookEventId"] for e in good)


def test_a_batch_is_bounded(engine: Engine) -> None:
    writer = InboxWriter(make_session_factory(engine), max_events=4)
    commits = commits_of(engine)
    results = store_all(writer, [body(text_event(n)) for n in range(10)])
    assert results == [StoreResult(1, 0)] * 10
    assert len(commits) == 3  # 4 + 4 + 2
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(InboxEvent)) == 10


def test_a_database_that_is_down_fails_every_waiter(tmp_path: Any) -> None:
    # A database file in a folder that does not exist: every write fails, nobody hangs.
    engine = make_engine(f"sqlite:///{tmp_path}/missing/tsunagu.db")
    writer = InboxWriter(make_session_factory(engine))
    results = store_all(writer, [body(text_event(n)) for n in range(3)])
    assert all(isinstance(r, Exception) for r in results)
    engine.dispose()
