"""The on-call alert: an imminent case nobody acknowledged in time is posted, signed, to a real
HTTP server; retried on 5xx, 429 and network errors, given up on anything else; never two
processes sending the same attempt; nothing the resident wrote in it."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.content.schema import EmergencyRules
from bot.db.engine import make_engine, make_session_factory
from bot.db.models import Conversation, utcnow
from handoff import emergency, oncall
from handoff.cases import add_resident_message
from handoff.models import AuditEntry, Case, Counsellor, EmergencyAlert, Role
from tests.handoff.test_emergency import IMMINENT, imminent_case
from tests.live import LiveApp, Resident, free_port, wait_for

SECRET = b"on-call test secret"
TEAMS = {"pref": "県社協"}


class Receiver:
    """A webhook endpoint on a real port: answers each POST with the next status of its
    script (the last one repeats) and keeps what it received."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()},
                                          body))
                status = receiver.statuses[min(len(receiver.received),
                                               len(receiver.statuses)) - 1]
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/oncall"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sessions(fresh_database_url: str) -> Iterator[sessionmaker[Session]]:
    """A database of the test's own: a pass looks at every due alert."""
    engine = make_engine(fresh_database_url)
    yield make_session_factory(engine)
    engine.dispose()


def raised(sessions: sessionmaker[Session], now: datetime, words: str = IMMINENT) -> int:
    """An imminent case (with the resident's words on it) and its alert; returns the alert."""
    with sessions() as s, s.begin():
        case = imminent_case(s)
        add_resident_message(session=s, case=case, text=words)  # what must never leave
        return emergency.raise_alert(session=s, case=case, rules=EmergencyRules(), now=now).id


def run(sessions: sessionmaker[Session], config: oncall.OnCall, now: datetime) -> dict[int, str]:
    return asyncio.run(oncall.escalate_due(sessions=sessions, oncall=config, now=now,
                                           team_names=TEAMS, needed=2))


def alert(sessions: sessionmaker[Session], alert_id: int) -> EmergencyAlert:
    with sessions() as s:
        found = s.get(EmergencyAlert, alert_id)
        assert found is not None
        return found


def test_a_failing_on_call_address_is_retried_until_it_answers(
        sessions: sessionmaker[Session]) -> None:
    t0 = utcnow()
    alert_id = raised(sessions, t0)
    with sessions() as s:
        user = s.scalar(select(Conversation.line_user_id).join(
            Case, Case.conversation_id == Conversation.id).join(
            EmergencyAlert, EmergencyAlert.case_id == Case.id).where(
            EmergencyAlert.id == alert_id))
        pseudonym = s.scalar(select(Case.pseudonym).join(
            EmergencyAlert, EmergencyAlert.case_id == Case.id).where(
            EmergencyAlert.id == alert_id))
    with Receiver([500, 200]) as hook:
        config = oncall.OnCall(url=hook.url, secret=SECRET,
                               console_url="https://tsunagu.example.jp/")
        assert run(sessions, config, t0 + timedelta(minutes=4)) == {}  # not due yet
        due = t0 + timedelta(minutes=5)
        assert run(sessions, config, due) == {alert_id: "pending"}
        first = alert(sessions, alert_id)
        assert (first.escalation_attempts, first.escalation_next_at) == (
            1, due + timedelta(seconds=30))
        assert run(sessions, config, due + timedelta(seconds=29)) == {}  # backing off
        assert run(sessions, config, due + timedelta(seconds=30)) == {alert_id: "sent"}
        assert run(sessions, config, due + timedelta(minutes=10)) == {}  # sent: done

    assert len(hook.received) == 2
    for attempt, (headers, body) in enumerate(hook.received, start=1):
        expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["x-tsunagu-signature"], expected)
        assert headers["x-tsunagu-delivery"] == f"{alert_id}-{attempt}"
        assert headers["x-tsunagu-idempotency-key"] == f"alert-{alert_id}"
        text = body.decode()
        assert IMMINENT not in text and "飛び降り" not in text and str(user) not in text
        payload = json.loads(body)
        assert payload["type"] == "tsunagu.emergency"
        assert (payload["alert_id"], payload["case_pseudonym"], payload["team"],
                payload["team_name"], payload["acknowledgements"], payload["needed"]) == (
            alert_id, pseudonym, "pref", "県社協", 0, 2)
        assert payload["raised_at"] == t0.isoformat()
        assert payload["console_url"].startswith("https://tsunagu.example.jp/console/cases/")
        assert pseudonym in payload["text"]
    sent = alert(sessions, alert_id)
    assert (sent.escalation, sent.escalation_attempts, sent.escalation_next_at) == (
        "sent", 2, None)
    assert sent.escalated_at == due + timedelta(seconds=30)
    with sessions() as s:
        assert s.scalars(select(AuditEntry.detail).where(
            AuditEntry.action == "emergency_escalation")).all() == [
            f"alert {alert_id}: sent, attempt 2"]


def test_429_and_no_answer_are_retried_and_the_sender_gives_up_in_the_end(
        sessions: sessionmaker[Session]) -> None:
    t0 = utcnow()
    alert_id = raised(sessions, t0)
    now = t0 + timedelta(minutes=6)
    with Receiver([429, 503]) as hook:
        config = oncall.OnCall(url=hook.url, secret=SECRET, max_attempts=4,
                               backoff=(10.0, 20.0))
        assert run(sessions, config, now) == {alert_id: "pending"}
        now = alert(sessions, alert_id).escalation_next_at or now
        assert run(sessions, config, now) == {alert_id: "pending"}
        now = alert(sessions, alert_id).escalation_next_at or now
    # The address stops answering at all: a network error is retried like a 5xx.
    gone = oncall.OnCall(url=f"http://127.0.0.1:{free_port()}/", secret=SECRET,
                         max_attempts=4, backoff=(10.0, 20.0), timeout_seconds=2)
    assert run(sessions, gone, now) == {alert_id: "pending"}
    assert alert(sessions, alert_id).escalation_next_at == now + timedelta(seconds=20)
    now += timedelta(seconds=20)
    assert run(sessions, gone, now) == {alert_id: "failed"}  # the fourth attempt: given up
    assert run(sessions, gone, now + timedelta(hours=1)) == {}
    assert len(hook.received) == 2
    given_up = alert(sessions, alert_id)
    assert (given_up.escalation, given_up.escalation_attempts) == ("failed", 4)
    # Still in the console: only acknowledgements end an alert.
    assert given_up.acknowledged_at is None


def test_a_wrong_address_is_not_retried(sessions: sessionmaker[Session]) -> None:
    t0 = utcnow()
    alert_id = raised(sessions, t0)
    with Receiver([404]) as hook:
        config = oncall.OnCall(url=hook.url, secret=SECRET)
        assert run(sessions, config, t0 + timedelta(minutes=5)) == {alert_id: "failed"}
        assert run(sessions, config, t0 + timedelta(hours=1)) == {}
    assert len(hook.received) == 1


def test_an_acknowledged_alert_is_not_sent(sessions: sessionmaker[Session]) -> None:
    t0 = utcnow()
    alert_id = raised(sessions, t0)
    with sessions() as s, s.begin():
        for name in ("sato", "suzuki"):
            account = Counsellor(username=name, display_name=name, role=Role.COUNSELLOR,
                                 team_id="pref", password_hash="-")
            s.add(account)
            s.flush()
            emergency.acknowledge(session=s, alert_id=alert_id, counsellor=account,
                                  now=t0 + timedelta(minutes=1))
    with Receiver([200]) as hook:
        assert run(sessions, oncall.OnCall(url=hook.url), t0 + timedelta(hours=1)) == {}
    assert hook.received == []
    assert alert(sessions, alert_id).escalation == "none"


def test_two_processes_never_send_the_same_attempt(sessions: sessionmaker[Session]) -> None:
    t0 = utcnow()
    alert_id = raised(sessions, t0)
    due = t0 + timedelta(minutes=5)
    with sessions() as a, a.begin():
        claimed = oncall.claim_due(session=a, now=due)
    with sessions() as b, b.begin():  # the other process, a moment later: leased
        assert oncall.claim_due(session=b, now=due + timedelta(seconds=1)) == []
    assert [(c.alert_id, c.attempt) for c in claimed] == [(alert_id, 1)]
    # The first sender died: once the lease is over, another takes the next attempt ...
    with sessions() as b, b.begin():
        [retaken] = oncall.claim_due(session=b, now=due + oncall.LEASE)
    assert retaken.attempt == 2
    # ... and a late answer to the first attempt does not overwrite it.
    config = oncall.OnCall(url="http://unused.invalid/")
    with sessions() as a, a.begin():
        oncall.record(session=a, attempt=claimed[0], outcome=oncall.SENT, now=due,
                      oncall=config)
    assert alert(sessions, alert_id).escalation == "pending"


def test_without_an_address_the_alert_is_logged_once_and_stays(
        sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture) -> None:
    t0 = utcnow()
    alert_id = raised(sessions, t0)
    nowhere = oncall.OnCall(url=None)
    with caplog.at_level(logging.WARNING, logger="handoff.oncall"):
        assert run(sessions, nowhere, t0 + timedelta(minutes=5)) == {alert_id: "unconfigured"}
        assert run(sessions, nowhere, t0 + timedelta(minutes=6)) == {}
    logged = [r.getMessage() for r in caplog.records if r.name == "handoff.oncall"]
    assert len(logged) == 1 and f"alert {alert_id}" in logged[0]
    assert IMMINENT not in logged[0]
    assert alert(sessions, alert_id).acknowledged_at is None


@pytest.mark.sqlite_only
def test_the_running_service_escalates_on_its_own(
        fresh_database_url: str, live_factory: Callable[..., LiveApp],
        caplog: pytest.LogCaptureFixture) -> None:
    """The scheduled job of a running server: no test drives the pass."""
    caplog.set_level(logging.WARNING, logger="handoff.oncall")
    with Receiver([502, 200]) as hook:
        live = live_factory(
            fresh_database_url, emergency_check_seconds=0.2, oncall_webhook_url=hook.url,
            oncall_webhook_secret=SECRET.decode())
        r = Resident(live)
        r.say(IMMINENT)
        with live.session() as s, s.begin():
            [found] = s.scalars(select(EmergencyAlert)).all()
            found.escalate_at = utcnow() - timedelta(seconds=1)  # as if 5 minutes went by
        wait_for(lambda: len(hook.received) == 1, timeout=10)
        # The hook has the request before the job has written its answer (and the backoff
        # that comes with it): move the backoff only once it is written.
        wait_for(lambda: "attempt 1 answered 502; pending" in caplog.text, timeout=10)
        with live.session() as s, s.begin():  # skip the 30 s backoff
            found = s.get(EmergencyAlert, found.id)
            assert found is not None and found.escalation == "pending"
            found.escalation_next_at = utcnow() - timedelta(seconds=1)
        wait_for(lambda: len(hook.received) == 2, timeout=10)
        wait_for(lambda: alert(live.runtime.sessions, found.id).escalation == "sent")
    for headers, body in hook.received:
        assert IMMINENT not in body.decode() and r.user_id not in body.decode()
        assert headers["x-tsunagu-signature"] == oncall.signature(body, SECRET)
