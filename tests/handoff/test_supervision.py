"""A busy evening: 「次の相談を担当する」 takes the top of the queue (the next one when a
colleague was quicker), a supervisor's capacity holds except for a life in danger, the floor
shows who holds what and how long each resident has waited (each case it shows audited), and a
supervisor's whisper reaches the counsellor, never LINE."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.db.models import Conversation, OutboxMessage, utcnow
from handoff import queue
from handoff.models import AuditEntry, Case, CaseNote, CaseStatus, Counsellor, Role
from tests.live import (
    LiveApp,
    Staff,
    csrf_of,
    logged_in,
    resident_with_case,
    texts,
    wait_for,
)


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("sato", "佐藤", team_id="pref"), Staff("suzuki", "鈴木", team_id="pref"),
            Staff("boss", "主任", Role.SUPERVISOR, "pref"),
            Staff("midori_boss", "みどり主任", Role.SUPERVISOR, "midori")]


def waiting_case(live: LiveApp, *, priority: str = "normal", ago: timedelta = timedelta(0),
                 team: str = "pref") -> int:
    with live.session() as s, s.begin():
        conv = Conversation(line_user_id=f"U{uuid.uuid4().hex}", flow_id="intake",
                            flow_version="v", state="handoff")
        s.add(conv)
        s.flush()
        row = Case(conversation_id=conv.id, team_id=team, priority=priority, basis="consent",
                   opened_at=utcnow() - timedelta(days=400) + ago)
        s.add(row)
        s.flush()
        return row.id


def release_all(live: LiveApp) -> None:
    """Earlier tests' open cases out of the way: each test reads the queue from its top."""
    with live.session() as s, s.begin():
        for case in s.scalars(select(Case).where(Case.status != CaseStatus.CLOSED)):
            case.status = CaseStatus.CLOSED
        for person in s.scalars(select(Counsellor)):
            person.capacity = None


def take_next(client, live: LiveApp) -> str:  # type: ignore[no-untyped-def]
    done = client.post("/console/take-next", data={"csrf": csrf_of(client, "/console/")})
    assert done.status_code == 303
    return str(done.headers["location"])


def test_take_next_claims_the_top_and_skips_one_a_colleague_took(live: LiveApp) -> None:
    release_all(live)
    top = waiting_case(live, priority="high")
    second = waiting_case(live, ago=timedelta(minutes=1))
    third = waiting_case(live, ago=timedelta(minutes=2))
    sato = logged_in(live, "sato")
    assert take_next(sato, live) == f"/console/cases/{top}"
    # 鈴木 clicked the second one a moment before: 佐藤's next click gets the third.
    with live.session() as s, s.begin():
        suzuki = s.scalars(select(Counsellor).where(Counsellor.username == "suzuki")).one()
        assert queue.claim(session=s, case_id=second, counsellor=suzuki).won
    assert take_next(sato, live) == f"/console/cases/{third}"
    with live.session() as s:
        assert s.get(Case, third).claimed_by == s.get(Case, top).claimed_by  # type: ignore[union-attr]
        taken = list(s.scalars(select(AuditEntry).where(
            AuditEntry.case_id.in_([top, third]), AuditEntry.action == "claim")))
    assert [a.detail for a in taken] == ["take next", "take next"]
    assert take_next(sato, live) == "/console/?notice=queue_empty"


def test_capacity_holds_except_for_a_life_in_danger(live: LiveApp) -> None:
    release_all(live)
    boss, sato = logged_in(live, "boss"), logged_in(live, "sato")
    with live.session() as s:
        sato_id = s.scalars(select(Counsellor.id).where(Counsellor.username == "sato")).one()
    boss.post("/console/floor/capacity", data={"csrf": csrf_of(boss, "/console/floor"),
                                               "counsellor_id": str(sato_id), "capacity": "1"})
    first = waiting_case(live)
    normal = waiting_case(live, ago=timedelta(minutes=1))
    assert take_next(sato, live) == f"/console/cases/{first}"
    assert take_next(sato, live) == "/console/?notice=at_capacity"
    refused = sato.post(f"/console/cases/{normal}/claim",
                        data={"csrf": csrf_of(sato, f"/console/cases/{normal}")})
    assert refused.headers["location"].endswith("notice=at_capacity")
    danger = waiting_case(live, priority="imminent", ago=timedelta(minutes=2))
    assert take_next(sato, live) == f"/console/cases/{danger}"  # never refused for a load
    with live.session() as s:
        assert s.get(Case, normal).status == CaseStatus.OPEN  # type: ignore[union-attr]
        changed = s.scalars(select(AuditEntry).where(
            AuditEntry.action == "capacity", AuditEntry.account_id == sato_id)).all()
    assert [c.detail for c in changed] == ["1"]
    # Another team's supervisor cannot set it.
    other = logged_in(live, "midori_boss")
    assert other.post("/console/floor/capacity", data={
        "csrf": csrf_of(other, "/console/floor"), "counsellor_id": str(sato_id),
        "capacity": "5"}).status_code == 404


def test_the_floor_shows_who_holds_what_and_a_whisper_never_reaches_line(
        live: LiveApp) -> None:
    release_all(live)
    r, case_id = resident_with_case(live)
    sato, boss = logged_in(live, "sato"), logged_in(live, "boss")
    page = f"/console/cases/{case_id}"
    sato.post(f"{page}/claim", data={"csrf": csrf_of(sato, page)})
    wait_for(lambda: "佐藤" in texts(r.bot_messages()) and r.all_sent())
    r.send(r.text("今夜泊まるところがありません"))
    wait_for(lambda: "返事済み" not in boss.get("/console/fragments/floor").text)

    floor = boss.get("/console/floor").text
    row = floor[floor.index(f'href="/console/cases/{case_id}"'):].split("</tr>")[0]
    assert "佐藤" in row and 'class="ticking"' in row
    assert "佐藤" in floor[floor.index('id="floor-people-table"'):]
    with live.session() as s:
        assert s.scalars(select(AuditEntry).where(
            AuditEntry.action == "floor_view", AuditEntry.case_id == case_id)).first()
    # Counsellors do not see the floor; another team's supervisor does not see this team's.
    assert sato.get("/console/floor").status_code == 403
    assert logged_in(live, "midori_boss").get("/console/floor?team=pref").status_code == 404

    # The supervisor reads the chat (read-only) and whispers to the holder.
    read = boss.get(page).text
    assert 'id="read-only"' in read and 'id="words"' not in read
    outbox = live.count(OutboxMessage, OutboxMessage.line_user_id == r.user_id)
    sent = len(r.bot_messages())
    boss.post(f"{page}/whisper", data={"csrf": csrf_of(boss, page),
                                       "words": "住居確保給付金の要件も確認してみてください"})
    holder_page = sato.get(page).text
    whispers = holder_page[holder_page.index('id="whispers"'):]
    assert "住居確保給付金の要件も確認してみてください" in whispers.split("</section>")[0]
    queue_page = sato.get("/console/")
    assert "主任から" not in queue_page.text  # seen on the case page just now
    boss.post(f"{page}/whisper", data={"csrf": csrf_of(boss, page), "words": "無理しないで"})
    assert "主任から 1" in sato.get("/console/").text
    with live.session() as s:
        notes = list(s.scalars(select(CaseNote).where(CaseNote.case_id == case_id)))
        assert {n.whisper_to for n in notes} == {
            s.get(Case, case_id).claimed_by}  # type: ignore[union-attr]
        assert s.scalars(select(AuditEntry).where(
            AuditEntry.action == "whisper", AuditEntry.case_id == case_id)).first()
    assert live.count(OutboxMessage, OutboxMessage.line_user_id == r.user_id) == outbox
    assert len(r.bot_messages()) == sent
    assert "無理しないで" not in texts(r.bot_messages())
    # Only a supervisor whispers.
    assert sato.post(f"{page}/whisper", data={"csrf": csrf_of(sato, page),
                                              "words": "x"}).status_code == 403


def test_the_least_loaded_available_counsellor_is_chosen() -> None:
    L = queue.Load
    assert queue.least_loaded([L(1, True, 2, None), L(2, True, 1, None),
                               L(3, False, 0, None)]) == 2  # away: not offered
    assert queue.least_loaded([L(1, True, 1, 1), L(2, True, 2, None)]) == 2  # 1 is full
    assert queue.least_loaded([L(5, True, 1, None), L(4, True, 1, None)]) == 4  # ties: lower id
    assert queue.least_loaded([L(1, False, 0, None), L(2, True, 3, 3)]) is None


def test_the_top_case_is_suggested_to_whoever_available_holds_the_fewest(
        live: LiveApp) -> None:
    release_all(live)
    sato, suzuki = logged_in(live, "sato"), logged_in(live, "suzuki")
    for client in (sato, suzuki):
        client.post("/console/desk/presence", data={"csrf": csrf_of(client, "/console/"),
                                                    "presence": "available"})
    held = waiting_case(live)
    assert take_next(sato, live) == f"/console/cases/{held}"  # 佐藤 now holds one chat
    top = waiting_case(live, priority="high")
    waiting_case(live, ago=timedelta(minutes=5))
    mine = suzuki.get("/console/").text
    row = mine[mine.index(f'href="/console/cases/{top}"'):].split("</tr>")[0]
    assert "あなたへのおすすめ" in row  # 鈴木 holds none
    theirs = sato.get("/console/").text
    row = theirs[theirs.index(f'href="/console/cases/{top}"'):].split("</tr>")[0]
    assert "鈴木さんへのおすすめ" in row and "あなたへのおすすめ" not in theirs
    # Nobody is forced: 佐藤 may still take it.
    assert take_next(sato, live) == f"/console/cases/{top}"
