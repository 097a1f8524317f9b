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

from bot.db import make_engine, make_session_factory
from bot.migrations import upgrade
from handoff.accounts import AccountError, add_counsellor, authenticate
from handoff.models import Counsellor, Role

PASSWORD = "correct horse battery staple"


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
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
