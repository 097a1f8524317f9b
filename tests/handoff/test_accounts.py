"""Console accounts: argon2 hashes, constant-cost login, and `tsunagu user add`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.db.engine import make_engine, make_session_factory
from bot.db.migrations import upgrade
from handoff.accounts import AccountError, add_counsellor, authenticate
from handoff.models import Counsellor, Role

PASSWORD = "correct horse battery staple"


@pytest.fixture
def sessions(fresh_database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(fresh_database_url)
    yield make_session_factory(engine)
    engine.dispose()


def test_passwords_are_stored_as_argon2_hashes(sessions: sessionmaker[Session]) -> None:
    with sessions() as s, s.begin():
        account = add_counsellor(session=s, username="sato", display_name="佐藤",
                                 password=PASSWORD, role=Role.SUPERVISOR, team_id="midori")
        assert account.password_hash.startswith("$argon2id$")
        assert PASSWORD not in account.password_hash


def test_login_checks_password_and_active_flag(sessions: sessionmaker[Session]) -> None:
    with sessions() as s, s.begin():
        add_counsellor(session=s, username="sato", display_name="佐藤", password=PASSWORD)
    with sessions() as s, s.begin():
        assert authenticate(session=s, username="sato", password=PASSWORD) is not None
        assert authenticate(session=s, username="sato", password=PASSWORD + "x") is None
        assert authenticate(session=s, username="nobody", password=PASSWORD) is None
        account = s.scalars(select(Counsellor)).one()
        account.active = False
    with sessions() as s:
        assert authenticate(session=s, username="sato", password=PASSWORD) is None


def test_weak_or_duplicate_accounts_are_refused(sessions: sessionmaker[Session]) -> None:
    with sessions() as s, s.begin():
        with pytest.raises(AccountError, match="12 文字以上"):
            add_counsellor(session=s, username="a", display_name="A", password="short")
        add_counsellor(session=s, username="a", display_name="A", password=PASSWORD)
        with pytest.raises(AccountError, match="taken"):
            add_counsellor(session=s, username="a", display_name="A2", password=PASSWORD)


def test_user_add_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/users.db"
    upgrade(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TSUNAGU_")}
    env["TSUNAGU_DATABASE_URL"] = url
    tsunagu = str(Path(sys.executable).parent / "tsunagu")
    done = subprocess.run([tsunagu, "user", "add", "suzuki", "--name", "鈴木", "--role",
                           "admin", "--password-stdin"], input=PASSWORD + "\n", env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        account = s.scalars(select(Counsellor)).one()
        assert account.role == "admin" and authenticate(session=s, username="suzuki",
                                                        password=PASSWORD)
    engine.dispose()
    again = subprocess.run([tsunagu, "user", "add", "suzuki", "--name", "x",
                            "--password-stdin"], input=PASSWORD + "\n", env=env,
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 1 and "taken" in again.stderr


def test_the_password_rule_refuses_guessable_passwords_in_japanese(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as s, s.begin():
        for weak, why in (("password1234", "とてもよく使われるパスワード"),
                          ("aaaaaaaaaaaaaaaa", "繰り返し"),
                          ("zxcvbnm,./asdfg", "キーボード"),
                          ("sato-sato-sato-1", "推測されやすい")):
            with pytest.raises(AccountError) as refused:
                add_counsellor(session=s, username="sato", display_name="佐藤", password=weak)
            assert "推測されやすいため使えません" in str(refused.value), weak
            assert why in str(refused.value), (weak, str(refused.value))
        add_counsellor(session=s, username="sato", display_name="佐藤", password=PASSWORD)


def test_every_sentence_of_the_checker_has_japanese() -> None:
    """zxcvbn explains in fixed English sentences; each has its Japanese (a new zxcvbn version
    that adds one fails here rather than showing English to a counsellor)."""
    import ast

    import zxcvbn.feedback

    from handoff.passwords import JAPANESE

    source = Path(zxcvbn.feedback.__file__).read_text()
    sentences = {node.args[0].value for node in ast.walk(ast.parse(source))
                 if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "_"}
    assert sentences and sentences <= JAPANESE.keys()


def tsunagu(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(Path(sys.executable).parent / "tsunagu"), "user", *args],
                          input=stdin, env=env, capture_output=True, text=True, timeout=60)


def test_user_commands_change_accounts_end_sessions_and_are_audited(tmp_path: Path) -> None:
    from handoff import sessions as console_sessions
    from handoff.models import AuditEntry, ConsoleSession

    url = f"sqlite:///{tmp_path}/users.db"
    upgrade(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TSUNAGU_")}
    env["TSUNAGU_DATABASE_URL"] = url
    engine = make_engine(url)
    factory = make_session_factory(engine)

    def open_session() -> str:
        with factory() as s, s.begin():
            account = s.scalars(select(Counsellor).where(Counsellor.username == "sato")).one()
            return console_sessions.start(session=s, counsellor_id=account.id)

    def live(token: str) -> bool:
        with factory() as s:
            return console_sessions.resolve(session=s, token=token,
                                            policy=console_sessions.SessionPolicy()) is not None

    added = tsunagu(env, "add", "sato", "--name", "佐藤", "--password-stdin",
                    stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr

    token = open_session()
    done = tsunagu(env, "disable", "sato")
    assert done.returncode == 0 and "1 console session(s) ended" in done.stdout, done.stderr
    assert not live(token)
    with factory() as s:
        assert authenticate(session=s, username="sato", password=PASSWORD) is None
    assert tsunagu(env, "enable", "sato").returncode == 0
    with factory() as s:
        assert authenticate(session=s, username="sato", password=PASSWORD) is not None

    token = open_session()
    done = tsunagu(env, "role", "sato", "lead")
    assert done.returncode == 0 and "role lead" in done.stdout, done.stderr
    assert not live(token)
    assert tsunagu(env, "role", "sato", "boss").returncode == 2  # no such role

    token = open_session()
    weak = tsunagu(env, "password", "sato", "--password-stdin", stdin="password1234\n")
    assert weak.returncode == 1 and "推測されやすいため使えません" in weak.stderr
    assert live(token)  # a refused change changes nothing
    new = "another long passphrase, 7 herons"
    done = tsunagu(env, "password", "sato", "--password-stdin", stdin=new + "\n")
    assert done.returncode == 0, done.stderr
    assert new not in done.stdout + done.stderr
    assert not live(token)
    with factory() as s:
        assert authenticate(session=s, username="sato", password=new) is not None
        assert authenticate(session=s, username="sato", password=PASSWORD) is None

    token = open_session()
    assert tsunagu(env, "revoke", "sato").returncode == 0 and not live(token)
    assert tsunagu(env, "unlock", "sato").returncode == 0
    missing = tsunagu(env, "disable", "nobody")
    assert missing.returncode == 1 and "no account" in missing.stderr

    with factory() as s:
        rows = list(s.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        assert [e.action for e in rows] == [
            "account_added", "account_disabled", "account_enabled", "role_changed",
            "password_changed", "sessions_revoked", "unlock"]
        assert all(e.counsellor_id is None and (e.actor or "").startswith("cli")
                   and e.account_id is not None for e in rows)
        assert rows[3].detail is not None and "counsellor -> lead" in rows[3].detail
        assert not any(new in (e.detail or "") for e in rows)
        assert s.scalars(select(ConsoleSession).where(
            ConsoleSession.revoked_at.is_(None))).all() == []
    engine.dispose()
