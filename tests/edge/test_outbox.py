"""bot/edge/outbox.py without a server: which rows a sender takes, and what an answer from
LINE does to a row. On the module's shared database: every test has residents of its own and
looks only at their rows (a claim may take other tests' leftovers too)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from line_emulator.events import new_user_id
from sqlalchemy.orm import Session, sessionmaker

from bot.db.engine import transaction
from bot.db.models import OutboxMessage, OutboxStatus, utcnow
from bot.edge import outbox
from bot.edge.line_client import Outcome, SendResult
from bot.edge.outbox import Claimed, claim_due, record

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 5


def add(sessions: sessionmaker[Session], user: str, count: int = 1, *, due: datetime,
        **fields: Any) -> list[int]:
    """`count` rows for this resident, all due at `due`; their ids, in order."""
    with transaction(sessions) as s:
        rows = [OutboxMessage(line_user_id=user, messages=[{"type": "text", "text": f"{n}"}],
                              next_attempt_at=due, **fields) for n in range(count)]
        s.add_all(rows)
        s.flush()
        return [row.id for row in rows]


def claim(sessions: sessionmaker[Session], now: datetime, *users: str) -> list[Claimed]:
    """One sender's pass at `now`, committed; what it took of these residents' rows."""
    with transaction(sessions) as s:
        return [c for c in claim_due(session=s, now=now, lease=LEASE) if c.user_id in users]


def row(sessions: sessionmaker[Session], row_id: int) -> OutboxMessage:
    with sessions() as s:
        found = s.get(OutboxMessage, row_id)
        assert found is not None
        return found


def answer(sessions: sessionmaker[Session], claimed: Claimed, result: SendResult, via: str,
           now: datetime) -> OutboxStatus:
    with transaction(sessions) as s:
        return record(session=s, claimed=claimed, result=result, via=via, now=now,
                      max_attempts=MAX_ATTEMPTS)


# ---------------------------------------------------------------------- claim_due


def test_a_resident_s_first_unfinished_row_only_is_taken(
        sessions: sessionmaker[Session]) -> None:
    now = utcnow()
    alice, bob = new_user_id(), new_user_id()
    first, second, _third = add(sessions, alice, 3, due=now)
    [bobs] = add(sessions, bob, due=now)

    taken = claim(sessions, now, alice, bob)
    assert sorted(c.id for c in taken) == [first, bobs]  # one row per resident
    assert claim(sessions, now, alice, bob) == []  # the first is leased: nothing behind it

    answer(sessions, next(c for c in taken if c.id == first), SendResult(Outcome.SENT),
           "reply", now)
    assert [c.id for c in claim(sessions, now, alice)] == [second]  # now the next one


def test_a_row_that_is_not_due_yet_is_left_and_holds_back_the_later_ones(
        sessions: sessionmaker[Session]) -> None:
    now = utcnow()
    user = new_user_id()
    later = add(sessions, user, due=now + timedelta(seconds=30))
    add(sessions, user, due=now)  # due already, but behind a row that waits

    assert claim(sessions, now, user) == []
    assert [c.id for c in claim(sessions, now + timedelta(seconds=30), user)] == later


def test_a_given_up_row_does_not_hold_back_the_next(sessions: sessionmaker[Session]) -> None:
    now = utcnow()
    user = new_user_id()
    add(sessions, user, due=now, status=OutboxStatus.FAILED)
    add(sessions, user, due=now, status=OutboxStatus.SENT)
    waiting = add(sessions, user, due=now)
    assert [c.id for c in claim(sessions, now, user)] == waiting


def test_a_claim_leases_the_row_and_counts_the_attempt(sessions: sessionmaker[Session]) -> None:
    now = utcnow()
    user = new_user_id()
    [row_id] = add(sessions, user, due=now, reply_token="tok",
                   reply_deadline=now + timedelta(seconds=20))
    [claimed] = claim(sessions, now, user)
    stored = row(sessions, row_id)
    assert (claimed.attempts, claimed.reply_token, claimed.retry_key) == \
        (1, "tok", stored.retry_key)
    assert claimed.messages == [{"type": "text", "text": "0"}]
    assert stored.status == OutboxStatus.SENDING and stored.attempts == 1
    assert stored.next_attempt_at == now + LEASE


def test_when_the_lease_ends_another_sender_takes_the_row(
        sessions: sessionmaker[Session]) -> None:
    now = utcnow()
    user = new_user_id()
    [row_id] = add(sessions, user, due=now)
    [first] = claim(sessions, now, user)  # this sender dies holding it
    assert claim(sessions, now + LEASE - timedelta(seconds=1), user) == []
    [second] = claim(sessions, now + LEASE, user)
    assert first.id == second.id == row_id
    assert second.attempts == 2 and second.retry_key == first.retry_key


def test_a_claim_stops_at_its_limit(sessions: sessionmaker[Session]) -> None:
    now = utcnow()
    users = [new_user_id() for _ in range(3)]
    for user in users:
        add(sessions, user, due=now)
    # Other tests' leftovers may come first: claim until these residents' rows are all taken,
    # one at a time, never more than one per pass.
    taken: list[int] = []
    for _ in range(200):
        with transaction(sessions) as s:
            got = claim_due(session=s, now=now, limit=1, lease=LEASE)
        assert len(got) <= 1
        taken += [c.id for c in got if c.user_id in users]
        if len(taken) == len(users) or not got:
            break
    assert len(taken) == len(users)


def test_concurrent_senders_on_postgresql_never_take_the_same_row(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as probe:
        if probe.get_bind().dialect.name != "postgresql":
            pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite has one writer at a time")
    now = utcnow()
    users = [new_user_id() for _ in range(4)]
    for user in users:
        add(sessions, user, due=now)
    with sessions() as one, sessions() as two:
        try:
            first = claim_due(session=one, now=now, lease=LEASE)
            # The first sender has not committed: its rows are locked, and skipped.
            second = claim_due(session=two, now=now, lease=LEASE)
        finally:
            two.rollback()
            one.rollback()
    assert {c.id for c in first}.isdisjoint(c.id for c in second)
    assert {c.user_id for c in first if c.user_id in users} == set(users)


# ---------------------------------------------------------------------- record


def claimed_row(sessions: sessionmaker[Session], now: datetime,
                **fields: Any) -> tuple[int, Claimed]:
    user = new_user_id()
    [row_id] = add(sessions, user, due=now, **fields)
    [claimed] = claim(sessions, now, user)
    return row_id, claimed


@pytest.mark.parametrize("via", ["reply", "push"])
def test_a_sent_row_is_done(sessions: sessionmaker[Session], via: str) -> None:
    now = utcnow()
    row_id, claimed = claimed_row(sessions, now, reply_token="tok",
                                  reply_deadline=now + timedelta(seconds=20),
                                  last_error="push 500 earlier")
    assert answer(sessions, claimed, SendResult(Outcome.SENT, 200), via, now) == \
        OutboxStatus.SENT
    stored = row(sessions, row_id)
    assert (stored.status, stored.sent_via, stored.sent_at, stored.last_error) == \
        (OutboxStatus.SENT, via, now, None)


def test_a_409_on_the_retry_key_counts_as_delivered(sessions: sessionmaker[Session]) -> None:
    now = utcnow()
    row_id, claimed = claimed_row(sessions, now)
    result = SendResult(Outcome.ALREADY_ACCEPTED, 409)
    assert answer(sessions, claimed, result, "push", now) == OutboxStatus.SENT
    stored = row(sessions, row_id)
    assert stored.status == OutboxStatus.SENT and stored.sent_via == "push"


@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_retryable_answer_waits_with_backoff(sessions: sessionmaker[Session],
                                               status: int) -> None:
    now = utcnow()
    row_id, claimed = claimed_row(sessions, now, reply_token="tok",
                                  reply_deadline=now + timedelta(seconds=20))
    result = SendResult(Outcome.RETRYABLE, status, "busy")
    assert answer(sessions, claimed, result, "reply", now) == OutboxStatus.PENDING
    stored = row(sessions, row_id)
    assert stored.status == OutboxStatus.PENDING and stored.attempts == 1
    assert stored.last_error == f"reply {status} busy"
    # First retry after half a second, ±20 % jitter; the reply token is kept for it.
    assert now + timedelta(seconds=0.4) <= stored.next_attempt_at <= \
        now + timedelta(seconds=0.6)
    assert stored.reply_token == "tok"
    # Not before it is due; then it is taken again, with the same retry key.
    assert claim(sessions, now + timedelta(seconds=0.39), claimed.user_id) == []
    [again] = claim(sessions, now + timedelta(seconds=0.6), claimed.user_id)
    assert again.attempts == 2 and again.retry_key == claimed.retry_key


def test_an_invalid_reply_token_that_reaches_record_is_not_tried_again(
        sessions: sessionmaker[Session]) -> None:
    # deliver() pushes at once after an invalid token (below), so record() only sees one if
    # no push followed: the row is given up, and never replied to with that token again.
    now = utcnow()
    row_id, claimed = claimed_row(sessions, now, reply_token="used",
                                  reply_deadline=now + timedelta(seconds=20))
    result = SendResult(Outcome.INVALID_REPLY_TOKEN, 400, "Invalid reply token")
    assert answer(sessions, claimed, result, "reply", now) == OutboxStatus.FAILED
    assert row(sessions, row_id).reply_token is None


def test_a_rejected_message_is_given_up_at_once(sessions: sessionmaker[Session]) -> None:
    now = utcnow()
    row_id, claimed = claimed_row(sessions, now)
    result = SendResult(Outcome.REJECTED, 400, "May not be empty")
    assert answer(sessions, claimed, result, "push", now) == OutboxStatus.FAILED
    stored = row(sessions, row_id)
    assert stored.status == OutboxStatus.FAILED
    assert stored.last_error == "push 400 May not be empty"
    assert stored.sent_at is None


def test_after_the_last_attempt_a_retryable_answer_gives_up(
        sessions: sessionmaker[Session]) -> None:
    now = utcnow()
    row_id, claimed = claimed_row(sessions, now, attempts=MAX_ATTEMPTS - 2)
    result = SendResult(Outcome.RETRYABLE, 503, "")
    assert claimed.attempts == MAX_ATTEMPTS - 1
    assert answer(sessions, claimed, result, "push", now) == OutboxStatus.PENDING
    [last] = claim(sessions, row(sessions, row_id).next_attempt_at, claimed.user_id)
    assert last.attempts == MAX_ATTEMPTS
    assert answer(sessions, last, result, "push", now) == OutboxStatus.FAILED
    stored = row(sessions, row_id)
    assert stored.status == OutboxStatus.FAILED and stored.last_error == "push 503"
    assert claim(sessions, now + timedelta(days=1), claimed.user_id) == []  # never again


def test_a_push_clears_the_reply_token(sessions: sessionmaker[Session]) -> None:
    now = utcnow()
    row_id, claimed = claimed_row(sessions, now, reply_token="tok",
                                  reply_deadline=now - timedelta(seconds=1))
    answer(sessions, claimed, SendResult(Outcome.RETRYABLE, 500, ""), "push", now)
    assert row(sessions, row_id).reply_token is None  # from now on this row is pushed


def test_a_row_deleted_meanwhile_is_reported_failed(sessions: sessionmaker[Session]) -> None:
    now = utcnow()
    row_id, claimed = claimed_row(sessions, now)
    with transaction(sessions) as s:
        s.delete(s.get(OutboxMessage, row_id))  # erased (retention) while it was being sent
    assert answer(sessions, claimed, SendResult(Outcome.SENT, 200), "push", now) == \
        OutboxStatus.FAILED


# ---------------------------------------------------------------------- backoff


def test_backoff_doubles_with_jitter_up_to_its_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outbox.random, "uniform", lambda low, high: 1.0)
    assert [outbox.backoff(n).total_seconds() for n in range(0, 6)] == \
        [0.5, 0.5, 1.0, 2.0, 4.0, 8.0]
    assert outbox.backoff(30).total_seconds() == outbox.BACKOFF_CAP_SECONDS
    monkeypatch.setattr(outbox.random, "uniform", lambda low, high: high)
    assert outbox.backoff(3).total_seconds() == pytest.approx(2.4)
    monkeypatch.setattr(outbox.random, "uniform", lambda low, high: low)
    assert outbox.backoff(3).total_seconds() == pytest.approx(1.6)


def test_backoff_jitter_stays_within_a_fifth() -> None:
    delays = [outbox.backoff(4).total_seconds() for _ in range(200)]
    assert all(3.2 <= d <= 4.8 for d in delays)
    assert len(set(delays)) > 1  # jittered: senders that failed together spread out


# ---------------------------------------------------------------------- deliver


class FakeLine:
    """LINE's answers, in order, and what the sender asked of it."""

    def __init__(self, *answers: SendResult) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[Any, ...]] = []

    async def reply(self, token: str, messages: list[dict[str, Any]],
                    silent: bool = False) -> SendResult:
        self.calls.append(("reply", token, messages))
        return self.answers.pop(0)

    async def push(self, user_id: str, messages: list[dict[str, Any]],
                   retry_key: str, silent: bool = False) -> SendResult:
        self.calls.append(("push", user_id, messages, retry_key))
        return self.answers.pop(0)


def a_claim(now: datetime, token: str | None, deadline: timedelta = timedelta(seconds=20)
            ) -> Claimed:
    return Claimed(id=1, user_id="U" + "a" * 32, messages=[{"type": "text", "text": "x"}],
                   reply_token=token, reply_deadline=now + deadline, retry_key="key-1",
                   attempts=1)


async def test_deliver_replies_while_the_token_is_fresh() -> None:
    now = utcnow()
    line = FakeLine(SendResult(Outcome.SENT, 200))
    assert await outbox.deliver(line, a_claim(now, "tok"), now) == \
        (SendResult(Outcome.SENT, 200), "reply")  # type: ignore[arg-type]
    assert line.calls == [("reply", "tok", [{"type": "text", "text": "x"}])]


@pytest.mark.parametrize(("token", "deadline"), [
    (None, timedelta(seconds=20)),  # a follow-up or a counsellor's message
    ("tok", timedelta(0)),  # too late for the token
])
async def test_deliver_pushes_without_a_usable_token(token: str | None,
                                                     deadline: timedelta) -> None:
    now = utcnow()
    line = FakeLine(SendResult(Outcome.SENT, 200))
    claimed = a_claim(now, token, deadline)
    assert await outbox.deliver(line, claimed, now) == \
        (SendResult(Outcome.SENT, 200), "push")  # type: ignore[arg-type]
    assert line.calls == [("push", claimed.user_id, claimed.messages, "key-1")]


async def test_an_invalid_reply_token_is_pushed_at_once_with_the_row_s_retry_key() -> None:
    now = utcnow()
    line = FakeLine(SendResult(Outcome.INVALID_REPLY_TOKEN, 400, "Invalid reply token"),
                    SendResult(Outcome.SENT, 200))
    claimed = a_claim(now, "used")
    result, via = await outbox.deliver(line, claimed, now)  # type: ignore[arg-type]
    assert (result.outcome, via) == (Outcome.SENT, "push")
    assert [c[0] for c in line.calls] == ["reply", "push"]
    assert line.calls[1] == ("push", claimed.user_id, claimed.messages, claimed.retry_key)


@pytest.mark.parametrize("outcome", [Outcome.RETRYABLE, Outcome.REJECTED])
async def test_a_failed_reply_is_not_pushed_in_the_same_attempt(outcome: Outcome) -> None:
    now = utcnow()
    line = FakeLine(SendResult(outcome, 500))
    result, via = await outbox.deliver(line, a_claim(now, "tok"), now)  # type: ignore[arg-type]
    assert (result.outcome, via) == (outcome, "reply") and len(line.calls) == 1
