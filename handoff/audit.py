"""The audit log: every view, reply, claim, close or export of a case, by whom and when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from handoff.models import AuditEntry, Counsellor


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


def recent(*, session: Session, limit: int = 200,
           where: ColumnElement[bool] | None = None) -> list[tuple[AuditEntry, str]]:
    """The newest entries (of those `where` selects) with the counsellor's display name."""
    stmt = select(AuditEntry, Counsellor.display_name).join(
        Counsellor, Counsellor.id == AuditEntry.counsellor_id)
    if where is not None:
        stmt = stmt.where(where)
    rows = session.execute(stmt.order_by(AuditEntry.id.desc()).limit(limit))
    return [(entry, name) for entry, name in rows]
