"""Outcome figures (成果把握) for supervisors: counts, times and rates, aggregates only.

Only ids, times, statuses and category values are read: never message text, never the intake
answers as a whole (they hold the resident's own words as notes; the municipality is picked out
in SQL), never pseudonyms. The statistics are done in Python over those few columns, so SQLite
and PostgreSQL give the same figures from the same code.

Two groups of rows are counted, both for one municipality (or all) and one period of Japan dates:
- cases (consultations handed to people) opened in the period: counts per day and week, time to
  a person, life areas, risk, status and outcome, referral destinations, how they came (相談経路);
- conversations whose first contact falls in the period: consent and risk seen in the chat.
Follow-ups are counted by the day they were sent.

A supervisor sees their own desk's figures only (`Desk`): cases by the team that has them, and
conversations by the team the routing gives them (the desk they chose, else their town's, else
the default desk), so each conversation is counted by exactly one desk.
"""

from __future__ import annotations

import math
import unicodedata
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, false, func, or_, select
from sqlalchemy.orm import Session

from bot.db.models import Conversation, InboxEvent
from bot.flows.routing import TOKYO
from handoff.followups import ANSWER_WINDOW
from handoff.models import (
    Case,
    CaseMeeting,
    CaseStatus,
    FollowUp,
    FollowUpState,
    MonitoringDecision,
    MonitoringRecord,
    Outcome,
    SupportPlan,
)

# The municipality filter for cases and conversations with no known municipality
# (「答えたくない」「この中にない」, or not asked yet). Not a valid municipality id.
NOT_GIVEN = "-"
RISK_LEVELS = ("none", "concern", "high", "imminent")
CASE_STATUSES = tuple(s.value for s in CaseStatus)
OUTCOMES = tuple(o.value for o in Outcome)
FOLLOWUP_KINDS = ("intake_stalled", "not_picked_up", "after_close", "manual")
# Cases with no source (no department's link, and none set by a counsellor: 「不明」). Not a
# valid source id (content ids are lower-case letters, digits and underscores).
NO_SOURCE = "-"
# Inbox event types that are the resident writing (the same ones that answer a follow-up in
# bot/journey/conversation.py): a follow or unfollow is not an answer.
RESIDENT_EVENTS = ("message", "postback")


# ---------------------------------------------------------------------- pure helpers


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-quantile (0 ≤ q ≤ 1) with linear interpolation between the closest ranks: the
    same as Excel's PERCENTILE.INC, so staff can check a figure from the CSV. None if empty."""
    if not 0 <= q <= 1:
        raise ValueError(f"q must be between 0 and 1, not {q}")
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Iterable[float]) -> float | None:
    return percentile(values, 0.5)


def rate(part: int, whole: int) -> float | None:
    """part / whole, or None when nothing was counted (shown as 「—」, never as 0 %)."""
    return part / whole if whole else None


def japan_day(moment: datetime) -> date:
    """The calendar day in Japan (a consultation at 00:30 JST belongs to that day, not the
    previous UTC one)."""
    return moment.astimezone(TOKYO).date()


def week_of(day: date) -> date:
    """The Monday that starts the (ISO) week of `day`."""
    return day - timedelta(days=day.weekday())


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """UTC instants [start 00:00 JST, the day after end 00:00 JST) for inclusive Japan dates."""
    first = datetime.combine(start, time(), tzinfo=TOKYO)
    after = datetime.combine(end + timedelta(days=1), time(), tzinfo=TOKYO)
    return first.astimezone(UTC), after.astimezone(UTC)


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def daily_counts(moments: Iterable[datetime], start: date, end: date) -> list[tuple[date, int]]:
    """How many moments fall on each Japan day of the period, zero days included."""
    counted = Counter(japan_day(m) for m in moments)
    return [(day, counted[day]) for day in days_between(start, end)]


def weekly_counts(daily: Sequence[tuple[date, int]]) -> list[tuple[date, int]]:
    """Daily counts summed per week (Monday first); the period's first and last weeks may be
    partial."""
    weeks: dict[date, int] = {}
    for day, count in daily:
        monday = week_of(day)
        weeks[monday] = weeks.get(monday, 0) + count
    return list(weeks.items())


def answered_flags(sent: Sequence[datetime], messages: Iterable[datetime],
                   window: timedelta = ANSWER_WINDOW) -> list[bool]:
    """Which of one conversation's sent follow-ups the resident answered.

    As in `handoff.followups.plan_of`, a message answers the latest follow-up sent
    before it, if that one was sent at most `window` earlier. `sent` must be in time order.
    """
    flags = [False] * len(sent)
    for moment in messages:
        latest = bisect_left(sent, moment) - 1  # the last one sent strictly before the message
        if latest >= 0 and moment - sent[latest] <= window:
            flags[latest] = True
    return flags


def normalise_destination(text: str) -> str:
    """Referral destinations typed by counsellors, grouped despite width and spacing."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def count_in_order(counted: Counter[str], order: Sequence[str]) -> list[tuple[str, int]]:
    """Counts for every key of `order` (zeros kept), then any unexpected key found."""
    extra = sorted(k for k in counted if k not in order)
    return [(k, counted[k]) for k in (*order, *extra)]


def most_first(counted: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counted.items(), key=lambda item: (-item[1], item[0]))


# ---------------------------------------------------------------------- figures


@dataclass(frozen=True)
class TimeToHuman:
    """From first contact (the conversation's start) to a person taking the case (its claim),
    for people whose first claimed case is one of the period's cases."""

    reached: int
    not_reached: int  # cases of the period nobody has taken yet
    median_minutes: float | None
    p90_minutes: float | None


@dataclass(frozen=True)
class SlaRule:
    """Time to a person by priority (`places.desk.sla`), and how a wait is counted: only the
    minutes the team's desk was open (`handoff.desk_status.staffed_minutes`)."""

    minutes: Mapping[str, int]  # priority -> minutes
    staffed: Callable[[str, datetime, datetime], float]  # team id, from, to -> minutes


@dataclass(frozen=True)
class SlaShare:
    """Cases of the period at one priority against its time to a person, waited from the
    case's opening (the queue) to its claim. `pending`: still waiting within the time, or ended
    without a person (withdrawn, gave up) before it passed: left out of the share."""

    priority: str
    minutes: int
    within: int
    missed: int  # claimed later than the time, or still unclaimed past it
    pending: int

    @property
    def share(self) -> float | None:
        return rate(self.within, self.within + self.missed)


@dataclass(frozen=True)
class LifeAreas:
    """Life areas chosen at intake, per person (their latest case in the period)."""

    persons: int
    per_person: list[tuple[int, int]]  # number of areas chosen -> persons (0 = not answered)
    mean_answered: float | None  # mean number among persons who chose at least one
    counts: list[tuple[str, int]]  # area value -> persons, most first


@dataclass(frozen=True)
class ConsentFigures:
    """Consent among conversations whose first contact is in the period."""

    conversations: int
    asked: int  # an answer to consent (a) is recorded: agreed, declined or withdrawn
    agreed: int  # (a) a counsellor may read and answer: granted now, or until withdrawn
    handed_off: int  # with a case opened on their consent (basis "consent")
    shared: int  # (b) the summary may be shared: granted now
    withdrawn: int
    life_safety: int  # with a case opened without consent, to protect a life

    @property
    def handoff_rate(self) -> float | None:
        return rate(self.handed_off, self.asked)

    @property
    def agree_rate(self) -> float | None:
        return rate(self.agreed, self.asked)

    @property
    def share_rate(self) -> float | None:
        return rate(self.shared, self.agreed)


@dataclass(frozen=True)
class FollowUpCount:
    """Follow-ups sent in the period. `pending`: no answer yet, but the answer window (see
    `handoff.followups.ANSWER_WINDOW`) is still open, so they are left out of the rate."""

    kind: str  # a rule name, "manual", or "all"
    sent: int
    answered: int
    unanswered: int
    pending: int

    @property
    def answer_rate(self) -> float | None:
        return rate(self.answered, self.answered + self.unanswered)


@dataclass(frozen=True)
class Figures:
    start: date
    end: date
    municipality: str | None  # an id, NOT_GIVEN, or None for all
    computed_at: datetime
    cases: int
    per_day: list[tuple[date, int]]
    per_week: list[tuple[date, int]]  # the week's Monday -> cases
    time_to_human: TimeToHuman
    # The same measure for the cases opened each Japan day of the period (every day, empty
    # ones too), and for each municipality with cases (NOT_GIVEN for none).
    time_to_human_per_day: list[tuple[date, TimeToHuman]]
    time_to_human_by_town: list[tuple[str, TimeToHuman]]
    within_sla: list[SlaShare]  # by priority, most urgent first; empty without a rule
    life_areas: LifeAreas
    case_risk: list[tuple[str, int]]  # Case.risk_level -> cases
    conversation_risk: list[tuple[str, int]]  # Conversation.risk_level -> conversations
    consent: ConsentFigures
    status: list[tuple[str, int]]  # open / claimed / closed -> cases
    outcomes: list[tuple[str, int]]  # closed cases by outcome
    referrals: list[tuple[str, int]]  # destination -> referred cases, most first
    # How the residents came (相談経路): source id -> cases, in the content's order (zeros
    # kept), then any id content no longer has, then NO_SOURCE.
    sources: list[tuple[str, int]]
    followups: FollowUpCount
    followups_by_kind: list[FollowUpCount]
    support: SupportFigures


@dataclass(frozen=True)
class SupportFigures:
    """Support after the first reply (handoff/support.py), by the dates it happened on."""

    plans: int  # plans agreed in the period (a new plan at a monitoring counts too)
    replans: int  # monitorings in the period that made a new plan
    meetings: int  # 支援調整会議 held in the period
    monitorings: int  # monitorings held in the period
    ended: int  # support ended (終結) in the period
    in_support: int  # cases with a plan running at the end of the period


@dataclass(frozen=True)
class Desk:
    """One team's share of the figures, with the routing that says which conversations are
    theirs (content/places.yaml: town -> team, the default team, every team's id)."""

    team: str | None  # None: no team, so nothing
    town_teams: dict[str, str]
    default_team: str
    team_ids: tuple[str, ...]

    def cases(self) -> ColumnElement[bool]:
        return Case.team_id == self.team if self.team else false()

    def conversations(self) -> ColumnElement[bool]:
        """The routing of handoff/routing.route, in SQL on the two answers it reads."""
        if not self.team:
            return false()
        centre = Conversation.answers["centre"].as_string()
        town = Conversation.answers["municipality"].as_string()
        own_towns = [t for t, team in self.town_teams.items() if team == self.team]
        no_choice = or_(centre.is_(None), centre.not_in(list(self.team_ids)))
        unknown_town = or_(town.is_(None), town.not_in(list(self.town_teams)))
        by_town = town.in_(own_towns) if own_towns else false()
        default = unknown_town if self.team == self.default_team else false()
        return or_(centre == self.team, and_(no_choice, or_(by_town, default)))

    def followups(self) -> ColumnElement[bool]:
        return or_(and_(FollowUp.case_id.is_not(None), self.cases()),
                   and_(FollowUp.case_id.is_(None), self.conversations()))


def case_place(municipality: str | None,
                known: Collection[str]) -> list[ColumnElement[bool]]:
    if municipality is None:
        return []
    if municipality == NOT_GIVEN:
        return [or_(Case.municipality.is_(None), Case.municipality.not_in(list(known)))]
    return [Case.municipality == municipality]


def _conversation_place(municipality: str | None,
                        known: Collection[str]) -> list[ColumnElement[bool]]:
    # JSON path extraction, portable (JSON_EXTRACT on SQLite, ->> on PostgreSQL): the rest of
    # the answers, with the resident's notes, never leaves the database.
    answered = Conversation.answers["municipality"].as_string()
    if municipality is None:
        return []
    if municipality == NOT_GIVEN:
        return [or_(answered.is_(None), answered.not_in(list(known)))]
    return [answered == municipality]


def _first_contact_minutes(session: Session, cohort: list[Any],
                           case_filter: list[ColumnElement[bool]]) -> dict[int, float]:
    """Case id -> minutes from the person's first contact to a human, for the cohort's cases
    that are their person's first claimed case."""
    in_cohort = {row.id for row in cohort}
    created = {row.conversation_id: row.created_at for row in cohort}
    # Every claimed case of these people, earlier periods included: only a person's first
    # claim measures "first contact to a human"; a returning person is not counted again.
    first: dict[int, tuple[datetime, int]] = {}
    for case_id, conversation_id, claimed_at in session.execute(
            select(Case.id, Case.conversation_id, Case.claimed_at).where(
                Case.claimed_at.is_not(None),
                Case.conversation_id.in_(select(Case.conversation_id).where(*case_filter)))):
        if claimed_at is not None and (conversation_id not in first
                                       or (claimed_at, case_id) < first[conversation_id]):
            first[conversation_id] = (claimed_at, case_id)
    return {case_id: (claimed_at - created[conversation_id]).total_seconds() / 60
            for conversation_id, (claimed_at, case_id) in first.items()
            if case_id in in_cohort}


def _time_to_human(rows: Sequence[Any], reached: Mapping[int, float]) -> TimeToHuman:
    minutes = [reached[row.id] for row in rows if row.id in reached]
    return TimeToHuman(reached=len(minutes),
                       not_reached=sum(1 for row in rows if row.claimed_at is None),
                       median_minutes=median(minutes), p90_minutes=percentile(minutes, 0.9))


def _time_to_human_by(cohort: list[Any], reached: Mapping[int, float], start: date, end: date,
                      known: Collection[str]) -> tuple[list[tuple[date, TimeToHuman]],
                                                       list[tuple[str, TimeToHuman]]]:
    by_day: dict[date, list[Any]] = defaultdict(list)
    by_town: dict[str, list[Any]] = defaultdict(list)
    for row in cohort:
        by_day[japan_day(row.opened_at)].append(row)
        by_town[row.municipality if row.municipality in known else NOT_GIVEN].append(row)
    towns = [t for t in (*known, NOT_GIVEN) if t in by_town]
    return ([(day, _time_to_human(by_day[day], reached)) for day in days_between(start, end)],
            [(town, _time_to_human(by_town[town], reached)) for town in towns])


def _within_sla(cohort: list[Any], rule: SlaRule | None, now: datetime) -> list[SlaShare]:
    """Each case's wait in the queue (opening to claim), counted as the rule counts it."""
    if rule is None:
        return []
    tally: dict[str, Counter[str]] = {p: Counter() for p in rule.minutes}
    for row in cohort:
        limit = rule.minutes.get(str(row.priority))
        if limit is None:
            continue
        ended = row.claimed_at or min(
            (m for m in (row.closed_at, row.gave_up_at) if m is not None), default=now)
        waited = rule.staffed(row.team_id, row.opened_at, ended)
        tally[str(row.priority)]["missed" if waited > limit else
                                 "within" if row.claimed_at is not None else "pending"] += 1
    return [SlaShare(priority=p, minutes=rule.minutes[p], within=t["within"],
                     missed=t["missed"], pending=t["pending"]) for p, t in tally.items()]


def _life_areas(cohort: list[Any]) -> LifeAreas:
    latest: dict[int, Any] = {}
    for row in cohort:  # the person's latest case carries their latest answers
        if row.conversation_id not in latest or row.id > latest[row.conversation_id].id:
            latest[row.conversation_id] = row
    chosen = [sorted({str(a) for a in (row.life_areas or [])}) for row in latest.values()]
    sizes = Counter(len(areas) for areas in chosen)
    answered = [len(areas) for areas in chosen if areas]
    return LifeAreas(
        persons=len(chosen),
        per_person=[(n, sizes[n]) for n in range(max(sizes, default=-1) + 1)],
        mean_answered=sum(answered) / len(answered) if answered else None,
        counts=most_first(Counter(a for areas in chosen for a in areas)))


def _consent(session: Session, conversation_filter: list[ColumnElement[bool]]) -> tuple[
        ConsentFigures, list[tuple[str, int]]]:
    rows = list(session.execute(select(
        Conversation.id, Conversation.consent, Conversation.consent_withdrawn_at,
        Conversation.risk_level).where(*conversation_filter)))
    bases: dict[int, set[str]] = defaultdict(set)
    for conversation_id, basis in session.execute(
            select(Case.conversation_id, Case.basis).where(Case.conversation_id.in_(
                select(Conversation.id).where(*conversation_filter)))):
        bases[conversation_id].add(basis)

    def granted(consent: dict[str, Any] | None, scope: str) -> bool:
        return bool(((consent or {}).get(scope) or {}).get("granted"))

    figures = ConsentFigures(
        conversations=len(rows),
        asked=sum(1 for r in rows if "counsellor" in (r.consent or {})),
        # Agreed at some time: granted now, or handed to a counsellor on their consent before
        # withdrawing it (else a withdrawal after the handoff made "agreed" fewer than
        # "handed off on consent" on the same page).
        agreed=sum(1 for r in rows
                   if granted(r.consent, "counsellor") or "consent" in bases[r.id]),
        handed_off=sum(1 for r in rows if "consent" in bases[r.id]),
        shared=sum(1 for r in rows if granted(r.consent, "share")),
        withdrawn=sum(1 for r in rows if r.consent_withdrawn_at is not None),
        life_safety=sum(1 for r in rows if "life_safety" in bases[r.id]))
    risk = count_in_order(Counter(r.risk_level or "none" for r in rows), RISK_LEVELS)
    return figures, risk


def _followups(session: Session, start: datetime, end: datetime, now: datetime,
               municipality: str | None, known: Collection[str],
               desk: Desk | None = None) -> list[FollowUpCount]:
    """Per kind. The place of a follow-up is its case's, or for one without a case (a reminder
    during the intake) the municipality the resident answered."""
    place: list[ColumnElement[bool]] = [desk.followups()] if desk is not None else []
    if municipality is not None:
        place += [or_(and_(FollowUp.case_id.is_not(None), *case_place(municipality, known)),
                      and_(FollowUp.case_id.is_(None),
                           *_conversation_place(municipality, known)))]

    def sent_in_period(*columns: Any) -> Select[Any]:
        return (select(*columns)
                .join(Conversation, Conversation.id == FollowUp.conversation_id)
                .outerjoin(Case, Case.id == FollowUp.case_id)
                .where(FollowUp.state == FollowUpState.SENT, FollowUp.sent_at >= start,
                       FollowUp.sent_at < end, *place))

    counted = list(session.execute(
        sent_in_period(FollowUp.id, FollowUp.conversation_id, FollowUp.kind)))
    if not counted:
        return []
    people = sent_in_period(FollowUp.conversation_id).scalar_subquery()
    # A later follow-up (even after the period) takes over the answer, so load those too.
    sent_by: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for followup_id, conversation_id, sent_at in session.execute(
            select(FollowUp.id, FollowUp.conversation_id, FollowUp.sent_at).where(
                FollowUp.state == FollowUpState.SENT, FollowUp.conversation_id.in_(people),
                FollowUp.sent_at >= start, FollowUp.sent_at < end + ANSWER_WINDOW)):
        if sent_at is not None:
            sent_by[conversation_id].append((sent_at, followup_id))
    written: dict[int, list[datetime]] = defaultdict(list)
    for conversation_id, received_at in session.execute(
            select(Conversation.id, InboxEvent.received_at)
            .join(InboxEvent, InboxEvent.line_user_id == Conversation.line_user_id)
            .where(Conversation.id.in_(people), InboxEvent.event_type.in_(RESIDENT_EVENTS),
                   InboxEvent.received_at > start,
                   InboxEvent.received_at <= end + ANSWER_WINDOW)):
        written[conversation_id].append(received_at)
    verdicts: dict[int, str] = {}
    for conversation_id, sent in sent_by.items():
        sent.sort()
        flags = answered_flags([s for s, _ in sent], written[conversation_id])
        for (sent_at, followup_id), flag in zip(sent, flags, strict=True):
            verdicts[followup_id] = "answered" if flag else (
                "pending" if now - sent_at < ANSWER_WINDOW else "unanswered")
    tallies: dict[str, Counter[str]] = defaultdict(Counter)
    for row in counted:
        tallies[row.kind][verdicts[row.id]] += 1
    kinds = [k for k in FOLLOWUP_KINDS if k in tallies] + sorted(
        k for k in tallies if k not in FOLLOWUP_KINDS)
    return [_followup_count(k, tallies[k]) for k in kinds]


def _followup_count(kind: str, tally: Counter[str]) -> FollowUpCount:
    return FollowUpCount(kind=kind, sent=tally.total(), answered=tally["answered"],
                         unanswered=tally["unanswered"], pending=tally["pending"])


def _support(session: Session, start: date, end: date, after: datetime,
             place: list[ColumnElement[bool]]) -> SupportFigures:
    cases_here = select(Case.id).where(*place)
    plans = list(session.execute(select(SupportPlan.agreed_on, SupportPlan.ended_at).where(
        SupportPlan.case_id.in_(cases_here), SupportPlan.agreed_on <= end)))
    looks = Counter(session.scalars(select(MonitoringRecord.decision).where(
        MonitoringRecord.case_id.in_(cases_here), MonitoringRecord.held_on >= start,
        MonitoringRecord.held_on <= end)))
    meetings = session.scalar(select(func.count(CaseMeeting.id)).where(
        CaseMeeting.case_id.in_(cases_here), CaseMeeting.held_on >= start,
        CaseMeeting.held_on <= end)) or 0
    return SupportFigures(
        plans=sum(1 for p in plans if p.agreed_on >= start),
        replans=looks[MonitoringDecision.REPLAN], meetings=int(meetings),
        monitorings=looks.total(), ended=looks[MonitoringDecision.CLOSE],
        in_support=sum(1 for p in plans if p.ended_at is None or p.ended_at >= after))


def _sources(cohort: list[Any], known: Sequence[str]) -> list[tuple[str, int]]:
    """Cases by how the resident came: every known source (zeros too), then ids content no
    longer has, then the cases with none."""
    counted = Counter(row.source or NO_SOURCE for row in cohort)
    counted.setdefault(NO_SOURCE, 0)
    ordered = count_in_order(Counter({k: n for k, n in counted.items() if k != NO_SOURCE}),
                             [k for k in known if k != NO_SOURCE])
    return [*ordered, (NO_SOURCE, counted[NO_SOURCE])]


def compute(*, session: Session, start: date, end: date, municipality: str | None,
            municipalities: Collection[str], now: datetime, desk: Desk | None = None,
            sla: SlaRule | None = None, sources: Sequence[str] = ()) -> Figures:
    """The figures for one municipality id (NOT_GIVEN for none, None for all) and the Japan
    dates start..end (inclusive), of one desk when `desk` is given. `municipalities` are the
    known ids (content/places.yaml); `now` decides which follow-ups may still be answered and
    how long an unclaimed case has waited; `sla` gives the share reached within its time;
    `sources` are the known 相談経路 ids, in the order to show them."""
    if end < start:
        raise ValueError("the period ends before it starts")
    first, after = period_bounds(start, end)
    mine = [desk.cases()] if desk is not None else []
    case_filter = [Case.opened_at >= first, Case.opened_at < after,
                   *case_place(municipality, municipalities), *mine]
    # Where a case was referred is read only for referrals: other outcomes may carry words.
    referred_to = case((Case.outcome == Outcome.REFERRED, Case.outcome_detail), else_=None)
    cohort = list(session.execute(
        select(Case.id, Case.conversation_id, Case.status, Case.life_areas, Case.risk_level,
               Case.opened_at, Case.claimed_at, Case.outcome, referred_to.label("referred_to"),
               Case.municipality, Case.team_id, Case.priority, Case.closed_at, Case.gave_up_at,
               Case.source, Conversation.created_at)
        .join(Conversation, Conversation.id == Case.conversation_id)
        .where(*case_filter)))
    per_day = daily_counts((row.opened_at for row in cohort), start, end)
    closed = [row for row in cohort if row.status == CaseStatus.CLOSED]
    referrals = Counter(normalise_destination(row.referred_to or "") for row in closed
                        if row.outcome == Outcome.REFERRED)
    consent, conversation_risk = _consent(session, [
        Conversation.created_at >= first, Conversation.created_at < after,
        *_conversation_place(municipality, municipalities),
        *([desk.conversations()] if desk is not None else [])])
    by_kind = _followups(session, first, after, now, municipality, municipalities, desk)
    reached = _first_contact_minutes(session, cohort, case_filter)
    per_day_time, by_town_time = _time_to_human_by(cohort, reached, start, end, municipalities)
    return Figures(
        start=start, end=end, municipality=municipality, computed_at=now,
        cases=len(cohort), per_day=per_day, per_week=weekly_counts(per_day),
        time_to_human=_time_to_human(cohort, reached),
        time_to_human_per_day=per_day_time, time_to_human_by_town=by_town_time,
        within_sla=_within_sla(cohort, sla, now),
        life_areas=_life_areas(cohort),
        case_risk=count_in_order(Counter(row.risk_level or "none" for row in cohort),
                                 RISK_LEVELS),
        conversation_risk=conversation_risk,
        consent=consent,
        status=count_in_order(Counter(str(row.status) for row in cohort), CASE_STATUSES),
        outcomes=count_in_order(Counter(str(row.outcome) for row in closed if row.outcome),
                                OUTCOMES),
        referrals=most_first(referrals),
        sources=_sources(cohort, sources),
        followups=_followup_count("all", sum(
            (Counter({"answered": c.answered, "unanswered": c.unanswered, "pending": c.pending})
             for c in by_kind), Counter())),
        followups_by_kind=by_kind,
        support=_support(session, start, end, after,
                         [*case_place(municipality, municipalities), *mine]))
