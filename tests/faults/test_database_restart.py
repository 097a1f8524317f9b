"""The database dropping every connection while residents keep writing (what a PostgreSQL
restart does to a running app): no accepted event is lost, none is handled twice, and every
resident is answered in order once it is back."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx
import pytest
from line_emulator import events as line_events
from sqlalchemy import create_engine, func, select, text

from bot.db.models import InboxEvent, InboxStatus, OutboxMessage, OutboxStatus
from tests.conftest import POSTGRES_URL
from tests.live import SECRET, LiveApp, wait_for

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(not POSTGRES_URL, reason="TSUNAGU_TEST_POSTGRES_URL is not set")]

RESIDENTS = 8
WORDS = ["はじめる", "家賃が払えなくて困っています", "自分のこと", "お金のこと", "これで全部"]


def drop_every_connection(database_url: str) -> int:
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        killed = conn.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar_one()
    admin.dispose()
    return int(killed)


def test_connections_dropped_during_load_lose_nothing(
        fresh_database_url: str, live_factory: Callable[..., LiveApp]) -> None:
    # A server of its own on an empty database: the test counts every row and drops every
    # connection to it.
    if fresh_database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL only: SQLite has no server to restart")
    # Pushes with retry keys and a short lease: a send whose record was cut off is sent again
    # and LINE (the emulator) recognises it. (A reply cannot be recognised: see ARCHITECTURE.)
    live = live_factory(fresh_database_url, line_request_timeout_seconds=2,
                        reply_token_ttl_seconds=0, outbox_lease_seconds=2)
    users = [line_events.new_user_id() for _ in range(RESIDENTS)]
    for user in users:
        live.emulator.register_user(user)
    refused: list[int] = []

    def resident(user: str) -> None:
        events = [line_events.follow_event(user, reply_token=live.emulator.issue_reply_token(user))]
        events += [line_events.text_event(user, w, reply_token=live.emulator.issue_reply_token(
            user)) for w in WORDS]
        with httpx.Client(base_url=live.url, timeout=10) as http:
            for event in events:
                body, headers = line_events.signed_webhook([event], secret=SECRET)
                # As LINE does: an answer other than 200 means the same event comes again.
                for _ in range(50):
                    try:
                        status = http.post("/line/webhook", content=body,
                                           headers=headers).status_code
                    except httpx.HTTPError:
                        status = 0
                    if status == 200:
                        break
                    refused.append(status)
                    time.sleep(0.1)
                else:
                    raise AssertionError("the webhook never recovered")
                time.sleep(0.05)

    threads = [threading.Thread(target=resident, args=(u,)) for u in users]
    for t in threads:
        t.start()
    killed = 0
    for _ in range(3):  # three "restarts" while they type
        time.sleep(0.4)
        killed += drop_every_connection(live.settings.database_url)
    for t in threads:
        t.join(timeout=120)
    assert killed > 0, "no connection was there to drop"

    accepted = RESIDENTS * (1 + len(WORDS))

    def settled() -> bool:
        with live.session() as s:
            done = s.scalar(select(func.count()).select_from(InboxEvent).where(
                InboxEvent.status == InboxStatus.DONE))
            busy = s.scalar(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING])))
        return done == accepted and busy == 0

    wait_for(settled, timeout=120)
    with live.session() as s:
        assert s.scalar(select(func.count()).select_from(InboxEvent)) == accepted  # once each
        states = {row for row in s.scalars(select(OutboxMessage.status))}
        assert states == {OutboxStatus.SENT}
        produced = {
            user: [m for row in s.scalars(select(OutboxMessage).where(
                OutboxMessage.line_user_id == user).order_by(OutboxMessage.id))
                for m in row.messages]
            for user in users}
    for user in users:
        assert live.emulator.bot_messages(user) == produced[user]  # all, once, in order
    assert len({tuple(map(str, p)) for p in produced.values()}) == 1  # same words, same answers
