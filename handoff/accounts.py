"""Console accounts: argon2 password hashes, roles, the password rule, and the changes an
administrator makes (disable, enable, role, password), each of which ends the account's console
sessions. Services add and flush; callers commit."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff import audit, passwords, sessions
from handoff.models import Counsellor, Role

MIN_PASSWORD = passwords.MIN_LENGTH
_hasher = PasswordHasher()
# Verified against when the username is unknown, so a wrong name costs as long as a wrong
# password and the login time does not tell which names exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password-0000")


class AccountError(ValueError):
    """An account that cannot be created or changed as asked; the message says why."""


def check_password(password: str, *, username: str, display_name: str | None) -> None:
    """Raises AccountError with the rule's Japanese explanation if the password is refused."""
    refused = passwords.problems(password, user_inputs=[username, display_name])
    if refused:
        raise AccountError("\n".join(refused))


def add_counsellor(
    *, session: Session, username: str, display_name: str, password: str,
    role: Role = Role.COUNSELLOR, team_id: str | None = None,
) -> Counsellor:
    check_password(password, username=username, display_name=display_name)
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


def find(*, session: Session, username: str) -> Counsellor:
    account = session.scalars(select(Counsellor).where(Counsellor.username == username)).first()
    if account is None:
        raise AccountError(f"no account {username!r}")
    return account


@dataclass(frozen=True)
class Change:
    """What an administrator's change did: for the command's message."""

    account: Counsellor
    sessions_ended: int


def _changed(session: Session, account: Counsellor, *, actor: Counsellor | str, action: str,
             detail: str, why: str) -> Change:
    ended = sessions.revoke_all(session=session, counsellor_id=account.id, why=why)
    audit.record_account_event(session=session, actor=actor, action=action,
                               account_id=account.id,
                               detail=f"name {account.username}: {detail}; "
                                      f"{ended} session(s) ended")
    session.flush()
    return Change(account, ended)


def set_active(*, session: Session, username: str, active: bool,
               actor: Counsellor | str) -> Change:
    """Disable (no login, every session ended at once) or enable an account."""
    account = find(session=session, username=username)
    account.active = active
    return _changed(session, account, actor=actor,
                    action="account_enabled" if active else "account_disabled",
                    detail="enabled" if active else "disabled",
                    why="enabled" if active else "disabled")


def set_role(*, session: Session, username: str, role: Role, actor: Counsellor | str) -> Change:
    """A new role; the account logs in again to use it."""
    account = find(session=session, username=username)
    before = account.role
    account.role = role
    return _changed(session, account, actor=actor, action="role_changed",
                    detail=f"{before} -> {role}", why="role")


def set_password(*, session: Session, username: str, password: str,
                 actor: Counsellor | str) -> Change:
    """A new password (the rule applies); every session of the account ends."""
    account = find(session=session, username=username)
    check_password(password, username=account.username, display_name=account.display_name)
    account.password_hash = _hasher.hash(password)
    return _changed(session, account, actor=actor, action="password_changed",
                    detail="password changed", why="password")


def revoke_sessions(*, session: Session, username: str, actor: Counsellor | str) -> Change:
    """Ends every console session of the account (e.g. a lost or shared computer)."""
    account = find(session=session, username=username)
    return _changed(session, account, actor=actor, action="sessions_revoked",
                    detail="sessions revoked", why="revoked")


DEMO_USERNAME = "demo"
DEMO_ADMIN_USERNAME = "demo-admin"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: Role
    team_id: str | None


def _reset_demo(session: Session, username: str, display_name: str, role: Role,
                team_id: str | None) -> DemoLogin:
    password = secrets.token_urlsafe(12)  # 96 random bits: far beyond the rule
    account = session.scalars(select(Counsellor).where(Counsellor.username == username)).first()
    if account is None:
        add_counsellor(session=session, username=username, display_name=display_name,
                       password=password, role=role, team_id=team_id)
    else:
        account.password_hash = _hasher.hash(password)
        account.active, account.role, account.team_id = True, role, team_id
        sessions.revoke_all(session=session, counsellor_id=account.id, why="demo")
    return DemoLogin(username, password, role, team_id)


def reset_demo_accounts(database_url: str, team_id: str) -> tuple[DemoLogin, DemoLogin]:
    """The demo's two accounts with fresh random passwords (printed by `tsunagu demo`; each run
    gets new ones, so a copied demo database is not an open door): a counsellor of `team_id`
    and an administrator, who sees every team and the administration pages."""
    from bot.db.engine import make_engine, make_session_factory, transaction

    engine = make_engine(database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            counsellor = _reset_demo(session, DEMO_USERNAME, "デモ相談員", Role.COUNSELLOR,
                                     team_id)
            admin = _reset_demo(session, DEMO_ADMIN_USERNAME, "デモ管理者", Role.ADMIN, None)
            audit.record_account_event(session=session, actor="demo", action="demo_accounts",
                                       account_id=None,
                                       detail=f"{DEMO_USERNAME}, {DEMO_ADMIN_USERNAME} reset")
    finally:
        engine.dispose()
    return counsellor, admin
