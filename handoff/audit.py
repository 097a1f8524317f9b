"""The audit log: every view, reply, claim, close or export of a case, by whom and when; and
every account event: logins (failed ones too), back-offs, logouts and `tsunagu user` changes."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, aliased

from handoff.models import AuditEntry, Counsellor

# A list shown again within this time (a live page refreshing) is not another row per case.
LIST_VIEW_GAP = timedelta(minutes=10)


def record(*, session: Session, counsellor: Counsellor, action: str, case_id: int | None,
           detail: str | None = None) -> None:
    session.add(AuditEntry(counsellor_id=counsellor.id, action=action, case_id=case_id,
                           detail=(detail or None) and detail[:200]))


def record_unless_recent(*, session: Session, counsellor: Counsellor, action: str,
                         case_id: int, since: datetime, detail: str | None = None) -> None:
    """Record, unless the same counsellor did the same to the case since then."""
    seen = session.scalar(select(AuditEntry.id).where(
        AuditEntry.counsellor_id == counsellor.id, AuditEntry.case_id == case_id,
        AuditEntry.action == action, AuditEntry.at >= since).limit(1))
    if seen is None:
        record(session=session, counsellor=counsellor, action=action, case_id=case_id,
               detail=detail)


def record_list_view(*, session: Session, counsellor: Counsellor, action: str,
                     case_ids: Collection[int], now: datetime) -> None:
    """A list that shows cases (the queue, the caseload, the floor, a search) is a view of
    each of them, as the case page is: one row per case, unless this counsellor's same view
    of it is recent (a page refreshing live is not thousands of rows). Two statements,
    whatever the list's length."""
    if not case_ids:
        return
    recent = set(session.scalars(select(AuditEntry.case_id).where(
        AuditEntry.counsellor_id == counsellor.id, AuditEntry.action == action,
        AuditEntry.case_id.in_(case_ids), AuditEntry.at >= now - LIST_VIEW_GAP)))
    session.add_all([AuditEntry(counsellor_id=counsellor.id, action=action, case_id=case_id)
                     for case_id in dict.fromkeys(case_ids) if case_id not in recent])


def record_account_event(*, session: Session, actor: Counsellor | str, action: str,
                         account_id: int | None, detail: str | None = None) -> None:
    """An event about an account, by a counsellor (logout) or by someone or something else:
    "cli:USER" for a `tsunagu user` command, "login ADDRESS" for a login attempt, "system".
    Never a password; an unknown name typed at login only as a hash."""
    by_counsellor = isinstance(actor, Counsellor)
    session.add(AuditEntry(
        counsellor_id=actor.id if isinstance(actor, Counsellor) else None,
        actor=None if by_counsellor else str(actor)[:64], account_id=account_id,
        action=action, case_id=None, detail=(detail or None) and detail[:200]))


# Rows a list or a live page writes by itself: many, and each one only "it was on screen".
LIST_ACTIONS = ("queue_view", "caseload_view", "floor_view", "search_view", "view_transcript")


def recent(*, session: Session, limit: int = 200,
           where: ColumnElement[bool] | None = None,
           before_id: int | None = None) -> list[tuple[AuditEntry, str]]:
    """The newest entries (of those `where` selects; older than `before_id`, a page further
    back) with who did it: the counsellor's display name, else the actor; an account event
    names its account after an arrow (「佐藤 → 鈴木」)."""
    account = aliased(Counsellor)
    stmt = (select(AuditEntry, Counsellor.display_name, account.display_name)
            .outerjoin(Counsellor, Counsellor.id == AuditEntry.counsellor_id)
            .outerjoin(account, account.id == AuditEntry.account_id))
    if where is not None:
        stmt = stmt.where(where)
    if before_id is not None:
        stmt = stmt.where(AuditEntry.id < before_id)
    rows = session.execute(stmt.order_by(AuditEntry.id.desc()).limit(limit))
    entries: list[tuple[AuditEntry, str]] = []
    for entry, name, about in rows:
        who = name or entry.actor or "—"
        if about and (entry.counsellor_id != entry.account_id):
            who = f"{who} → {about}"
        entries.append((entry, who))
    return entries
