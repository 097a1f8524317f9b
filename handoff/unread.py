"""What is new to a counsellor on a case: the resident's messages since they last looked.

A look is the case page, or its live talk while it is on screen (a tab in the background does
not count, so the words stay marked until they are seen). Counts are per counsellor: a
colleague's look does not clear mine. Services add and flush; callers commit.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from sqlalchemy import and_, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from handoff.models import CaseMessage, CaseNote, CaseRead

NEVER = datetime(1970, 1, 1, tzinfo=UTC)


def seen_at(*, session: Session, counsellor_id: int, case_id: int) -> datetime | None:
    return session.scalar(select(CaseRead.seen_at).where(
        CaseRead.counsellor_id == counsellor_id, CaseRead.case_id == case_id))


def mark_seen(*, session: Session, counsellor_id: int, case_id: int, at: datetime) -> None:
    """One row per counsellor and case, moved forward (two tabs at once: one wins, both fine)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" \
        else sqlite.insert
    statement = insert(CaseRead).values(counsellor_id=counsellor_id, case_id=case_id,
                                        seen_at=at)
    session.execute(statement.on_conflict_do_update(
        index_elements=["counsellor_id", "case_id"], set_={"seen_at": at},
        where=CaseRead.seen_at < at))
    session.flush()


def counts(*, session: Session, counsellor_id: int,
           case_ids: Collection[int]) -> dict[int, int]:
    """case id -> the resident's messages this counsellor has not seen (only cases with some),
    in one query for the whole list."""
    if not case_ids:
        return {}
    rows = session.execute(
        select(CaseMessage.case_id, func.count(CaseMessage.id))
        .outerjoin(CaseRead, and_(CaseRead.case_id == CaseMessage.case_id,
                                  CaseRead.counsellor_id == counsellor_id))
        .where(CaseMessage.case_id.in_(case_ids), CaseMessage.sender == "resident",
               CaseMessage.created_at > func.coalesce(CaseRead.seen_at, NEVER))
        .group_by(CaseMessage.case_id))
    return {int(case_id): int(n) for case_id, n in rows}


def whispers(*, session: Session, counsellor_id: int,
             case_ids: Collection[int]) -> dict[int, int]:
    """case id -> supervisors' whispers to this counsellor they have not seen yet."""
    if not case_ids:
        return {}
    rows = session.execute(
        select(CaseNote.case_id, func.count(CaseNote.id))
        .outerjoin(CaseRead, and_(CaseRead.case_id == CaseNote.case_id,
                                  CaseRead.counsellor_id == counsellor_id))
        .where(CaseNote.case_id.in_(case_ids), CaseNote.whisper_to == counsellor_id,
               CaseNote.created_at > func.coalesce(CaseRead.seen_at, NEVER))
        .group_by(CaseNote.case_id))
    return {int(case_id): int(n) for case_id, n in rows}
