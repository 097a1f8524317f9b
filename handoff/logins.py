"""Console login attempts and the login limit, counted in the database (every replica shares it).

Two limits, checked before any password is hashed:
- by address: after `address_failures` failed logins from one address (an IPv6 address counts
  as its /64) within `address_window`, that address is refused until older failures leave the
  window. This is what stops guessing and password spraying (one password tried on many names).
- by name: after `name_failures` consecutive failures of one name, that name waits a short
  back-off, doubled by each further failure and capped at `name_backoff_cap`. Attempts refused
  by a limit are not counted, so nobody can stretch a lockout beyond the cap, and the right
  person can wait it out; a browser that has logged in to the account before (it holds the
  account's signed device cookie) is not held by the name's back-off at all, and a supervisor or
  administrator can lift it (`tsunagu user unlock`).

Failed and successful logins, name back-offs and address blocks are audited. The name typed is
stored only as a keyed hash (a password typed into the name field is never kept); an unknown
name appears in the audit log as the first characters of that hash.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from bot.db.models import utcnow
from handoff import accounts, audit
from handoff.models import Counsellor, LoginAttempt

FAILED, SUCCEEDED, UNLOCKED = "failed", "succeeded", "unlocked"
KEEP_ATTEMPTS = timedelta(days=1)  # attempt rows older than this are deleted on a login


@dataclass(frozen=True)
class LoginLimits:
    address_failures: int = 20
    address_window: timedelta = timedelta(minutes=10)
    name_failures: int = 5
    name_backoff: timedelta = timedelta(seconds=30)
    name_backoff_cap: timedelta = timedelta(minutes=5)
    name_window: timedelta = timedelta(hours=1)  # older failures of a name are forgotten


class Outcome(StrEnum):
    OK = "ok"
    WRONG = "wrong"  # unknown name, wrong password or a disabled account: one answer
    ADDRESS_LIMITED = "address_limited"
    NAME_LIMITED = "name_limited"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    account_id: int | None = None  # set when OK
    token: str | None = None  # the new console session's, when OK


def address_of(host: str) -> str:
    """The address a limit counts by: an IPv4 address, or an IPv6 address's /64 (one home or
    one server usually has a whole /64 to pick addresses from)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host[:64] or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)


def name_key(key: bytes, username: str) -> str:
    """A keyed hash of the name typed: stable across processes sharing the key (the session
    secret), useless to whoever reads the table without it."""
    return hmac.new(key, username.strip().casefold().encode(), hashlib.sha256).hexdigest()


def _failures_since(session: Session, where: list[ColumnElement[bool]],
                    since: datetime) -> tuple[int, datetime | None]:
    count, last = session.execute(
        select(func.count(), func.max(LoginAttempt.at))
        .where(*where, LoginAttempt.outcome == FAILED, LoginAttempt.at > since)).one()
    return int(count or 0), last


def _name_filter(key: str, account_id: int | None) -> list[ColumnElement[bool]]:
    if account_id is not None:
        return [LoginAttempt.counsellor_id == account_id]
    return [LoginAttempt.counsellor_id.is_(None), LoginAttempt.name_key == key]


def address_blocked(session: Session, *, address: str, limits: LoginLimits,
                    now: datetime) -> bool:
    count, _ = _failures_since(session, [LoginAttempt.address == address],
                               now - limits.address_window)
    return count >= limits.address_failures


def name_backoff_until(session: Session, *, key: str, account_id: int | None,
                       limits: LoginLimits, now: datetime) -> datetime | None:
    """When the name may be tried again, if it is backing off now."""
    where = _name_filter(key, account_id)
    cleared = session.scalar(select(func.max(LoginAttempt.at)).where(
        *where, LoginAttempt.outcome.in_([SUCCEEDED, UNLOCKED])))
    since = max(now - limits.name_window, cleared) if cleared else now - limits.name_window
    count, last = _failures_since(session, where, since)
    if count < limits.name_failures or last is None:
        return None
    wait = min(limits.name_backoff * 2 ** (count - limits.name_failures),
               limits.name_backoff_cap)
    return last + wait if now < last + wait else None


def _who(address: str) -> str:
    return f"login {address}"[:64]


def attempt(*, session: Session, username: str, password: str, address: str, key: bytes,
            limits: LoginLimits, trusted_account_id: int | None = None,
            now: datetime | None = None) -> Result:
    """One login attempt, limits first; on success a console session is started (its token in
    the result). `trusted_account_id` is the account of a valid device cookie the browser sent.
    The caller commits (refusals write nothing but audit rows when a limit starts)."""
    moment = now or utcnow()
    if address_blocked(session, address=address, limits=limits, now=moment):
        return Result(Outcome.ADDRESS_LIMITED)
    account = session.scalars(select(Counsellor).where(Counsellor.username == username)).first()
    account_id = account.id if account else None
    typed = name_key(key, username)
    if account_id is None or trusted_account_id != account_id:
        until = name_backoff_until(session, key=typed, account_id=account_id, limits=limits,
                                   now=moment)
        if until is not None:
            return Result(Outcome.NAME_LIMITED)

    verified = accounts.authenticate(session=session, username=username, password=password)
    if verified is not None:
        from handoff import sessions

        session.add(LoginAttempt(address=address, name_key=typed, counsellor_id=verified.id,
                                 outcome=SUCCEEDED, at=moment))
        token = sessions.start(session=session, counsellor_id=verified.id, address=address,
                               now=moment)
        audit.record_account_event(session=session, actor=verified, action="login",
                                   account_id=verified.id, detail=f"address {address}")
        session.execute(delete(LoginAttempt).where(LoginAttempt.at < moment - KEEP_ATTEMPTS))
        return Result(Outcome.OK, account_id=verified.id, token=token)

    session.add(LoginAttempt(address=address, name_key=typed, counsellor_id=account_id,
                             outcome=FAILED, at=moment))
    session.flush()
    named = f"name {username}" if account else f"unknown name #{typed[:8]}"
    audit.record_account_event(session=session, actor=_who(address), action="login_failed",
                               account_id=account_id, detail=named)
    until = name_backoff_until(session, key=typed, account_id=account_id, limits=limits,
                               now=moment)
    if until is not None:
        audit.record_account_event(
            session=session, actor="system", action="login_backoff", account_id=account_id,
            detail=f"{named}: until {until:%H:%M:%S} UTC")
    failures, _ = _failures_since(session, [LoginAttempt.address == address],
                                  moment - limits.address_window)
    if failures == limits.address_failures:
        audit.record_account_event(
            session=session, actor="system", action="login_address_blocked", account_id=None,
            detail=f"address {address}: {failures} failures in "
                   f"{int(limits.address_window.total_seconds() // 60)} min")
    return Result(Outcome.WRONG)


def unlock(*, session: Session, account: Counsellor, actor: Counsellor | str) -> bool:
    """Lifts the account's name back-off (its failures before now no longer count); audited.
    Returns whether it was backing off."""
    moment = utcnow()
    was = name_backoff_until(session, key="", account_id=account.id, limits=LoginLimits(),
                             now=moment) is not None
    session.add(LoginAttempt(address="-", name_key="-", counsellor_id=account.id,
                             outcome=UNLOCKED, at=moment))
    audit.record_account_event(session=session, actor=actor, action="unlock",
                               account_id=account.id, detail=f"name {account.username}")
    session.flush()
    return was
