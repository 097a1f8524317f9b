"""The outbox on its own, against a real database: what `enqueue` writes, which rows a sender
may take, and what an attempt's outcome does to a row. (The whole path, through the SDK to the
emulator, is tests/bot/test_pipeline.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.db.engine import make_engine, make_session_factory, transaction
from bot.db.models import OutboxMessage, OutboxStatus, utcnow
from bot.edge import outbox
from bot.edge.line_client import Outcome, SendResult
from bot.line import MAX_MESSAGES, text

LEASE = timedelta(seconds=60)


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


def queue(sessions: sessionmaker[Session], user: str, *bodies: str) -> list[int]:
    with transaction(sessions) as s:
        rows = outbox.enqueue(s, user_id=user, messages=[text(b) for b in bodies])
        return [r.id for r in rows]


def claim(sessions: sessionmaker[Session], at: timedelta = timedelta(0)) -> list[outbox.Claimed]:
    with transaction(sessions) as s:
        return outbox.claim_due(session=s, now=utcnow() + at, lease=LEASE)


def row(sessions: sessionmaker[Session], row_id: int) -> OutboxMessage:
    with sessions() as s:
        found = s.get(OutboxMessage, row_id)
        assert found is not None
        s.expunge(found)
        return found


def test_a_long_answer_is_split_into_requests_of_five_each_with_its_own_retry_key(
        sessions: sessionmaker[Session]) -> None:
    ids = queue(sessions, "U1", *(f"{n}" for n in range(MAX_MESSAGES * 2 + 1)))
    rows = [row(sessions, i) for i in ids]
    assert [len(r.messages) for r in rows] == [MAX_MESSAGES, MAX_MESSAGES, 1]
    assert len({r.retry_key for r in rows}) == 3  # a retry of one never stands for another
    assert all(r.status == OutboxStatus.PENDING and r.reply_token is None for r in rows)


def test_a_sender_takes_each_residents_first_unfinished_row_only(
        sessions: sessionmaker[Session]) -> None:
    first, second = queue(sessions, "U1", "a"), queue(sessions, "U1", "b")
    other = queue(sessions, "U2", "c")
    taken = claim(sessions)
    assert sorted(c.id for c in taken) == sorted(first + other)  # U1's second waits its turn
    assert all(c.attempts == 1 for c in taken)
    # Leased: no other sender takes them, nor U1's next, until the lease ends.
    assert claim(sessions) == []
    again = claim(sessions, at=LEASE + timedelta(seconds=1))  # a sender died holding them
    assert sorted(c.id for c in again) == sorted(first + other)
    assert all(c.attempts == 2 for c in again)
    assert second[0] not in {c.id for c in again}


def test_rows_not_yet_due_wait(sessions: sessionmaker[Session]) -> None:
    [later] = queue(sessions, "U1", "a")
    with transaction(sessions) as s:
        found = s.get(OutboxMessage, later)
        assert found is not None
        found.next_attempt_at = utcnow() + timedelta(minutes=5)
    assert claim(sessions) == []
    assert [c.id for c in claim(sessions, at=timedelta(minutes=6))] == [later]


@pytest.mark.parametrize(("outcome", "status"), [
    (Outcome.SENT, OutboxStatus.SENT),
    (Outcome.ALREADY_ACCEPTED, OutboxStatus.SENT),  # 409: LINE took an earlier attempt
    (Outcome.RETRYABLE, OutboxStatus.PENDING),
    (Outcome.REJECTED, OutboxStatus.FAILED),  # retrying the same request cannot help
])
def test_an_attempts_outcome_decides_the_row(sessions: sessionmaker[Session], outcome: Outcome,
                                            status: OutboxStatus) -> None:
    [row_id] = queue(sessions, "U1", "a")
    [claimed] = claim(sessions)
    now = utcnow()
    with transaction(sessions) as s:
        assert outbox.record(session=s, claimed=claimed, result=SendResult(outcome, 500),
                             via="push", now=now, max_attempts=12) == status
    recorded = row(sessions, row_id)
    assert recorded.status == status
    if status == OutboxStatus.SENT:
        assert recorded.sent_via == "push" and recorded.last_error is None
    if status == OutboxStatus.PENDING:  # backed off, not hammered
        assert recorded.next_attempt_at > now
        assert claim(sessions) == []


def test_a_row_is_given_up_after_its_last_attempt(sessions: sessionmaker[Session]) -> None:
    [row_id] = queue(sessions, "U1", "a")
    attempts = 3
    for n in range(1, attempts + 1):
        [claimed] = claim(sessions, at=timedelta(hours=n))  # past every backoff
        with transaction(sessions) as s:
            status = outbox.record(session=s, claimed=claimed, via="push", now=utcnow(),
                                   result=SendResult(Outcome.RETRYABLE, 503), max_attempts=attempts)
        assert status == (OutboxStatus.FAILED if n == attempts else OutboxStatus.PENDING)
    assert row(sessions, row_id).last_error == "push 503"
    assert claim(sessions, at=timedelta(days=1)) == []  # never taken again


def test_once_pushed_a_row_is_never_replied_again(sessions: sessionmaker[Session]) -> None:
    """The reply token was refused and the push that followed failed: the retry pushes, with
    the same retry key, so LINE can tell it is the same message."""
    [row_id] = queue(sessions, "U1", "a")
    with transaction(sessions) as s:
        found = s.get(OutboxMessage, row_id)
        assert found is not None
        found.reply_token, found.reply_deadline = "r" * 32, utcnow() + timedelta(seconds=50)
    [claimed] = claim(sessions)
    assert claimed.reply_token == "r" * 32
    with transaction(sessions) as s:
        assert outbox.record(session=s, claimed=claimed, via="push", now=utcnow(),
                             max_attempts=12, result=SendResult(Outcome.RETRYABLE, 503)) \
            == OutboxStatus.PENDING
    retried = row(sessions, row_id)
    assert retried.reply_token is None  # the next attempt pushes
    with sessions() as s:
        assert s.scalar(select(OutboxMessage.retry_key).where(
            OutboxMessage.id == row_id)) == claimed.retry_key


def test_backoff_grows_and_is_capped() -> None:
    delays = [outbox.backoff(n).total_seconds() for n in range(1, 16)]
    assert delays[0] <= 1 and delays[4] > delays[0] * 8
    assert max(delays) <= outbox.BACKOFF_CAP_SECONDS * 1.2
