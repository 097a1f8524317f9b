"""The on-call alert: an imminent case that nobody acknowledged in time is posted to an on-call
address, a generic signed HTTP webhook (a LINE WORKS, Teams or Slack incoming webhook can
receive it; so can any HTTPS endpoint).

The body says which case (its pseudonym), which desk, since when and how many people have
acknowledged; never the resident's words, their LINE id or their place. It is signed
(`X-Tsunagu-Signature: sha256=<HMAC-SHA256 of the body>`), carries a stable idempotency key
per alert and a delivery id per attempt. Network errors, 429 and 5xx are retried with
backoff; any other answer but 2xx gives up at once (the address is wrong).

Every process runs the job; an attempt is claimed with one conditional UPDATE (on the attempt
count), so two processes never send the same attempt, and a sender that dies mid-attempt leaves
its claim to expire and be taken again. Logs carry the alert id and statuses only.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from handoff.models import AuditEntry, Case, EmergencyAck, EmergencyAlert

log = logging.getLogger(__name__)

# Seconds to wait after each failed attempt (the last one repeats); 8 attempts span ~40 min.
BACKOFF_SECONDS = (30.0, 60.0, 120.0, 300.0, 600.0, 600.0, 600.0)
MAX_ATTEMPTS = 8
# A claimed attempt whose sender died is taken again after this (longer than any request).
LEASE = timedelta(seconds=60)
BATCH = 50
OPEN = ("none", "pending")  # escalation states that may still be sent


@dataclass(frozen=True)
class OnCall:
    """Where and how the on-call alert goes (from settings)."""

    url: str | None
    secret: bytes | None = None
    console_url: str | None = None  # the console's public address, for a link to the case
    timeout_seconds: float = 10.0
    backoff: tuple[float, ...] = BACKOFF_SECONDS
    max_attempts: int = MAX_ATTEMPTS


def signature(body: bytes, secret: bytes) -> str:
    """What a receiver compares (constant-time) with `X-Tsunagu-Signature`."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Attempt:
    alert_id: int
    attempt: int  # 1 for the first
    case_id: int
    pseudonym: str
    team_id: str
    raised_at: datetime
    acknowledgements: int


def _due(now: datetime) -> ColumnElement[bool]:
    return and_(EmergencyAlert.acknowledged_at.is_(None), EmergencyAlert.escalate_at <= now,
            EmergencyAlert.escalation.in_(OPEN),
            or_(EmergencyAlert.escalation_next_at.is_(None),
                EmergencyAlert.escalation_next_at <= now))


def claim_due(*, session: Session, now: datetime, lease: timedelta = LEASE,
              limit: int = BATCH) -> list[Attempt]:
    """Alerts due for an attempt, each claimed by moving its attempt count on (only one
    process's UPDATE matches the count it read) and leasing it until `now + lease`."""
    seen = session.execute(
        select(EmergencyAlert.id, EmergencyAlert.escalation_attempts)
        .where(_due(now)).order_by(EmergencyAlert.escalate_at).limit(limit)).all()
    claimed: list[tuple[int, int]] = []
    for alert_id, attempts in seen:
        won = session.scalar(
            update(EmergencyAlert)
            .where(EmergencyAlert.id == alert_id,
                   EmergencyAlert.escalation_attempts == attempts, _due(now))
            .values(escalation_attempts=attempts + 1, escalation="pending",
                    escalation_next_at=now + lease)
            .returning(EmergencyAlert.id))
        if won is not None:
            claimed.append((alert_id, attempts + 1))
    if not claimed:
        return []
    ids = [alert_id for alert_id, _ in claimed]
    facts = {row[0]: row[1:] for row in session.execute(
        select(EmergencyAlert.id, Case.id, Case.pseudonym, Case.team_id,
               EmergencyAlert.raised_at)
        .join(Case, Case.id == EmergencyAlert.case_id).where(EmergencyAlert.id.in_(ids)))}
    acks = dict(session.execute(
        select(EmergencyAck.alert_id, func.count(EmergencyAck.id))
        .where(EmergencyAck.alert_id.in_(ids)).group_by(EmergencyAck.alert_id)).all())
    return [Attempt(alert_id, attempt, *facts[alert_id], int(acks.get(alert_id, 0)))
            for alert_id, attempt in claimed]


def body_of(attempt: Attempt, *, team_names: Mapping[str, str], needed: int,
            console_url: str | None) -> bytes:
    """The JSON posted: ids, pseudonym, desk, times and counts, a line of text for chat
    hooks that show `text`. Nothing the resident wrote."""
    team = team_names.get(attempt.team_id, attempt.team_id)
    payload: dict[str, object] = {
        "type": "tsunagu.emergency",
        "alert_id": attempt.alert_id,
        "case_pseudonym": attempt.pseudonym,
        "team": attempt.team_id,
        "team_name": team,
        "raised_at": attempt.raised_at.isoformat(),
        "acknowledgements": attempt.acknowledgements,
        "needed": needed,
        "text": f"【緊急】{team}の{attempt.pseudonym}さん（差し迫った危険）の相談を、まだ"
                f"{needed}人が確認していません。相談員コンソールを開いてください。",
    }
    if console_url:
        payload["console_url"] = f"{console_url.rstrip('/')}/console/cases/{attempt.case_id}"
    return json.dumps(payload, ensure_ascii=False).encode()


def headers_of(attempt: Attempt, body: bytes, secret: bytes | None) -> dict[str, str]:
    headers = {"Content-Type": "application/json; charset=utf-8",
               "User-Agent": "tsunagu-oncall/1",
               "X-Tsunagu-Delivery": f"{attempt.alert_id}-{attempt.attempt}",
               "X-Tsunagu-Idempotency-Key": f"alert-{attempt.alert_id}"}
    if secret:
        headers["X-Tsunagu-Signature"] = signature(body, secret)
    return headers


SENT, RETRY, FAILED = "sent", "retry", "failed"


def verdict(status: int | None) -> str:
    """None: no answer (network error, timeout)."""
    if status is not None and 200 <= status < 300:
        return SENT
    if status is None or status == 429 or status >= 500:
        return RETRY
    return FAILED


def record(*, session: Session, attempt: Attempt, outcome: str, now: datetime,
           oncall: OnCall) -> str:
    """The attempt's result, on the row it claimed (unless another process took the row
    since, after the lease). Returns the alert's escalation state."""
    if outcome == RETRY and attempt.attempt >= oncall.max_attempts:
        outcome = FAILED
    values: dict[str, object]
    if outcome == SENT:
        state, values = "sent", {"escalated_at": now, "escalation_next_at": None}
    elif outcome == RETRY:
        wait = oncall.backoff[min(attempt.attempt, len(oncall.backoff)) - 1]
        state, values = "pending", {"escalation_next_at": now + timedelta(seconds=wait)}
    else:
        state, values = "failed", {"escalation_next_at": None}
    won = session.scalar(update(EmergencyAlert).where(
        EmergencyAlert.id == attempt.alert_id,
        EmergencyAlert.escalation_attempts == attempt.attempt)
        .values(escalation=state, **values).returning(EmergencyAlert.id))
    if won is not None and state != "pending":
        session.add(AuditEntry(actor="oncall", action="emergency_escalation",
                               case_id=attempt.case_id,
                               detail=f"alert {attempt.alert_id}: {state}, "
                                      f"attempt {attempt.attempt}"))
    return state


def mark_unconfigured(*, session: Session, now: datetime) -> list[int]:
    """No on-call address: due alerts are marked once (and logged once); they stay in the
    console until acknowledged."""
    rows = session.execute(update(EmergencyAlert).where(_due(now))
                           .values(escalation="unconfigured", escalation_next_at=None)
                           .returning(EmergencyAlert.id, EmergencyAlert.case_id)).all()
    for alert_id, case_id in rows:
        session.add(AuditEntry(actor="oncall", action="emergency_escalation", case_id=case_id,
                               detail=f"alert {alert_id}: unconfigured"))
    return [alert_id for alert_id, _ in rows]


async def _post(client: httpx.AsyncClient, url: str, attempt: Attempt, body: bytes,
                secret: bytes | None) -> int | None:
    try:
        answer = await client.post(url, content=body, headers=headers_of(attempt, body, secret))
    except httpx.HTTPError as e:
        log.warning("on-call alert %d: attempt %d failed (%s)", attempt.alert_id,
                    attempt.attempt, type(e).__name__)
        return None
    return answer.status_code


async def escalate_due(*, sessions: sessionmaker[Session], oncall: OnCall, now: datetime,
                       team_names: Mapping[str, str], needed: int) -> dict[int, str]:
    """One pass: every due alert gets its next attempt (concurrently). Returns each alert's
    escalation state after the pass."""
    if not oncall.url:
        def unconfigured() -> list[int]:
            with sessions() as session, session.begin():
                return mark_unconfigured(session=session, now=now)

        marked = await asyncio.to_thread(unconfigured)
        for alert_id in marked:
            log.warning("on-call alert %d: not acknowledged in time and no on-call address "
                        "is set (TSUNAGU_ONCALL_WEBHOOK_URL); it stays in the console",
                        alert_id)
        return dict.fromkeys(marked, "unconfigured")

    def claim() -> list[Attempt]:
        with sessions() as session, session.begin():
            return claim_due(session=session, now=now)

    attempts = await asyncio.to_thread(claim)
    if not attempts:
        return {}
    url = oncall.url
    async with httpx.AsyncClient(timeout=oncall.timeout_seconds,
                                 follow_redirects=False) as client:
        statuses = await asyncio.gather(*(
            _post(client, url, a, body_of(a, team_names=team_names, needed=needed,
                                          console_url=oncall.console_url), oncall.secret)
            for a in attempts))

    def store() -> dict[int, str]:
        with sessions() as session, session.begin():
            return {a.alert_id: record(session=session, attempt=a, outcome=verdict(status),
                                       now=now, oncall=oncall)
                    for a, status in zip(attempts, statuses, strict=True)}

    states = await asyncio.to_thread(store)
    for a, status in zip(attempts, statuses, strict=True):
        answered = "no answer" if status is None else f"answered {status}"
        log.log(logging.INFO if states[a.alert_id] == "sent" else logging.WARNING,
                "on-call alert %d: attempt %d %s; %s", a.alert_id, a.attempt, answered,
                states[a.alert_id])
    return states
