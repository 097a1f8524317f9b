"""Console sessions: who is logged in, CSRF tokens on every form, a login rate limit."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import defaultdict, deque
from typing import Annotated

from fastapi import Depends, Form, HTTPException, Request
from sqlalchemy.orm import Session

from bot.runtime import Runtime
from handoff.models import Counsellor, Role, at_least

SESSION_USER = "counsellor_id"
SESSION_CSRF = "csrf"


class LoginRequired(Exception):
    """Raised by the dependency; the console answers with a redirect to the login page."""


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get(SESSION_CSRF)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_CSRF] = token
    return str(token)


def check_csrf(request: Request, csrf: Annotated[str, Form()] = "") -> None:
    """Every state-changing form carries the session's token (a cookie alone is not enough)."""
    expected = request.session.get(SESSION_CSRF)
    if not expected or not hmac.compare_digest(str(expected), csrf):
        raise HTTPException(status_code=403, detail="CSRF token missing or wrong")


def db(request: Request) -> Session:
    runtime: Runtime = request.app.state.runtime
    return runtime.sessions()


def current_counsellor(request: Request) -> Counsellor:
    counsellor_id = request.session.get(SESSION_USER)
    if counsellor_id is None:
        raise LoginRequired
    runtime: Runtime = request.app.state.runtime
    with runtime.sessions() as session:
        account = session.get(Counsellor, int(counsellor_id))
        if account is None or not account.active:
            request.session.clear()
            raise LoginRequired
        session.expunge(account)
    return account


def supervisor(counsellor: Annotated[Counsellor, Depends(current_counsellor)]) -> Counsellor:
    if not at_least(counsellor.role, Role.SUPERVISOR):
        raise HTTPException(status_code=403, detail="supervisors only")
    return counsellor


def administrator(counsellor: Annotated[Counsellor, Depends(current_counsellor)]) -> Counsellor:
    if counsellor.role != Role.ADMIN:
        raise HTTPException(status_code=403, detail="administrators only")
    return counsellor


CurrentCounsellor = Annotated[Counsellor, Depends(current_counsellor)]
Supervisor = Annotated[Counsellor, Depends(supervisor)]
Admin = Annotated[Counsellor, Depends(administrator)]
CsrfChecked = Depends(check_csrf)


class LoginLimiter:
    """At most `attempts` failed logins per name and address in `window` seconds. In memory:
    per process, which is what stops guessing; several processes each count their own."""

    def __init__(self, attempts: int = 5, window: float = 600.0) -> None:
        self.attempts = attempts
        self.window = window
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures[key]
        while failures and now - failures[0] > self.window:
            failures.popleft()
        return failures

    def blocked(self, key: str) -> bool:
        with self._lock:
            return len(self._recent(key, time.monotonic())) >= self.attempts

    def failed(self, key: str) -> None:
        with self._lock:
            self._recent(key, time.monotonic()).append(time.monotonic())

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
