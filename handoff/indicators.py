"""The indicators a 自立相談支援機関 reports beside the outcome figures: who asks and at what age,
when they reach out (in or out of the desk's hours), how often a counsellor was in contact, where
they were connected to (the fixed list of destinations, 生活保護 among them), what support
achieved (work found ...), and the same per town. Counts and categories only: never a
resident's words, never a name (handoff/outcomes.py computes the rest)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from bot.db.models import OutboxMessage
from handoff.models import Case, Referral, ReferralStatus
from handoff.outcomes import NOT_GIVEN

# The intake's answer values (content/flows/intake.yaml), in the order a table reads them.
AGE_BANDS = ("teens", "twenties", "thirties", "forties", "fifties", "sixties", "seventies_plus",
             "no_answer")
ASKING_FOR = ("self", "family", "friend", "neighbour", "no_answer")
NOT_ASKED = "not_asked"  # the intake did not reach the question (e.g. straight to a person)
CONTACT_BUCKETS = ("0", "1", "2-5", "6+")  # DOMAIN: 25.6 % once, 32.4 % 2-5, 40 % six or more


@dataclass(frozen=True)
class ReferralRow:
    """One destination's referrals asked in the period."""

    destination: str
    asked: int  # referrals made: asked in the chat, or on the life-safety basis
    agreed: int  # the resident said yes (taken back later or not)
    declined: int
    withdrawn: int
    life_safety: int
    sent: int  # the sheet went (a recorded way: by hand, post, ...)
    accepted: int  # the recipient took the person in


@dataclass(frozen=True)
class TownRow:
    town: str  # a municipality id, or NOT_GIVEN
    cases: int
    out_of_hours: int | None  # None: no desk hours to tell
    referred: int  # referrals whose sheet went
    welfare: int  # of which to 生活保護
    work_found: int


@dataclass(frozen=True)
class Indicators:
    asking_for: list[tuple[str, int]]
    age_bands: list[tuple[str, int]]
    in_hours: int | None
    out_of_hours: int | None
    contacts: list[tuple[str, int]]  # counsellor contact days per case -> cases
    contacts_mean: float | None
    referrals: list[ReferralRow]
    welfare_agreed: int  # referrals to 生活保護 the resident agreed to (or life safety)
    welfare_sent: int
    results: list[tuple[str, int]]  # what support achieved -> cases
    by_town: list[TownRow]

    @property
    def out_of_hours_share(self) -> float | None:
        if self.in_hours is None or self.out_of_hours is None:
            return None
        whole = self.in_hours + self.out_of_hours
        return self.out_of_hours / whole if whole else None

    @property
    def work_found(self) -> int:
        return dict(self.results).get("work_found", 0)


def _bucket(days: int) -> str:
    if days <= 1:
        return str(days)
    return "2-5" if days <= 5 else "6+"


def _ordered(counted: Counter[str], order: Sequence[str]) -> list[tuple[str, int]]:
    rest = sorted(k for k in counted if k not in order)
    return [(k, counted[k]) for k in [*order, *rest] if k in order or counted[k]]


def _contact_days(session: Session, cohort: Sequence[Any], zone: Any) -> dict[int, int]:
    """Case id -> days (Japan time) on which a counsellor wrote to the resident while the
    case was open."""
    spans: dict[int, list[Any]] = defaultdict(list)
    for row in cohort:
        spans[row.conversation_id].append(row)
    days: dict[int, set[Any]] = defaultdict(set)
    if not spans:
        return {}
    written = session.execute(
        select(OutboxMessage.conversation_id, OutboxMessage.created_at).where(
            OutboxMessage.counsellor_id.is_not(None),
            OutboxMessage.conversation_id.in_(list(spans))))
    for conversation_id, at in written:
        for row in spans.get(conversation_id or 0, []):
            if row.opened_at <= at and (row.closed_at is None or at <= row.closed_at):
                days[row.id].add(at.astimezone(zone).date())
    return {row.id: len(days[row.id]) for row in cohort}


def compute(*, session: Session, place: list[ColumnElement[bool]], first: datetime,
            after: datetime, municipalities: Collection[str], destinations: Sequence[str],
            welfare: Collection[str], results: Sequence[str],
            staffed: Callable[[str, datetime, datetime], float] | None,
            zone: Any) -> Indicators:
    """The indicators for the cases of `place` (a town, a desk, or all) opened in
    [first, after), and the referrals of those places' cases asked in that period."""
    case_filter = [Case.opened_at >= first, Case.opened_at < after, *place]
    cohort = list(session.execute(
        select(Case.id, Case.conversation_id, Case.opened_at, Case.closed_at, Case.team_id,
               Case.municipality, Case.consulting_for, Case.results,
               Case.answers["age_band"].as_string().label("age_band"))
        .where(*case_filter)))
    known = set(municipalities)

    def town(row: Any) -> str:
        return row.municipality if row.municipality in known else NOT_GIVEN

    asking = Counter(row.consulting_for or NOT_ASKED for row in cohort)
    ages = Counter(row.age_band or NOT_ASKED for row in cohort)
    outside: dict[int, bool] = {}
    if staffed is not None:
        for row in cohort:
            outside[row.id] = staffed(row.team_id, row.opened_at,
                                      row.opened_at + timedelta(minutes=1)) <= 0
    contact = _contact_days(session, cohort, zone)
    achieved = Counter(r for row in cohort for r in set(row.results or []))

    place_cases = select(Case.id).where(*place)
    referred = list(session.execute(
        select(Referral.destination, Referral.status, Referral.basis, Referral.answered_at,
               Referral.sent_at, Referral.accepted, Case.municipality)
        .join(Case, Case.id == Referral.case_id)
        .where(Referral.case_id.in_(place_cases), Referral.asked_at >= first,
               Referral.asked_at < after)))
    rows = []
    for destination in [*destinations,
                        *sorted({r.destination for r in referred} - set(destinations))]:
        mine = [r for r in referred if r.destination == destination]
        rows.append(ReferralRow(
            destination=destination, asked=len(mine),
            agreed=sum(1 for r in mine if _agreed(r)),
            declined=sum(1 for r in mine if r.status == ReferralStatus.DECLINED),
            withdrawn=sum(1 for r in mine if r.status == ReferralStatus.WITHDRAWN),
            life_safety=sum(1 for r in mine if r.basis == "life_safety"),
            sent=sum(1 for r in mine if r.sent_at is not None),
            accepted=sum(1 for r in mine if r.accepted)))

    towns: dict[str, list[Any]] = defaultdict(list)
    for row in cohort:
        towns[town(row)].append(row)
    sent_by_town: Counter[str] = Counter()
    welfare_by_town: Counter[str] = Counter()
    for r in referred:
        if r.sent_at is not None:
            where = r.municipality if r.municipality in known else NOT_GIVEN
            sent_by_town[where] += 1
            welfare_by_town[where] += r.destination in welfare
    by_town = [TownRow(
        town=t, cases=len(towns[t]),
        out_of_hours=sum(outside[row.id] for row in towns[t]) if staffed is not None else None,
        referred=sent_by_town[t], welfare=welfare_by_town[t],
        work_found=sum(1 for row in towns[t] if "work_found" in (row.results or [])))
        for t in [*municipalities, NOT_GIVEN] if towns[t] or sent_by_town[t]]
    days = list(contact.values())
    return Indicators(
        asking_for=_ordered(asking, [*ASKING_FOR, NOT_ASKED]),
        age_bands=_ordered(ages, [*AGE_BANDS, NOT_ASKED]),
        in_hours=sum(1 for v in outside.values() if not v) if staffed is not None else None,
        out_of_hours=sum(outside.values()) if staffed is not None else None,
        contacts=_ordered(Counter(_bucket(d) for d in days), CONTACT_BUCKETS),
        contacts_mean=sum(days) / len(days) if days else None,
        referrals=rows,
        welfare_agreed=sum(1 for r in referred if r.destination in welfare and _agreed(r)),
        welfare_sent=sum(1 for r in referred
                         if r.destination in welfare and r.sent_at is not None),
        results=_ordered(achieved, results),
        by_town=by_town)


def _agreed(r: Any) -> bool:
    """A yes was given (or life safety stood in for it), whatever happened after."""
    return r.status == ReferralStatus.AGREED or (
        r.status == ReferralStatus.WITHDRAWN and r.answered_at is not None)
