"""Outcome figures from a known data set: exact counts, median/p90, filters, Japan-time buckets."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from bot.db.engine import make_engine, make_session_factory
from bot.db.models import Conversation, InboxEvent
from bot.flows.routing import TOKYO, route
from bot.releases.load import load_content
from bot.settings import DEFAULT_CONTENT_DIR
from handoff.desk_status import staffed_minutes
from handoff.models import (
    Case,
    CaseMeeting,
    CaseStatus,
    Counsellor,
    FollowUp,
    FollowUpState,
    MonitoringRecord,
    SupportPlan,
)
from handoff.outcomes import (
    NO_SOURCE,
    NOT_GIVEN,
    Desk,
    Figures,
    FollowUpCount,
    SlaRule,
    answered_flags,
    compute,
    daily_counts,
    japan_day,
    median,
    percentile,
    period_bounds,
    rate,
    week_of,
    weekly_counts,
)

TOWNS = ["midori", "kawabe", "aoba", "yamane", "umi"]
NOW = datetime(2024, 6, 19, 0, 0, tzinfo=UTC)
START, END = date(2024, 6, 3), date(2024, 6, 16)  # Monday to Sunday, two weeks
SECRET_WORDS = "ひみつのことば"


def at(day: int, hour: int = 0, minute: int = 0, month: int = 6) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=UTC)


# ---------------------------------------------------------------------- pure helpers


def test_percentile_interpolates_between_ranks_like_excel() -> None:
    assert percentile([], 0.9) is None and median([]) is None
    assert median([7]) == 7 and percentile([7], 0.9) == 7
    assert median([3, 1, 2]) == 2
    assert median([40, 40, 60, 60, 120, 320]) == 60
    assert percentile([320, 40, 60, 120, 40, 60], 0.9) == 220  # 120 + (320 - 120) * 0.5
    assert percentile(range(1, 11), 0.9) == pytest.approx(9.1)  # PERCENTILE.INC(1..10, 0.9)
    assert percentile([1, 2], 0) == 1 and percentile([1, 2], 1) == 2
    with pytest.raises(ValueError):
        percentile([1], 1.5)


def test_rate_is_none_without_a_denominator() -> None:
    assert rate(0, 0) is None and rate(1, 4) == 0.25


def test_days_and_weeks_are_japanese() -> None:
    # 15:30 UTC on Sunday 9 June is 00:30 on Monday 10 June in Japan: a new day and a new week.
    assert japan_day(at(9, 15, 30)) == date(2024, 6, 10)
    assert japan_day(at(9, 14, 59)) == date(2024, 6, 9)
    assert week_of(date(2024, 6, 16)) == date(2024, 6, 10)
    assert week_of(date(2024, 6, 10)) == date(2024, 6, 10)
    assert period_bounds(START, END) == (at(2, 15), at(16, 15))
    daily = daily_counts([at(9, 15, 30), at(9, 14, 59), at(3)], date(2024, 6, 8), date(2024, 6, 11))
    assert daily == [(date(2024, 6, 8), 0), (date(2024, 6, 9), 1), (date(2024, 6, 10), 1),
                     (date(2024, 6, 11), 0)]
    assert weekly_counts(daily) == [(date(2024, 6, 3), 1), (date(2024, 6, 10), 1)]


def test_a_message_answers_the_latest_follow_up_within_the_window() -> None:
    window = timedelta(days=7)
    assert answered_flags([at(1), at(2)], [at(3)], window) == [False, True]
    assert answered_flags([at(1)], [at(8, 0, 1)], window) == [False]  # more than 7 days
    assert answered_flags([at(1)], [at(8)], window) == [True]  # exactly 7 days still counts
    assert answered_flags([at(5)], [at(4), at(5)], window) == [False]  # before or with it
    assert answered_flags([at(1), at(2)], [at(1, 1), at(2, 1)], window) == [True, True]
    assert answered_flags([], [at(1)], window) == []


# ---------------------------------------------------------------------- the data set


@pytest.fixture
def sessions(fresh_database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(fresh_database_url)
    yield make_session_factory(engine)
    engine.dispose()


class Seed:
    def __init__(self, s: Session) -> None:
        self.s = s
        self.n = 0

    def conversation(self, created: datetime, *, town: str | None = "midori",
                     consent: dict[str, bool] | None = None, withdrawn: datetime | None = None,
                     risk: str = "none") -> Conversation:
        self.n += 1
        answers: dict[str, Any] = {"notes": [SECRET_WORDS], "life_areas": ["money"]}
        if town is not None:
            answers["municipality"] = town
        conv = Conversation(
            line_user_id=f"U{self.n:032d}", flow_id="intake", flow_version="v", state="handoff",
            answers=answers, risk_level=risk, created_at=created, consent_withdrawn_at=withdrawn,
            consent={scope: {"granted": granted, "at": created.isoformat()}
                     for scope, granted in (consent or {}).items()})
        self.s.add(conv)
        self.s.flush()
        return conv

    def case(self, conv: Conversation, opened: datetime, *, town: str | None = "midori",
             claimed: datetime | None = None, status: CaseStatus = CaseStatus.CLOSED,
             outcome: str | None = None, detail: str | None = None,
             areas: list[str] | None = None, risk: str = "none",
             basis: str = "consent") -> Case:
        c = Case(conversation_id=conv.id, team_id="midori", municipality=town, status=status,
                 opened_at=opened, claimed_at=claimed, outcome=outcome, outcome_detail=detail,
                 life_areas=areas or [], risk_level=risk, basis=basis,
                 answers={"notes": [SECRET_WORDS]})
        self.s.add(c)
        self.s.flush()
        return c

    def followup(self, conv: Conversation, kind: str, sent: datetime | None,
                 case: Case | None = None) -> FollowUp:
        row = FollowUp(conversation_id=conv.id, case_id=case.id if case else None, kind=kind,
                       text=SECRET_WORDS, due_at=sent or NOW + timedelta(days=1),
                       state=FollowUpState.SENT if sent else FollowUpState.SCHEDULED,
                       sent_at=sent)
        self.s.add(row)
        self.s.flush()
        return row

    def writes(self, conv: Conversation, when: datetime, event_type: str = "message") -> None:
        self.n += 1
        self.s.add(InboxEvent(
            webhook_event_id=f"E{self.n}", source_key=f"user:{conv.line_user_id}",
            line_user_id=conv.line_user_id, event_type=event_type,
            event_timestamp=int(when.timestamp() * 1000), status="done", received_at=when,
            payload={"type": event_type, "message": {"type": "text", "text": SECRET_WORDS}}))


YES = {"counsellor": True}


@pytest.fixture
def seeded(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """All times UTC; Japan is nine hours ahead. The period is 3–16 June 2024 in Japan."""
    with sessions() as s, s.begin():
        d = Seed(s)
        c1 = d.conversation(at(3), consent={"counsellor": True, "share": True})
        a = d.case(c1, at(3, 0, 10), claimed=at(3, 0, 40), outcome="plan",
                   areas=["money", "debt", "work"])
        c2 = d.conversation(at(4, 1), consent=YES, risk="high")
        b = d.case(c2, at(4, 1, 5), claimed=at(4, 2), outcome="referred",
                   detail="ハローワークみどり", areas=["work"], risk="high")
        d.case(c2, at(14, 2), status=CaseStatus.OPEN, areas=["work", "housing"])
        c3 = d.conversation(at(5, 2), consent={"counsellor": True, "share": True})
        c = d.case(c3, at(5, 2, 30), claimed=at(5, 4), outcome="referred", detail="法テラス",
                   areas=["debt", "money"])
        # First contact at 00:00 on Monday 10 June in Japan, which is still Sunday in UTC.
        c4 = d.conversation(at(9, 15), consent={}, risk="imminent")
        d.case(c4, at(9, 15, 30), claimed=at(9, 15, 40), status=CaseStatus.CLAIMED,
               risk="imminent", basis="life_safety")
        c5 = d.conversation(at(11), town="kawabe", consent=YES)
        e = d.case(c5, at(11, 0, 20), town="kawabe", claimed=at(11, 5, 20), outcome="info",
                   areas=["housing"])
        c6 = d.conversation(at(12), consent=YES, risk="concern")
        f = d.case(c6, at(12, 3), status=CaseStatus.OPEN, risk="concern",
                   areas=["money", "health", "family", "isolation"])
        # Midnight at the start of 3 June in Japan; the resident would not name a town.
        c7 = d.conversation(at(2, 15), town="no_answer", consent=YES)
        d.case(c7, at(2, 15), town=None, claimed=at(2, 16), outcome="referred",
               detail=" ハローワークみどり\u3000", areas=["money"])
        # Came in May and reached a person then; the June case is not a first contact.
        c8 = d.conversation(at(20, month=5), consent=YES)
        d.case(c8, at(20, month=5), claimed=at(20, 1, month=5), outcome="plan")
        d.case(c8, at(13), claimed=at(13, 0, 30), outcome="returned", areas=["work", "money"])
        # 23:59 on 2 June in Japan: just before the period.
        c9 = d.conversation(at(2, 14), consent=YES)
        d.case(c9, at(2, 14, 59), status=CaseStatus.OPEN)
        # First contact 23:00 on 16 June in Japan (in), its case at 00:00 on 17 June (out).
        c10 = d.conversation(at(16, 14), consent=YES)
        d.case(c10, at(16, 15), status=CaseStatus.OPEN)
        c11 = d.conversation(at(5))  # never asked for consent
        c12 = d.conversation(at(6), consent={"counsellor": False}, risk="high")
        d.conversation(at(7), consent={"counsellor": False, "share": False}, withdrawn=at(8))
        d.conversation(at(8), consent=YES)  # agreed, did not reach the handoff

        d.followup(c1, "after_close", at(5), a)
        d.writes(c1, at(6), "postback")  # a tapped button answers too
        d.followup(c2, "after_close", at(6), b)
        d.writes(c2, at(7), "follow")  # not the resident writing
        d.followup(c5, "not_picked_up", at(11, 1), e)
        d.writes(c5, at(20))  # too late: more than seven days after
        d.followup(c11, "intake_stalled", at(15))  # no answer yet, the window is still open
        d.followup(c12, "intake_stalled", at(1))  # sent before the period
        d.writes(c12, at(1, 2))
        d.followup(c6, "manual", None, f)  # scheduled, not sent
        d.followup(c3, "after_close", at(7), c)
        d.followup(c3, "manual", at(8), c)
        d.writes(c3, at(9))  # answers the latest one only
    return sessions


def figures(sessions: sessionmaker[Session], *, start: date = START, end: date = END,
            town: str | None = None) -> Figures:
    with sessions() as s:
        return compute(session=s, start=start, end=end, municipality=town,
                       municipalities=TOWNS, now=NOW)


def test_consultations_per_day_and_week_in_japan_time(seeded: sessionmaker[Session]) -> None:
    fig = figures(seeded)
    assert fig.cases == 9
    per_day = dict(fig.per_day)
    assert len(per_day) == 14 and min(per_day) == START and max(per_day) == END
    assert {d.day: n for d, n in per_day.items() if n} == {
        3: 2, 4: 1, 5: 1, 10: 1, 11: 1, 12: 1, 13: 1, 14: 1}
    assert fig.per_week == [(date(2024, 6, 3), 4), (date(2024, 6, 10), 5)]


def test_period_edges_are_midnight_in_japan(seeded: sessionmaker[Session]) -> None:
    assert figures(seeded, start=date(2024, 6, 2), end=date(2024, 6, 2)).cases == 1
    monday = figures(seeded, start=date(2024, 6, 10), end=date(2024, 6, 10))
    assert monday.cases == 1 and monday.per_week == [(date(2024, 6, 10), 1)]
    assert figures(seeded, start=date(2024, 6, 17), end=date(2024, 6, 17)).cases == 1
    with pytest.raises(ValueError):
        figures(seeded, start=END, end=START)


def test_time_from_first_contact_to_a_person(seeded: sessionmaker[Session]) -> None:
    t = figures(seeded).time_to_human
    # 40, 60, 120, 40, 320 and 60 minutes; the May resident's June case is not a first contact.
    assert (t.reached, t.not_reached) == (6, 2)
    assert t.median_minutes == pytest.approx(60)
    assert t.p90_minutes == pytest.approx(220)


def test_life_areas_per_person(seeded: sessionmaker[Session]) -> None:
    areas = figures(seeded).life_areas
    assert areas.persons == 8  # nine cases, two of them one person's: the later one counts
    assert areas.per_person == [(0, 1), (1, 2), (2, 3), (3, 1), (4, 1)]
    assert areas.mean_answered == pytest.approx(15 / 7)
    assert areas.counts == [("money", 5), ("work", 3), ("debt", 2), ("housing", 2),
                            ("family", 1), ("health", 1), ("isolation", 1)]


def test_risk_status_outcomes_and_referrals(seeded: sessionmaker[Session]) -> None:
    fig = figures(seeded)
    assert fig.case_risk == [("none", 6), ("concern", 1), ("high", 1), ("imminent", 1)]
    assert fig.conversation_risk == [("none", 8), ("concern", 1), ("high", 2), ("imminent", 1)]
    assert fig.status == [("open", 2), ("claimed", 1), ("closed", 6)]
    assert fig.outcomes == [("plan", 1), ("supported", 0), ("info", 1), ("referred", 3),
                            ("returned", 1), ("withdrawn", 0)]
    assert fig.referrals == [("ハローワークみどり", 2), ("法テラス", 1)]


def test_consent_among_conversations_begun_in_the_period(
        seeded: sessionmaker[Session]) -> None:
    c = figures(seeded).consent
    assert (c.conversations, c.asked, c.agreed, c.handed_off, c.shared, c.withdrawn,
            c.life_safety) == (12, 10, 8, 7, 2, 1, 1)
    assert (c.handoff_rate, c.agree_rate, c.share_rate) == (0.7, 0.8, 0.25)


def test_a_withdrawal_after_the_handoff_keeps_the_consent_figures_consistent(
        sessions: sessionmaker[Session]) -> None:
    # Five residents agree and reach a counsellor in July; one takes consent back later. The
    # page once read "agreed 4 (80 %)" beside "handed off on consent 5 (100 %)".
    with sessions() as s, s.begin():
        d = Seed(s)
        for day in range(1, 6):
            withdrew = day == 5  # withdrawing sets both scopes to not granted
            conv = d.conversation(at(day, month=7),
                                  consent={"counsellor": False, "share": False} if withdrew
                                  else YES, withdrawn=at(20, month=7) if withdrew else None)
            d.case(conv, at(day, 1, month=7), claimed=at(day, 2, month=7), outcome="info")
    c = figures(sessions, start=date(2024, 7, 1), end=date(2024, 7, 31)).consent
    assert (c.conversations, c.asked, c.agreed, c.handed_off, c.withdrawn) == (5, 5, 5, 5, 1)
    assert (c.agree_rate, c.handoff_rate) == (1.0, 1.0)
    assert c.handed_off <= c.agreed <= c.asked


def test_support_after_the_first_reply_is_counted_by_its_dates(
        sessions: sessionmaker[Session]) -> None:
    # August 2024 in Japan: plans, a meeting and monitorings, in and around the period, in
    # two towns.
    with sessions() as s, s.begin():
        d = Seed(s)
        staff = Counsellor(username="plan-sato", display_name="佐藤", password_hash="x")
        s.add(staff)
        s.flush()

        def plan(case: Case, agreed: date, ended: datetime | None = None,
                 reason: str | None = None) -> SupportPlan:
            p = SupportPlan(case_id=case.id, counsellor_id=staff.id, goals="g", agreed_on=agreed,
                            monitor_months=3, next_monitoring_on=agreed, ended_at=ended,
                            end_reason=reason)
            s.add(p)
            s.flush()
            return p

        def look(case: Case, p: SupportPlan, held: date, decision: str) -> None:
            s.add(MonitoringRecord(case_id=case.id, plan_id=p.id, counsellor_id=staff.id,
                                   held_on=held, summary="s", decision=decision))

        one = d.case(d.conversation(at(1, month=7), consent=YES), at(1, 1, month=7),
                     claimed=at(1, 2, month=7), status=CaseStatus.CLAIMED)
        first = plan(one, date(2024, 7, 20), ended=at(10, month=8), reason="replanned")
        look(one, first, date(2024, 8, 10), "replan")
        plan(one, date(2024, 8, 10))  # still running at the end of August
        s.add(CaseMeeting(case_id=one.id, counsellor_id=staff.id, held_on=date(2024, 8, 12),
                          roles=["counsellor"], decision="d"))
        two = d.case(d.conversation(at(2, month=8), consent=YES), at(2, 1, month=8),
                     claimed=at(2, 2, month=8), status=CaseStatus.CLOSED, outcome="supported")
        ended = plan(two, date(2024, 8, 3), ended=at(25, month=8), reason="closed")
        look(two, ended, date(2024, 8, 25), "close")
        other = d.case(d.conversation(at(3, month=8), town="kawabe", consent=YES),
                       at(3, 1, month=8), town="kawabe", claimed=at(3, 2, month=8),
                       status=CaseStatus.CLAIMED)
        p = plan(other, date(2024, 8, 5))
        look(other, p, date(2024, 9, 5), "continue")  # after the period
    august = figures(sessions, start=date(2024, 8, 1), end=date(2024, 8, 31)).support
    assert (august.plans, august.replans, august.meetings, august.monitorings, august.ended,
            august.in_support) == (3, 1, 1, 2, 1, 2)
    midori = figures(sessions, start=date(2024, 8, 1), end=date(2024, 8, 31),
                     town="midori").support
    assert (midori.plans, midori.in_support) == (2, 1)
    july = figures(sessions, start=date(2024, 7, 1), end=date(2024, 7, 31)).support
    assert (july.plans, july.monitorings, july.in_support) == (1, 0, 1)


def test_follow_up_answers(seeded: sessionmaker[Session]) -> None:
    fig = figures(seeded)
    assert fig.followups == FollowUpCount("all", sent=6, answered=2, unanswered=3, pending=1)
    assert fig.followups.answer_rate == 0.4
    assert fig.followups_by_kind == [
        FollowUpCount("intake_stalled", sent=1, answered=0, unanswered=0, pending=1),
        FollowUpCount("not_picked_up", sent=1, answered=0, unanswered=1, pending=0),
        FollowUpCount("after_close", sent=3, answered=1, unanswered=2, pending=0),
        FollowUpCount("manual", sent=1, answered=1, unanswered=0, pending=0),
    ]


def test_filter_by_municipality(seeded: sessionmaker[Session]) -> None:
    midori = figures(seeded, town="midori")
    assert midori.cases == 7
    assert {d.day: n for d, n in midori.per_day if n} == {
        3: 1, 4: 1, 5: 1, 10: 1, 12: 1, 13: 1, 14: 1}
    t = midori.time_to_human
    assert (t.reached, t.not_reached) == (4, 2)  # 40, 60, 120, 40 minutes
    assert t.median_minutes == pytest.approx(50)
    assert t.p90_minutes == pytest.approx(102)
    assert midori.referrals == [("ハローワークみどり", 1), ("法テラス", 1)]
    assert midori.consent.conversations == 10
    assert midori.followups == FollowUpCount("all", sent=5, answered=2, unanswered=2,
                                             pending=1)

    kawabe = figures(seeded, town="kawabe")
    assert kawabe.cases == 1 and dict(kawabe.outcomes)["info"] == 1
    assert kawabe.consent.conversations == 1
    assert kawabe.followups == FollowUpCount("all", sent=1, answered=0, unanswered=1,
                                             pending=0)

    unnamed = figures(seeded, town=NOT_GIVEN)
    assert unnamed.cases == 1 and unnamed.per_day[0] == (START, 1)
    assert unnamed.consent.conversations == 1 and unnamed.followups.sent == 0

    nobody = figures(seeded, town="umi")
    assert nobody.cases == 0 and nobody.time_to_human.median_minutes is None
    assert nobody.life_areas.per_person == [] and nobody.life_areas.mean_answered is None
    assert nobody.consent.handoff_rate is None and nobody.followups.answer_rate is None


def test_no_words_are_read(seeded: sessionmaker[Session]) -> None:
    """Only ids, times and categories leave the database: never message text, the intake's
    notes, follow-up wording or pseudonyms."""
    statements: list[str] = []
    engine = seeded.kw["bind"]
    assert isinstance(engine, Engine)

    def keep(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", keep)
    try:
        for town in (None, "midori", NOT_GIVEN):
            figures(seeded, town=town)
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert statements
    for statement in statements:
        # The municipality is picked out of the answers by a JSON path, in the database.
        plain = re.sub(r"JSON_EXTRACT\(conversations\.answers, \?\)|"
                       r"conversations\.answers ->> %\(answers_\d+\)s", "", statement)
        for column in ("answers", "payload", "text", "pseudonym", "case_messages",
                       "case_notes", "risk_assessments"):
            assert column not in plain, statement


PLACES = load_content(DEFAULT_CONTENT_DIR).places


def desk(team: str | None) -> Desk:
    return Desk(team=team, town_teams={m.id: m.team for m in PLACES.municipalities},
                default_team=PLACES.default_team, team_ids=tuple(t.id for t in PLACES.teams))


def test_each_desk_counts_its_own_and_the_desks_add_up(seeded: sessionmaker[Session]) -> None:
    """A supervisor sees their desk's share: cases by the team that has them, conversations
    by the desk the intake's routing gives them, so each is counted by exactly one desk."""
    with seeded() as s, s.begin():
        d = Seed(s)
        d.n = 1000  # ids after the fixture's
        # Lives in みどり市 but chose the prefecture's desk, so that neighbours do not read them.
        away = d.conversation(at(4), town="midori", consent=YES)
        d.case(away, at(4, 1), status=CaseStatus.OPEN).team_id = "pref"
        away.answers = {**away.answers, "centre": "pref"}
        d.conversation(at(5), town="umi", consent=YES)  # a village: the prefecture's desk
        d.conversation(at(6), town=None)  # named no town: the default desk
        d.conversation(at(6, 1), town="kawabe").answers = {"municipality": "kawabe",
                                                          "centre": "own"}
    everything = figures(seeded)
    first, after = period_bounds(START, END)
    with seeded() as s:
        shares = {team.id: compute(session=s, start=START, end=END, municipality=None,
                                   municipalities=TOWNS, now=NOW, desk=desk(team.id))
                  for team in PLACES.teams}
        nobody = compute(session=s, start=START, end=END, municipality=None,
                         municipalities=TOWNS, now=NOW, desk=desk(None))
        # The routing the intake itself uses (handoff/routing.route) is the oracle.
        routed = Counter(route(PLACES, c.answers).team.id for c in s.scalars(
            select(Conversation).where(Conversation.created_at >= first,
                                       Conversation.created_at < after)))
    assert {team: f.consent.conversations for team, f in shares.items()} == {
        t.id: routed[t.id] for t in PLACES.teams}
    assert routed["pref"] >= 3 and routed["kawabe"] >= 1
    assert sum(f.cases for f in shares.values()) == everything.cases
    assert shares["pref"].cases == 1 and shares["kawabe"].cases == 0
    assert sum(f.followups.sent for f in shares.values()) == everything.followups.sent
    assert nobody.cases == 0 and nobody.consent.conversations == 0


# ---------------------------------------------------------------------- time to a person


def test_time_to_a_person_per_day_and_municipality(seeded: sessionmaker[Session]) -> None:
    """By the Japan day the case opened, and by its town: 40 and 60 minutes on 3 June (one
    of them from a resident who named no town), 60 on the 4th, 120 on the 5th, 40 on the 10th,
    320 on the 11th (かわべ市); the open cases of the 12th and 14th wait."""
    fig = figures(seeded)
    per_day = {d.day: t for d, t in fig.time_to_human_per_day}
    assert len(per_day) == 14
    reached = {day: (t.reached, t.median_minutes, t.p90_minutes, t.not_reached)
               for day, t in per_day.items() if t.reached or t.not_reached}
    assert reached == {3: (2, 50, pytest.approx(58), 0), 4: (1, 60, 60, 0),
                       5: (1, 120, 120, 0), 10: (1, 40, 40, 0), 11: (1, 320, 320, 0),
                       12: (0, None, None, 1), 14: (0, None, None, 1)}
    # The 13th's case was taken, but its resident first reached a person in May.
    assert (per_day[13].reached, per_day[13].not_reached) == (0, 0)
    by_town = {town: (t.reached, t.median_minutes, t.p90_minutes, t.not_reached)
               for town, t in fig.time_to_human_by_town}
    assert by_town == {"midori": (4, 50, pytest.approx(102), 2),
                       "kawabe": (1, 320, 320, 0), NOT_GIVEN: (1, 60, 60, 0)}
    assert [town for town, _ in fig.time_to_human_by_town] == ["midori", "kawabe", NOT_GIVEN]
    # The municipality filter narrows both.
    midori = figures(seeded, town="midori")
    assert [town for town, _ in midori.time_to_human_by_town] == ["midori"]
    assert {d.day for d, t in midori.time_to_human_per_day if t.reached} == {3, 4, 5, 10}
    assert fig.within_sla == []  # no rule given


def test_share_within_the_sla_counts_only_open_hours(sessions: sessionmaker[Session]) -> None:
    """みどり市's desk is open 8:30–17:15 on weekdays (Japan time)."""
    midori = PLACES.team("midori")

    def jst(day: int, hour: int, minute: int = 0) -> datetime:
        return datetime(2024, 6, day, hour, minute, tzinfo=TOKYO)

    with sessions() as s, s.begin():
        d = Seed(s)
        for priority, opened, claimed, closed, gave_up in [
                ("imminent", jst(3, 10), jst(3, 10, 4), None, None),  # within 5
                ("imminent", jst(3, 10), jst(3, 10, 7), None, None),  # 7: missed
                ("imminent", jst(3, 8), jst(3, 8, 34), None, None),  # 4 of them open: within
                ("high", jst(7, 17), jst(10, 8, 50), None, None),  # Friday 15 + Monday 20
                ("high", jst(4, 10), None, None, None),  # still waiting, long past
                ("normal", jst(12, 10), None, jst(12, 10, 30), None),  # withdrawn in time
                ("normal", jst(14, 10), jst(14, 13), None, None),  # 3 hours: within
                ("normal", jst(14, 10), None, None, jst(14, 14, 30))]:  # left after 4½ hours
            row = d.case(d.conversation(opened), opened, claimed=claimed,
                         status=CaseStatus.CLOSED if closed else (
                             CaseStatus.CLAIMED if claimed else CaseStatus.OPEN))
            row.priority, row.closed_at, row.gave_up_at = priority, closed, gave_up
    rule = SlaRule(minutes={"imminent": 5, "high": 30, "normal": 240},
                   staffed=lambda team, a, b: staffed_minutes(PLACES.team(team), a, b))
    assert midori.hours.open == "08:30"
    with sessions() as s:
        fig = compute(session=s, start=START, end=END, municipality=None,
                      municipalities=TOWNS, now=NOW, sla=rule)
    assert [(x.priority, x.minutes, x.within, x.missed, x.pending) for x in fig.within_sla] == [
        ("imminent", 5, 2, 1, 0), ("high", 30, 0, 2, 0), ("normal", 240, 1, 1, 1)]
    assert [x.share for x in fig.within_sla] == [pytest.approx(2 / 3), 0.0, 0.5]


def test_cases_are_counted_by_how_the_resident_came(sessions: sessionmaker[Session]) -> None:
    # 相談経路: cases opened in the period by source, every known source (zeros too), an id
    # content no longer has, then the cases with none; per town like every figure.
    known = ["tax", "water", "minsei", "self"]
    with sessions() as s, s.begin():
        d = Seed(s)
        for day, town, source in [(3, "midori", "tax"), (4, "midori", "tax"),
                                  (5, "kawabe", "tax"), (5, "midori", "minsei"),
                                  (10, "midori", None), (11, "kawabe", None),
                                  (12, None, "retired"),  # a source since removed
                                  (20, "midori", "water"),  # after the period
                                  (1, "midori", "water")]:  # before it (Japan: 1 June)
            row = d.case(d.conversation(at(day), town=town, consent=YES), at(day, 1),
                         town=town)
            row.source = source

    def by_source(town: str | None = None) -> list[tuple[str, int]]:
        with sessions() as s:
            return compute(session=s, start=START, end=END, municipality=town,
                           municipalities=TOWNS, now=NOW, sources=known).sources

    assert by_source() == [("tax", 3), ("water", 0), ("minsei", 1), ("self", 0),
                           ("retired", 1), (NO_SOURCE, 2)]
    assert by_source("midori") == [("tax", 2), ("water", 0), ("minsei", 1), ("self", 0),
                                   (NO_SOURCE, 1)]
    assert by_source("kawabe") == [("tax", 1), ("water", 0), ("minsei", 0), ("self", 0),
                                   (NO_SOURCE, 1)]
    assert by_source(NOT_GIVEN) == [("tax", 0), ("water", 0), ("minsei", 0), ("self", 0),
                                    ("retired", 1), (NO_SOURCE, 0)]
    # Without the content's list: only what was found.
    with sessions() as s:
        assert compute(session=s, start=START, end=END, municipality="kawabe",
                       municipalities=TOWNS, now=NOW).sources == [("tax", 1), (NO_SOURCE, 1)]
