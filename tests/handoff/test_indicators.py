"""The indicators beside the outcome figures, from a known data set on SQLite and PostgreSQL:
who asks and at what age, in or out of the desk's hours, counsellor contact days per case,
referrals by the fixed list of destinations (生活保護 among them), what support achieved, and
the same per town. Exact counts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.db.engine import make_engine, make_session_factory
from bot.db.models import Conversation, OutboxMessage
from bot.flows.routing import TOKYO
from bot.releases.load import load_content
from bot.settings import DEFAULT_CONTENT_DIR
from handoff import indicators
from handoff.console.dashboard import sla_rule
from handoff.models import Case, CaseStatus, Counsellor, Referral, ReferralStatus
from handoff.outcomes import NOT_GIVEN, case_place, period_bounds

TOWNS = ["midori", "kawabe", "aoba", "yamane", "umi"]
START = datetime(2024, 6, 3).date()  # Monday 3 June to Sunday 16 June 2024, in Japan
END = datetime(2024, 6, 16).date()
DESTINATIONS = ["seiho", "kashitsuke", "hellowork", "foodbank"]


def jst(day: int, hour: int, minute: int = 0) -> datetime:
    """A Japan time in June 2024, as UTC."""
    return datetime(2024, 6, day, hour, minute, tzinfo=TOKYO).astimezone(UTC)


@pytest.fixture
def sessions(fresh_database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(fresh_database_url)
    yield make_session_factory(engine)
    engine.dispose()


class Seed:
    def __init__(self, s: Session) -> None:
        self.s, self.n = s, 0
        self.counsellor = Counsellor(username="sato", display_name="佐藤", password_hash="x",
                                     team_id="midori")
        s.add(self.counsellor)
        s.flush()

    def case(self, opened: datetime, *, town: str | None = "midori", who: str | None = "self",
             age: str | None = None, results: list[str] | None = None,
             closed: datetime | None = None) -> Case:
        self.n += 1
        conv = Conversation(line_user_id=f"U{self.n:032d}", flow_id="intake", flow_version="v",
                            state="handoff", answers={}, consent={}, created_at=opened)
        self.s.add(conv)
        self.s.flush()
        case = Case(conversation_id=conv.id, team_id="midori", municipality=town,
                    consulting_for=who, opened_at=opened, closed_at=closed,
                    status=CaseStatus.CLOSED if closed else CaseStatus.CLAIMED,
                    answers={"age_band": age, "trouble": "ひみつ"} if age else {"trouble": "x"},
                    results=results or [])
        self.s.add(case)
        self.s.flush()
        return case

    def wrote(self, case: Case, *moments: datetime, counsellor: bool = True) -> None:
        for at in moments:
            self.s.add(OutboxMessage(
                line_user_id="U", conversation_id=case.conversation_id,
                counsellor_id=self.counsellor.id if counsellor else None,
                messages=[{"type": "text", "text": "ひみつ"}], created_at=at, status="sent"))

    def referral(self, case: Case, destination: str, asked: datetime, *,
                 status: ReferralStatus = ReferralStatus.AGREED, answered: bool = True,
                 sent: bool = False, accepted: bool | None = None,
                 basis: str = "consent") -> None:
        self.s.add(Referral(
            case_id=case.id, counsellor_id=self.counsellor.id, destination=destination,
            recipient="どこか", purpose="なにか", basis=basis, status=status, asked_at=asked,
            answered_at=asked + timedelta(minutes=5) if answered else None,
            sent_at=asked + timedelta(days=1) if sent else None, accepted=accepted,
            identity={"name": "山田 花子"}))


@pytest.fixture
def seeded(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """midori's desk is open Mon-Fri 08:30-17:15 (content/places.yaml)."""
    with sessions() as s, s.begin():
        d = Seed(s)
        # Monday 10:00: in hours. Three contact days (two messages on one day), work found.
        a = d.case(jst(3, 10), who="self", age="forties", results=["work_found", "income_up"])
        d.wrote(a, jst(3, 10, 5), jst(3, 11), jst(5, 9), jst(20, 9))
        d.referral(a, "hellowork", jst(4, 10), sent=True, accepted=True)
        d.referral(a, "seiho", jst(5, 10), sent=True, accepted=False)
        # Tuesday 22:00: out of hours. One contact day; a no and a taken-back yes.
        b = d.case(jst(4, 22), who="family", age="seventies_plus")
        d.wrote(b, jst(4, 22, 30))
        d.wrote(b, jst(4, 23), jst(6, 10), counsellor=False)  # the bot's: not contacts
        d.referral(b, "seiho", jst(6, 10), status=ReferralStatus.DECLINED)
        d.referral(b, "foodbank", jst(6, 11), status=ReferralStatus.WITHDRAWN)
        # Saturday 10:00 in kawabe (out of hours for midori's team). Six contact days.
        c = d.case(jst(8, 10), town="kawabe", who="no_answer", results=["work_found"])
        d.wrote(c, *(jst(8 + i, 12) for i in range(6)))
        d.referral(c, "seiho", jst(9, 10), basis="life_safety", sent=True)
        d.referral(c, "kashitsuke", jst(10, 10), status=ReferralStatus.ASKED, answered=False)
        d.referral(c, "kashitsuke", jst(10, 9), status=ReferralStatus.WITHDRAWN,
                   answered=False)  # taken back before any answer: no yes
        # No town, not asked who; no contact yet; closed before the counsellor wrote again.
        e = d.case(jst(12, 9), town=None, who=None, closed=jst(12, 9, 30))
        d.wrote(e, jst(12, 10))  # after it closed: another case's, not this one's
        # Before the period (Sunday 2 June 23:00 in Japan): counted nowhere, nor its referral.
        old = d.case(jst(2, 23), results=["work_found"])
        d.referral(old, "seiho", jst(2, 23, 30), sent=True)
        # A referral asked in the period on an older case still counts (by its own date).
        d.referral(old, "hellowork", jst(7, 10), sent=True)
    return sessions


def compute(sessions: sessionmaker[Session], town: str | None = None) -> indicators.Indicators:
    content = load_content(DEFAULT_CONTENT_DIR)
    first, after = period_bounds(START, END)
    with sessions() as s:
        return indicators.compute(
            session=s, place=case_place(town, TOWNS), first=first, after=after,
            municipalities=TOWNS, destinations=DESTINATIONS, welfare={"seiho"},
            results=list(content.places.referrals.results),
            staffed=sla_rule(content.places).staffed, zone=TOKYO)


def test_who_asks_their_age_and_when(seeded: sessionmaker[Session]) -> None:
    ind = compute(seeded)
    assert ind.asking_for == [("self", 1), ("family", 1), ("friend", 0), ("neighbour", 0),
                              ("no_answer", 1), (indicators.NOT_ASKED, 1)]
    assert dict(ind.age_bands)["forties"] == 1 and dict(ind.age_bands)["seventies_plus"] == 1
    assert dict(ind.age_bands)[indicators.NOT_ASKED] == 2 and sum(n for _, n in ind.age_bands) == 4
    assert (ind.in_hours, ind.out_of_hours) == (2, 2)
    assert ind.out_of_hours_share == 0.5


def test_contact_days_per_case(seeded: sessionmaker[Session]) -> None:
    ind = compute(seeded)
    # a: 3 June (twice), 5 June and 20 June = 3 days; b: 1; c: 6; e: none while open.
    assert ind.contacts == [("0", 1), ("1", 1), ("2-5", 1), ("6+", 1)]
    assert ind.contacts_mean == pytest.approx((3 + 1 + 6 + 0) / 4)


def test_referrals_by_destination_and_to_public_assistance(
        seeded: sessionmaker[Session]) -> None:
    ind = compute(seeded)
    rows = {r.destination: r for r in ind.referrals}
    assert list(rows) == DESTINATIONS  # the fixed list, in its order, zeros included
    seiho = rows["seiho"]
    assert (seiho.asked, seiho.agreed, seiho.declined, seiho.withdrawn, seiho.life_safety,
            seiho.sent, seiho.accepted) == (3, 2, 1, 0, 1, 2, 0)
    hello = rows["hellowork"]
    assert (hello.asked, hello.agreed, hello.sent, hello.accepted) == (2, 2, 2, 1)
    food = rows["foodbank"]
    assert (food.asked, food.agreed, food.withdrawn) == (1, 1, 1)  # a yes taken back
    kashi = rows["kashitsuke"]
    assert (kashi.asked, kashi.agreed, kashi.withdrawn) == (2, 0, 1)
    assert (ind.welfare_agreed, ind.welfare_sent) == (2, 2)


def test_what_support_achieved_and_per_town(seeded: sessionmaker[Session]) -> None:
    ind = compute(seeded)
    assert dict(ind.results)["work_found"] == 2 and ind.work_found == 2
    assert dict(ind.results)["income_up"] == 1 and dict(ind.results)["housing_kept"] == 0
    towns = {t.town: t for t in ind.by_town}
    assert set(towns) == {"midori", "kawabe", NOT_GIVEN}
    midori = towns["midori"]
    # Two cases; its referrals sent in the period: a's two and the older case's hellowork.
    assert (midori.cases, midori.out_of_hours, midori.referred, midori.welfare,
            midori.work_found) == (2, 1, 3, 1, 1)
    assert (towns["kawabe"].cases, towns["kawabe"].out_of_hours, towns["kawabe"].referred,
            towns["kawabe"].welfare, towns["kawabe"].work_found) == (1, 1, 1, 1, 1)
    assert (towns[NOT_GIVEN].cases, towns[NOT_GIVEN].referred) == (1, 0)


def test_one_town_counts_only_its_own(seeded: sessionmaker[Session]) -> None:
    ind = compute(seeded, town="kawabe")
    assert sum(n for _, n in ind.asking_for) == 1
    assert {r.destination: r.asked for r in ind.referrals} == {
        "seiho": 1, "kashitsuke": 2, "hellowork": 0, "foodbank": 0}
    assert [t.town for t in ind.by_town] == ["kawabe"]
