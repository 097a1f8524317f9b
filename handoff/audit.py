"""The audit log: every view, reply, claim, close or export of a case, by whom and when."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.models import AuditEntry, Counsellor


def record(*, session: Session, counsellor: Counsellor, action: str, case_id: int | None,
           detail: str | None = None) -> None:
    session.add(AuditEntry(counsellor_id=counsellor.id, action=action, case_id=case_id,
                           detail=(detail or None) and detail[:200]))


def recent(*, session: Session, limit: int = 200) -> list[tuple[AuditEntry, str]]:
    """The newest entries with the counsellor's display name."""
    rows = session.execute(
        select(AuditEntry, Counsellor.display_name)
        .join(Counsellor, Counsellor.id == AuditEntry.counsellor_id)
        .order_by(AuditEntry.id.desc()).limit(limit))
    return [(entry, name) for entry, name in rows]
