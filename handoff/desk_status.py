"""The desk as it stands now, per team: who is on duty, how many wait, the oldest wait, and
which cases have waited past their time to a person (SLA, `places.desk.sla`).

The SLA clock runs only while the team is open (its hours; `team_is_open`): a case that
arrived at night starts its clock when the desk opens, and a desk that is closed raises no
alert. "Staffed" means open, not "someone is 対応可能": an open desk with nobody available is
exactly when a supervisor must hear of a case that waits. Read-only: nothing here writes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.content.schema import Places, Sla, Team
from bot.flows.routing import DAYS, TOKYO, closure_of, on_duty
from handoff.models import PRIORITY_RANK, Case, CaseStatus, Priority
from handoff.presence import OnDuty, Presence, roster

# A case waiting longer than this is far past any SLA; the staffed-time walk stops there.
LOOK_BACK_DAYS = 62


def team_is_open(team: Team, now: datetime) -> bool:
    """Whether the team's desk is open at `now` (the one place the SLA asks it)."""
    return on_duty(team, now)


def _clock(text: str) -> timedelta:
    hours, minutes = (int(part) for part in text.split(":"))
    return timedelta(hours=hours, minutes=minutes)  # "24:00" is the end of the day


def _opening(team: Team, day: date) -> tuple[datetime, datetime] | None:
    """The team's hours on this Japan day as instants, or None when it has none that day (not
    one of its days, a national holiday, one of its closures)."""
    if DAYS[day.weekday()] not in team.hours.days or closure_of(team, day):
        return None
    midnight = datetime.combine(day, time(), tzinfo=TOKYO)
    return midnight + _clock(team.hours.open), midnight + _clock(team.hours.close)


def staffed_minutes(team: Team, start: datetime, end: datetime) -> float:
    """Minutes of [start, end) during which the team was open: holidays and closures count
    nothing."""
    if end <= start:
        return 0.0
    first = max(start.astimezone(TOKYO).date(), end.astimezone(TOKYO).date() - timedelta(
        days=LOOK_BACK_DAYS))
    total = 0.0
    day = first
    while day <= end.astimezone(TOKYO).date():
        hours = _opening(team, day)
        if hours is not None:
            low, high = max(hours[0], start), min(hours[1], end)
            if low < high:
                total += (high - low).total_seconds() / 60
        day += timedelta(days=1)
    return total


def sla_minutes(sla: Sla, priority: str) -> int:
    """The time to a person for a priority (an unknown one is treated as normal)."""
    if priority == Priority.IMMINENT:
        return sla.imminent
    return sla.high if priority == Priority.HIGH else sla.normal


@dataclass(frozen=True)
class SlaClock:
    """One waiting case against its SLA."""

    minutes: int  # the SLA
    waited: float  # staffed minutes waited so far
    past: bool  # open now and waited longer than the SLA ("within 5 minutes" includes 5)
    # When it passes, if the desk stays open until then: lets a page flip it without asking.
    due_at: datetime | None


def clock(*, team: Team, sla: Sla, priority: str, opened_at: datetime,
          now: datetime) -> SlaClock:
    minutes = sla_minutes(sla, priority)
    waited = staffed_minutes(team, opened_at, now)
    open_now = team_is_open(team, now)
    past = open_now and waited > minutes
    due_at = None
    if open_now and not past:
        hours = _opening(team, now.astimezone(TOKYO).date())
        due = now + timedelta(minutes=minutes - waited)
        if hours is not None and due <= hours[1]:
            due_at = due
    return SlaClock(minutes=minutes, waited=waited, past=past, due_at=due_at)


def clocks_of(*, places: Places, cases: Iterable[Case], now: datetime) -> dict[int, SlaClock]:
    """The SLA clock of each of these cases (a queue page's rows), by case id."""
    teams = {t.id: t for t in places.teams}
    return {c.id: clock(team=teams[c.team_id], sla=places.desk.sla, priority=str(c.priority),
                        opened_at=c.opened_at, now=now)
            for c in cases if c.team_id in teams}


@dataclass(frozen=True)
class Waiting:
    case_id: int
    team_id: str
    priority: str
    opened_at: datetime
    sla: SlaClock


@dataclass(frozen=True)
class PriorityLine:
    priority: str
    waiting: int
    sla_minutes: int
    past: int


@dataclass(frozen=True)
class TeamStatus:
    team_id: str
    name: str
    open_now: bool
    on_duty: list[OnDuty]  # not 終了: 対応可能 first, then 離席
    available: int  # 対応可能 now, of any role
    waiting: int
    oldest_opened_at: datetime | None  # the longest-waiting case's arrival (wall clock)
    past: int  # cases past their SLA now
    next_due: datetime | None  # the next case to pass its SLA, while the desk stays open
    priorities: list[PriorityLine]


def waiting_cases(*, session: Session, places: Places, team_ids: Collection[str],
                  now: datetime) -> list[Waiting]:
    """Open cases of these teams with their SLA clocks, oldest first."""
    if not team_ids:
        return []
    teams = {t.id: t for t in places.teams if t.id in team_ids}
    rows = session.execute(
        select(Case.id, Case.team_id, Case.priority, Case.opened_at)
        .where(Case.status == CaseStatus.OPEN, Case.team_id.in_(list(teams)))
        .order_by(Case.opened_at, Case.id))
    return [Waiting(case_id, team_id, str(priority), opened_at,
                    clock(team=teams[team_id], sla=places.desk.sla, priority=str(priority),
                          opened_at=opened_at, now=now))
            for case_id, team_id, priority, opened_at in rows]


def _earliest(moments: Iterable[datetime | None]) -> datetime | None:
    return min((m for m in moments if m is not None), default=None)


def team_status(*, session: Session, places: Places, team_ids: Sequence[str],
                now: datetime) -> list[TeamStatus]:
    """Each of these teams (in the order given) as a queue page shows it."""
    away_after = timedelta(minutes=places.desk.waiting.away_after_minutes)
    cases = waiting_cases(session=session, places=places, team_ids=team_ids, now=now)
    people = roster(session=session, now=now, away_after=away_after)
    order = {Presence.AVAILABLE: 0, Presence.AWAY: 1}
    found = []
    for team in (places.team(t) for t in team_ids):
        mine = [c for c in cases if c.team_id == team.id]
        duty = sorted((p for p in people if p.team_id == team.id),
                      key=lambda p: (order.get(p.presence, 2), p.display_name))
        found.append(TeamStatus(
            team_id=team.id, name=team.name, open_now=team_is_open(team, now), on_duty=duty,
            available=sum(1 for p in duty if p.presence == Presence.AVAILABLE),
            waiting=len(mine), oldest_opened_at=mine[0].opened_at if mine else None,
            past=sum(1 for c in mine if c.sla.past),
            next_due=_earliest(c.sla.due_at for c in mine),
            priorities=[PriorityLine(
                priority=p.value, waiting=sum(1 for c in mine if c.priority == p.value),
                sla_minutes=sla_minutes(places.desk.sla, p.value),
                past=sum(1 for c in mine if c.priority == p.value and c.sla.past))
                for p in sorted(PRIORITY_RANK, key=PRIORITY_RANK.__getitem__)]))
    return found


@dataclass(frozen=True)
class Breaches:
    """What a supervisor's alert says: cases past their SLA now, by team."""

    count: int
    teams: list[tuple[str, int]]  # team name -> cases past their SLA (teams with some)
    next_due: datetime | None


def breaches(*, session: Session, places: Places, team_ids: Collection[str],
             now: datetime) -> Breaches:
    cases = waiting_cases(session=session, places=places, team_ids=team_ids, now=now)
    names = {t.id: t.name for t in places.teams}
    per_team = [(names[t.id], n) for t in places.teams
                if (n := sum(1 for c in cases if c.team_id == t.id and c.sla.past))]
    return Breaches(count=sum(n for _, n in per_team), teams=per_team,
                    next_due=_earliest(c.sla.due_at for c in cases))


def fingerprint(*, session: Session, places: Places, team_ids: Sequence[str],
                now: datetime) -> list[str]:
    """What a queue page shows of the desk that can change with no case written: presence
    (対応可能 turns into 離席 with time), the desk opening or closing, cases passing their SLA.
    Its live connection compares it to know when to refresh."""
    return [f"{t.team_id}:{t.open_now}:{t.past}:" + ",".join(
        f"{p.counsellor_id}={p.presence.value}" for p in t.on_duty)
        for t in team_status(session=session, places=places, team_ids=team_ids, now=now)]
