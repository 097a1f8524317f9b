"""Console sessions and the login limit, as an attacker and a counsellor meet them.

The limit lives in the database, so it holds across processes: most tests here run two app
instances on one database, and clients come from chosen addresses (Starlette's TestClient sets
the client address of each request). No test waits for a back-off to pass: the attempt rows are
moved back in time instead.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from starlette.testclient import TestClient

from bot.platform.app import create_app
from bot.settings import Settings
from handoff import accounts, logins
from handoff.accounts import add_counsellor
from handoff.console.security import HashingGate
from handoff.models import AuditEntry, ConsoleSession, Counsellor, LoginAttempt, Role
from tests.live import PASSWORD, SECRET, TOKEN, free_port
from tests.test_cli import clean_env, running

ATTACKER, OFFICE, HOME = "203.0.113.9", "198.51.100.20", "192.0.2.44"


def make_app(database_url: str, **overrides: object) -> FastAPI:
    settings = Settings(**{
        "database_url": database_url, "emulator": True, "line_channel_secret": SECRET,
        "line_channel_access_token": TOKEN, "session_secret": "login-limit-test-secret",
        **overrides})
    return create_app(settings, background=False)


@pytest.fixture
def apps(fresh_database_url: str) -> Iterator[tuple[FastAPI, FastAPI]]:
    """Two instances of the product on one database, as two replicas behind a balancer."""
    first, second = make_app(fresh_database_url), make_app(fresh_database_url)
    with first.state.runtime.sessions() as s, s.begin():
        add_counsellor(session=s, username="sato", display_name="佐藤", password=PASSWORD,
                       team_id="pref")
        add_counsellor(session=s, username="boss", display_name="主任", password=PASSWORD,
                       role=Role.SUPERVISOR, team_id="pref")
    yield first, second
    for app in (first, second):
        app.state.runtime.engine.dispose()


def browser(app: FastAPI, address: str) -> TestClient:
    return TestClient(app, client=(address, 40000), follow_redirects=False)


def csrf(client: TestClient, path: str = "/console/login") -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found, path
    return found.group(1)


def try_login(client: TestClient, username: str, password: str) -> tuple[int, str]:
    answer = client.post("/console/login", data={"username": username, "password": password,
                                                 "csrf": csrf(client)})
    return answer.status_code, answer.text


def logged_in(app: FastAPI, username: str, address: str = OFFICE) -> TestClient:
    client = browser(app, address)
    status, text = try_login(client, username, PASSWORD)
    assert status == 303, text
    assert client.get("/console/").status_code == 200
    return client


def count(app: FastAPI, *where: object) -> int:
    with app.state.runtime.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(LoginAttempt).where(*where)) or 0)


def age_attempts(app: FastAPI, by: timedelta) -> None:
    """As if every login attempt so far had happened `by` earlier."""
    with app.state.runtime.sessions() as s, s.begin():
        for attempt in s.scalars(select(LoginAttempt)):
            attempt.at -= by


def audit_rows(app: FastAPI) -> list[AuditEntry]:
    with app.state.runtime.sessions() as s:
        return list(s.scalars(select(AuditEntry).order_by(AuditEntry.id)))


# ---------------------------------------------------------------------- the login limit


def test_wrong_passwords_cannot_keep_the_right_person_out(
        apps: tuple[FastAPI, FastAPI]) -> None:
    first, second = apps
    # sato has logged in from the office before: that browser holds sato's device cookie.
    office = logged_in(first, "sato", OFFICE)
    attacker = browser(first, ATTACKER)
    answers = [try_login(attacker, "sato", f"guess {i}") for i in range(12)]
    assert [status for status, _ in answers[:5]] == [200] * 5
    assert all("違います" in text for _, text in answers[:5])
    # Then the name waits: every further try is refused before any hashing and not counted,
    # so the attacker cannot stretch the wait.
    assert [status for status, _ in answers[5:]] == [429] * 7
    assert "数分後" in answers[5][1]
    assert count(first, LoginAttempt.outcome == "failed") == 5

    # From a browser that never logged in as sato, the name's short wait applies (30 s for
    # five failures) ...
    home = browser(second, HOME)
    assert try_login(home, "sato", PASSWORD)[0] == 429
    # ... and once it has passed, the right password works, on the other replica too.
    age_attempts(first, timedelta(seconds=31))
    assert try_login(home, "sato", PASSWORD)[0] == 303
    assert home.get("/console/").status_code == 200

    # The attacker starts again; the office browser, which logged in as sato before, is not
    # held by the wait at all, while a new browser is.
    for i in range(7):
        try_login(attacker, "sato", f"again {i}")
    assert try_login(browser(second, HOME), "sato", PASSWORD)[0] == 429
    assert try_login(office, "sato", PASSWORD)[0] == 303


def test_a_names_wait_doubles_but_stays_short() -> None:
    limits = logins.LoginLimits()
    assert [min(limits.name_backoff * 2 ** (n - limits.name_failures), limits.name_backoff_cap)
            for n in (5, 6, 7, 8, 9, 30)] == [timedelta(seconds=s)
                                              for s in (30, 60, 120, 240, 300, 300)]


def test_the_wait_is_capped_and_an_unlock_lifts_it(apps: tuple[FastAPI, FastAPI]) -> None:
    first, _ = apps
    attacker = browser(first, ATTACKER)
    for i in range(15):  # each round: wrong password, then the wait passes
        assert try_login(attacker, "sato", f"guess {i}")[0] == 200
        age_attempts(first, timedelta(minutes=6))
    assert count(first, LoginAttempt.outcome == "failed") == 15
    age_attempts(first, timedelta(minutes=-6))  # the last failure is now
    with first.state.runtime.sessions() as s:
        until = logins.name_backoff_until(
            s, key="", account_id=s.scalars(select(Counsellor.id).where(
                Counsellor.username == "sato")).one(),
            limits=first.state.console_auth.limits, now=logins.utcnow())
    assert until is not None and until - logins.utcnow() <= timedelta(minutes=5)

    home = browser(first, HOME)
    assert try_login(home, "sato", PASSWORD)[0] == 429
    with first.state.runtime.sessions() as s, s.begin():
        assert logins.unlock(session=s, account=accounts.find(session=s, username="sato"),
                             actor="cli:test")
    assert try_login(home, "sato", PASSWORD)[0] == 303
    assert {"login_failed", "login_backoff", "unlock", "login"} <= {
        e.action for e in audit_rows(first)}


def test_password_spraying_from_one_address_is_stopped(apps: tuple[FastAPI, FastAPI]) -> None:
    first, second = apps
    for app in apps:
        app.state.console_auth = replace(
            app.state.console_auth,
            limits=replace(app.state.console_auth.limits, address_failures=6))
    sprayer_one, sprayer_two = browser(first, ATTACKER), browser(second, ATTACKER)
    # One password over many names, half through each replica: counted together.
    statuses = [try_login(sprayer_one if i % 2 else sprayer_two, f"user{i}", "Summer2026!")[0]
                for i in range(10)]
    assert statuses == [200] * 6 + [429] * 4
    assert count(first, LoginAttempt.outcome == "failed") == 6  # refused before hashing
    blocked = try_login(sprayer_one, "sato", PASSWORD)  # even the right password, from there
    assert blocked[0] == 429 and "10 分ほど" in blocked[1]
    assert "login_address_blocked" in {e.action for e in audit_rows(first)}
    # Nobody else is held: sato logs in from the office.
    logged_in(second, "sato", OFFICE)
    # The address's failures age out of the window.
    age_attempts(first, timedelta(minutes=11))
    assert try_login(sprayer_one, "sato", PASSWORD)[0] == 303


def test_an_ipv6_attacker_counts_as_its_whole_64() -> None:
    assert logins.address_of("2001:db8:1:2:aaaa::1") == logins.address_of("2001:db8:1:2::ffff")
    assert logins.address_of("2001:db8:1:3::1") != logins.address_of("2001:db8:1:2::1")
    assert logins.address_of("::ffff:192.0.2.1") == "192.0.2.1"


def test_logins_are_audited_without_passwords(apps: tuple[FastAPI, FastAPI]) -> None:
    first, _ = apps
    client = browser(first, OFFICE)
    typed_into_name = "my-secret-passphrase 1234"  # a password typed into the name field
    assert try_login(client, typed_into_name, "whatever")[0] == 200
    assert try_login(client, "sato", "not it at all")[0] == 200
    assert try_login(client, "sato", PASSWORD)[0] == 303
    rows = audit_rows(first)
    assert [e.action for e in rows] == ["login_failed", "login_failed", "login"]
    unknown, known, success = rows
    assert unknown.account_id is None and unknown.actor == f"login {OFFICE}"
    assert unknown.detail is not None and unknown.detail.startswith("unknown name #")
    assert known.account_id is not None and known.detail == "name sato"
    assert success.counsellor_id == success.account_id == known.account_id
    with first.state.runtime.sessions() as s:
        stored = [str(v) for e in rows for v in (e.actor, e.detail)] + [
            a.name_key for a in s.scalars(select(LoginAttempt))]
    for secret in (typed_into_name, "whatever", "not it at all", PASSWORD):
        assert not any(secret in value for value in stored), secret
    boss = logged_in(first, "boss")
    page = boss.get("/console/audit").text
    assert f"login {OFFICE}" in page and "login_failed" in page and "主任" in page


# ---------------------------------------------------------------------- sessions


def test_logout_kills_the_cookie(apps: tuple[FastAPI, FastAPI]) -> None:
    first, second = apps
    client = logged_in(first, "sato")
    stolen = dict(client.cookies)
    assert client.post("/console/logout", data={"csrf": csrf(client, "/console/")}
                       ).headers["location"] == "/console/login"
    for app in apps:  # the old cookie, replayed on either replica
        replay = browser(app, ATTACKER)
        replay.cookies.update(stolen)
        answer = replay.get("/console/")
        assert answer.status_code == 303 and answer.headers["location"] == "/console/login"
    assert "logout" in {e.action for e in audit_rows(second)}


def test_a_revoked_session_is_refused_at_once(apps: tuple[FastAPI, FastAPI]) -> None:
    first, second = apps
    client = logged_in(first, "sato")
    other = browser(second, OFFICE)
    other.cookies.update(dict(client.cookies))
    assert other.get("/console/").status_code == 200  # the same session on the other replica
    with first.state.runtime.sessions() as s, s.begin():
        change = accounts.revoke_sessions(session=s, username="sato", actor="cli:test")
        assert change.sessions_ended == 1
    assert client.get("/console/").headers["location"] == "/console/login"
    assert other.get("/console/").headers["location"] == "/console/login"


def test_sessions_end_when_idle_or_too_old(apps: tuple[FastAPI, FastAPI]) -> None:
    first, _ = apps
    policy = first.state.console_auth.policy
    for column, age, why in ((ConsoleSession.last_seen_at, policy.idle, "idle"),
                             (ConsoleSession.created_at, policy.lifetime, "expired")):
        client = logged_in(first, "sato")
        with first.state.runtime.sessions() as s, s.begin():
            for row in s.scalars(select(ConsoleSession).where(
                    ConsoleSession.revoked_at.is_(None))):
                setattr(row, column.key, getattr(row, column.key) - age - timedelta(seconds=1))
        assert client.get("/console/").headers["location"] == "/console/login"
        with first.state.runtime.sessions() as s:
            assert s.scalars(select(ConsoleSession.revoked_why).order_by(
                ConsoleSession.id.desc())).first() == why


def test_only_a_hash_of_the_session_token_is_stored(apps: tuple[FastAPI, FastAPI]) -> None:
    first, _ = apps
    client = logged_in(first, "sato")
    with first.state.runtime.sessions() as s:
        [row] = s.scalars(select(ConsoleSession)).all()
    assert len(row.token_hash) == 64
    assert row.token_hash not in str(dict(client.cookies))


@pytest.mark.parametrize("change", ["disable", "role", "password"])
def test_account_changes_end_the_accounts_sessions(apps: tuple[FastAPI, FastAPI],
                                                   change: str) -> None:
    first, _ = apps
    client = logged_in(first, "sato")
    bystander = logged_in(first, "boss")
    with first.state.runtime.sessions() as s, s.begin():
        if change == "disable":
            accounts.set_active(session=s, username="sato", active=False, actor="cli:test")
        elif change == "role":
            accounts.set_role(session=s, username="sato", role=Role.SUPERVISOR,
                              actor="cli:test")
        else:
            accounts.set_password(session=s, username="sato",
                                  password="a new long passphrase for sato",
                                  actor="cli:test")
    assert client.get("/console/").headers["location"] == "/console/login"
    assert bystander.get("/console/").status_code == 200


# ---------------------------------------------------------------------- the hashing gate


def test_the_gate_turns_away_logins_beyond_its_slots() -> None:
    gate = HashingGate(1, wait=0.05, queue=1)
    started, release = threading.Event(), threading.Event()

    def hold() -> str:
        started.set()
        release.wait(10)
        return "first"

    async def scenario() -> list[object]:
        first = asyncio.create_task(gate.run(hold))
        await asyncio.to_thread(started.wait, 10)  # the first holds the only slot
        waited = await gate.run(lambda: "second")  # waits its 0.05 s, then turned away
        release.set()
        return [await first, waited, await gate.run(lambda: "third")]

    assert asyncio.run(scenario()) == ["first", None, "third"]


def test_a_busy_gate_answers_politely(apps: tuple[FastAPI, FastAPI]) -> None:
    first, _ = apps

    class Full(HashingGate):
        async def run(self, work: object) -> None:  # type: ignore[override]
            return None

    first.state.console_auth = replace(first.state.console_auth, gate=Full(1))
    client = browser(first, OFFICE)
    answer = client.post("/console/login", data={"username": "sato", "password": PASSWORD,
                                                 "csrf": csrf(client)})
    assert answer.status_code == 503 and answer.headers["retry-after"]
    assert "混み合っています" in answer.text
    assert count(first) == 0  # nothing was checked or counted


def test_the_limit_counts_across_two_processes(apps: tuple[FastAPI, FastAPI],
                                               fresh_database_url: str, tmp_path: Path) -> None:
    """Wrong passwords typed to one process hold the name in another, real one: a `tsunagu
    serve` on the same database, as a second replica would be."""
    first, _ = apps
    port = free_port()
    env = clean_env(TSUNAGU_DATABASE_URL=fresh_database_url, TSUNAGU_LINE_CHANNEL_SECRET=SECRET,
                    TSUNAGU_LINE_CHANNEL_ACCESS_TOKEN=TOKEN,
                    TSUNAGU_LINE_API_BASE_URL="http://127.0.0.1:9/line",
                    TSUNAGU_LINE_DATA_API_BASE_URL="http://127.0.0.1:9/line",
                    TSUNAGU_SESSION_SECRET="login-limit-test-secret",
                    TSUNAGU_LOG_LEVEL="WARNING")
    url = f"http://127.0.0.1:{port}"
    with running("serve", cwd=tmp_path, env=env, port=port):
        attacker = browser(first, ATTACKER)
        for i in range(5):
            assert try_login(attacker, "sato", f"guess {i}")[0] == 200
        with httpx.Client(base_url=url, trust_env=False, follow_redirects=False) as there:
            token = re.search(r'name="csrf" value="([^"]+)"',
                              there.get("/console/login").text)
            assert token
            held = there.post("/console/login", data={
                "username": "sato", "password": PASSWORD, "csrf": token.group(1)})
        assert held.status_code == 429  # counted in the other process, by the database
        assert count(first, LoginAttempt.outcome == "failed") == 5
