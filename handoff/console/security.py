"""Console sessions: who is logged in, CSRF tokens on every form, the login gate.

The signed cookie (Starlette's SessionMiddleware) carries the CSRF token and the token of a
server-side session (handoff/sessions.py); a request is logged in only while that session's
row is live, so logout and revocation take effect on the next request, on every replica.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hmac
import os
import secrets
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, TypeVar

from fastapi import Depends, Form, HTTPException, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from handoff import sessions
from handoff.console.host import host
from handoff.logins import LoginLimits
from handoff.models import Counsellor, Role, at_least

SESSION_TOKEN = "session"
SESSION_CSRF = "csrf"
DEVICE_COOKIE = "tsunagu_device"
DEVICE_DAYS = 90
T = TypeVar("T")


def _lower_priority() -> None:
    """Run this thread (and the threads argon2 starts from it) at a lower CPU priority, so
    that while logins are hashed the event loop that answers LINE's webhook still gets the
    CPU first. Linux sets a nice value per thread; elsewhere this does nothing."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICE)


HASHING_NICE = 10


class HashingGate:
    """At most `slots` password checks at once in this process (argon2 takes 64 MiB and a core
    for tens of milliseconds each), in threads of their own at a lower CPU priority. A login
    waits up to `wait` seconds for a slot (waiting costs a coroutine, no thread) and is then
    turned away (`None`); beyond `queue` waiting logins it is turned away at once. So a flood
    of logins costs bounded memory and CPU, cannot starve the webhook of threads, and a client
    that floods is slowed to one answer per `wait` per connection."""

    def __init__(self, slots: int, *, wait: float = 3.0, queue: int = 4096) -> None:
        self.slots = max(1, slots)
        self.wait = wait
        self.queue = queue
        self.waiting = 0
        self._threads = concurrent.futures.ThreadPoolExecutor(
            max_workers=self.slots, thread_name_prefix="login-hash",
            initializer=_lower_priority)
        # One semaphore per event loop: in production a process has one; tests run several.
        self._semaphores: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if loop not in self._semaphores:
            self._semaphores[loop] = asyncio.Semaphore(self.slots)
        return self._semaphores[loop]

    async def run(self, work: Callable[[], T]) -> T | None:
        """`work()` in a hashing thread once a slot is free; None when turned away."""
        semaphore = self._semaphore()
        if semaphore.locked() and self.waiting >= self.queue:
            return None
        self.waiting += 1
        try:
            await asyncio.wait_for(semaphore.acquire(), self.wait)
        except TimeoutError:
            return None
        finally:
            self.waiting -= 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._threads, work)
        finally:
            semaphore.release()


@dataclass
class ConsoleAuth:
    """The console's login settings, on `app.state.console_auth`."""

    secret: str
    limits: LoginLimits = field(default_factory=LoginLimits)
    policy: sessions.SessionPolicy = field(default_factory=sessions.SessionPolicy)
    gate: HashingGate = field(default_factory=lambda: HashingGate(2))
    secure_cookies: bool = False

    @property
    def name_key(self) -> bytes:
        return hmac.new(self.secret.encode(), b"login-name", "sha256").digest()

    def _devices(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret, salt="tsunagu-console-device")

    def device_cookie(self, account_id: int) -> str:
        """A browser's proof that it logged in to this account before: such a browser is not
        held by the account's name back-off (someone else's wrong guesses)."""
        return self._devices().dumps({"a": account_id, "n": secrets.token_hex(8)})

    def trusted_account(self, cookie: str | None) -> int | None:
        if not cookie:
            return None
        try:
            value = self._devices().loads(cookie, max_age=DEVICE_DAYS * 86400)
        except BadSignature:
            return None
        account = value.get("a") if isinstance(value, dict) else None
        return account if isinstance(account, int) else None


def console_auth(request: Request) -> ConsoleAuth:
    auth: ConsoleAuth = request.app.state.console_auth
    return auth


class LoginRequired(Exception):
    """Raised by the dependency; the console answers with a redirect to the login page."""


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get(SESSION_CSRF)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_CSRF] = token
    return str(token)


async def check_csrf(request: Request, csrf: Annotated[str, Form()] = "") -> None:
    """Every state-changing form carries the session's token (a cookie alone is not enough)."""
    expected = request.session.get(SESSION_CSRF)
    if not expected or not hmac.compare_digest(str(expected), csrf):
        raise HTTPException(status_code=403, detail="CSRF token missing or wrong")


def db(request: Request) -> Session:
    runtime = host(request)
    return runtime.sessions()


def current_counsellor(request: Request) -> Counsellor:
    """The account of the request's live session; else the session is cleared and the
    visitor goes to the login page."""
    token = request.session.get(SESSION_TOKEN)
    if not token:
        raise LoginRequired
    runtime = host(request)
    with runtime.sessions() as session:
        account = sessions.resolve(session=session, token=str(token),
                                   policy=console_auth(request).policy)
        if account is not None:
            session.expunge(account)
        if session.dirty:
            session.commit()  # last seen moved on (once a minute), or marked expired
    if account is None:
        request.session.clear()
        raise LoginRequired
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


