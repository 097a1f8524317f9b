"""Who is on duty: each counsellor says 対応可能 / 離席 / 終了 in the console; an available one
whose console has not been seen for a while counts as away. Read from the database, so every
process (web replicas, workers) knows the same."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handoff import audit
from handoff.models import ConsoleSession, Counsellor, Role


class Presence(StrEnum):
    AVAILABLE = "available"  # 対応可能
    AWAY = "away"  # 離席
    OFF = "off"  # 終了 (not on shift)


LABELS = {Presence.AVAILABLE: "対応可能", Presence.AWAY: "離席", Presence.OFF: "終了"}
# Roles that answer residents (a lead or an administrator may, but is not counted on).
ANSWERING = (Role.COUNSELLOR, Role.SUPERVISOR)


def set_presence(*, session: Session, counsellor: Counsellor, presence: Presence,
                 now: datetime) -> None:
    if counsellor.presence == presence:
        return
    counsellor.presence, counsellor.presence_at = presence, now
    audit.record_account_event(session=session, actor=counsellor, action="presence",
                               account_id=counsellor.id, detail=presence.value)


def last_seen(session: Session, counsellor_ids: list[int]) -> dict[int, datetime]:
    if not counsellor_ids:
        return {}
    rows = session.execute(
        select(ConsoleSession.counsellor_id, func.max(ConsoleSession.last_seen_at))
        .where(ConsoleSession.counsellor_id.in_(counsellor_ids),
               ConsoleSession.revoked_at.is_(None))
        .group_by(ConsoleSession.counsellor_id))
    return {cid: seen for cid, seen in rows if seen is not None}


@dataclass(frozen=True)
class OnDuty:
    counsellor_id: int
    display_name: str
    team_id: str | None
    role: str
    presence: Presence  # as it counts now: available turns to away after inactivity


def effective(counsellor: Counsellor, last_seen: datetime | None, now: datetime,
              away_after: timedelta) -> Presence:
    presence = Presence(counsellor.presence or Presence.OFF)
    if presence == Presence.AVAILABLE and (last_seen is None or now - last_seen > away_after):
        return Presence.AWAY
    return presence


def roster(*, session: Session, now: datetime, away_after: timedelta,
           team_id: str | None = None) -> list[OnDuty]:
    """Every active account that is not 終了, with its presence as it counts now."""
    stmt = select(Counsellor).where(Counsellor.active.is_(True),
                                    Counsellor.presence != Presence.OFF)
    if team_id is not None:
        stmt = stmt.where(Counsellor.team_id == team_id)
    people = list(session.scalars(stmt.order_by(Counsellor.id)))
    seen = last_seen(session, [c.id for c in people])
    return [OnDuty(c.id, c.display_name, c.team_id, c.role,
                   effective(c, seen.get(c.id), now, away_after)) for c in people]


def available_count(*, session: Session, team_id: str, now: datetime,
                    away_after: timedelta) -> int:
    """Counsellors and supervisors of the team answering residents now."""
    return sum(1 for p in roster(session=session, now=now, away_after=away_after,
                                 team_id=team_id)
               if p.presence == Presence.AVAILABLE and p.role in ANSWERING)


def presence_of(*, session: Session, counsellor: Counsellor, now: datetime,
                away_after: timedelta) -> Presence:
    """One account's presence as it counts now (what its console header shows)."""
    seen = last_seen(session, [counsellor.id]).get(counsellor.id)
    return effective(counsellor, seen, now, away_after)


def off_at_logout(*, session: Session, counsellor: Counsellor, now: datetime,
                  idle: timedelta) -> None:
    """Logging out of the last console still in use ends the shift (終了): nobody should be
    counted on after they left. Another open console (seen within `idle`) keeps it."""
    others = session.scalar(select(func.count(ConsoleSession.id)).where(
        ConsoleSession.counsellor_id == counsellor.id, ConsoleSession.revoked_at.is_(None),
        ConsoleSession.last_seen_at > now - idle))
    if not others:
        set_presence(session=session, counsellor=counsellor, presence=Presence.OFF, now=now)
