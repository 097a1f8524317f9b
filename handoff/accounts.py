"""Console accounts: argon2 password hashes, roles. Services add and flush; callers commit."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.models import Counsellor, Role

MIN_PASSWORD = 12
_hasher = PasswordHasher()
# Verified against when the username is unknown, so a wrong name costs as long as a wrong
# password and the login time does not tell which names exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password-0000")


class AccountError(ValueError):
    """An account that cannot be created as asked; the message says why."""


def add_counsellor(
    *, session: Session, username: str, display_name: str, password: str,
    role: Role = Role.COUNSELLOR, team_id: str | None = None,
) -> Counsellor:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
    if session.scalars(select(Counsellor).where(Counsellor.username == username)).first():
        raise AccountError(f"the username {username!r} is taken")
    account = Counsellor(username=username, display_name=display_name, role=role,
                         team_id=team_id, password_hash=_hasher.hash(password))
    session.add(account)
    session.flush()
    return account


def authenticate(*, session: Session, username: str, password: str) -> Counsellor | None:
    """The active account with these credentials, else None (same cost either way)."""
    account = session.scalars(select(Counsellor).where(Counsellor.username == username)).first()
    try:
        _hasher.verify(account.password_hash if account else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if account is None or not account.active:
        return None
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)  # parameters were raised since
    return account


DEMO_USERNAME = "demo"


def reset_demo_account(database_url: str) -> tuple[str, str]:
    """The demo's supervisor account with a fresh random password (printed by `tsunagu demo`;
    each run gets a new one, so a copied demo database is not an open door)."""
    from bot.db import make_engine, make_session_factory, transaction

    password = secrets.token_urlsafe(12)
    engine = make_engine(database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            account = session.scalars(
                select(Counsellor).where(Counsellor.username == DEMO_USERNAME)).first()
            if account is None:
                add_counsellor(session=session, username=DEMO_USERNAME, display_name="デモ相談員",
                               password=password, role=Role.SUPERVISOR)
            else:
                account.password_hash = _hasher.hash(password)
                account.active = True
    finally:
        engine.dispose()
    return DEMO_USERNAME, password
