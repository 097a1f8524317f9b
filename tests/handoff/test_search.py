"""「相談をさがす」: a closed case found by its outcome and period, by town and by a part of its
pseudonym; never another desk's case; open cases with the resident's newest words first; and
each case a list shows recorded as a view."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.db.models import Conversation
from handoff.models import AuditEntry, Case, CaseMessage, CaseStatus, Counsellor
from tests.live import LiveApp, Staff, logged_in


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("sato", "佐藤", team_id="pref"), Staff("mori", "森", team_id="midori")]


def seeded(live: LiveApp, *, team: str, pseudonym: str, opened: datetime,
           closed: datetime | None = None, outcome: str | None = None,
           town: str | None = None, said: datetime | None = None,
           holder: str | None = None) -> int:
    with live.session() as s, s.begin():
        conv = Conversation(line_user_id=f"U{uuid.uuid4().hex}", flow_id="intake",
                            flow_version="v", state="handoff")
        s.add(conv)
        s.flush()
        row = Case(conversation_id=conv.id, team_id=team, pseudonym=pseudonym,
                   basis="consent", opened_at=opened, municipality=town,
                   status=CaseStatus.CLOSED if closed else CaseStatus.OPEN,
                   closed_at=closed, outcome=outcome)
        if holder:
            row.claimed_by = s.scalars(select(Counsellor.id).where(
                Counsellor.username == holder)).one()
        s.add(row)
        s.flush()
        if said:
            s.add(CaseMessage(case_id=row.id, sender="resident", text="…", created_at=said))
        return row.id


def listed(html: str) -> list[str]:
    table = html[html.index('id="search-results"'):] if 'id="search-results"' in html else ""
    return re.findall(r'<a href="/console/cases/\d+">(相談者 [^<]+)</a>', table)


def at(day: int, hour: int = 12) -> datetime:  # Japan noon on a day of March 2025, in UTC
    return datetime(2025, 3, day, hour, tzinfo=UTC) - timedelta(hours=9)


def test_a_closed_case_is_found_by_outcome_and_period(live: LiveApp) -> None:
    tag = uuid.uuid4().hex[:4].upper()
    inside = seeded(live, team="pref", pseudonym=f"相談者 A{tag}", opened=at(1),
                    closed=at(10), outcome="referred", town="aoba")
    seeded(live, team="pref", pseudonym=f"相談者 B{tag}", opened=at(1), closed=at(10),
           outcome="info")
    seeded(live, team="pref", pseudonym=f"相談者 C{tag}", opened=at(1), closed=at(20),
           outcome="referred")
    seeded(live, team="midori", pseudonym=f"相談者 D{tag}", opened=at(1), closed=at(10),
           outcome="referred")  # another desk's: never listed for 佐藤
    sato = logged_in(live, "sato")
    page = sato.get("/console/search", params={
        "status": "closed", "outcome": "referred", "start": "2025-03-09",
        "end": "2025-03-11", "pseudonym": tag.lower()})
    assert page.status_code == 200
    assert listed(page.text) == [f"相談者 A{tag}"]
    # The period is the Japan day: closed at 23:30 on the 11th in Japan is inside.
    late = seeded(live, team="pref", pseudonym=f"相談者 E{tag}", opened=at(1),
                  closed=at(11, 23) + timedelta(minutes=30), outcome="referred")
    page = sato.get("/console/search", params={
        "status": "closed", "outcome": "referred", "start": "2025-03-09",
        "end": "2025-03-11", "pseudonym": tag})
    assert listed(page.text) == [f"相談者 E{tag}", f"相談者 A{tag}"]
    by_town = sato.get("/console/search", params={"status": "closed", "municipality": "aoba",
                                                  "pseudonym": tag})
    assert listed(by_town.text) == [f"相談者 A{tag}"]
    with live.session() as s:
        shown = set(s.scalars(select(AuditEntry.case_id).where(
            AuditEntry.action == "search_view", AuditEntry.case_id.in_([inside, late]))))
    assert shown == {inside, late}
    mori = logged_in(live, "mori")
    assert listed(mori.get("/console/search", params={
        "status": "all", "pseudonym": tag}).text) == [f"相談者 D{tag}"]


def test_open_cases_come_with_the_newest_words_first_and_mine_alone(live: LiveApp) -> None:
    tag = uuid.uuid4().hex[:4].upper()
    now = datetime.now(UTC)
    seeded(live, team="pref", pseudonym=f"相談者 F{tag}", opened=now - timedelta(hours=3),
           said=now - timedelta(hours=2))
    seeded(live, team="pref", pseudonym=f"相談者 G{tag}", opened=now - timedelta(hours=5),
           said=now - timedelta(minutes=5), holder="sato")
    seeded(live, team="pref", pseudonym=f"相談者 H{tag}", opened=now - timedelta(hours=1))
    sato = logged_in(live, "sato")
    page = sato.get("/console/search", params={"status": "open", "pseudonym": tag})
    assert listed(page.text) == [f"相談者 G{tag}", f"相談者 F{tag}", f"相談者 H{tag}"]
    assert "新着 1" in page.text  # 佐藤 has not looked at G yet
    mine = sato.get("/console/search", params={"status": "all", "mine": "1", "pseudonym": tag})
    assert listed(mine.text) == [f"相談者 G{tag}"]
    bad = sato.get("/console/search", params={"start": "2025-02-30"})
    assert bad.status_code == 200 and "日付を読み取れませんでした" in bad.text
