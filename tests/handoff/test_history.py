"""A returning resident: the same name at the desk, their earlier cases on the case page (only
what the viewer may see, every one shown recorded as a view), and a mark in the queue."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.db.engine import transaction
from bot.db.models import Conversation, utcnow
from handoff import history, retention
from handoff.models import AuditEntry, Case, CaseNote, CaseStatus, Counsellor, Role
from tests.live import (
    PASSWORD,
    LiveApp,
    Staff,
    conversation_of,
    csrf_of,
    logged_in,
    resident_with_case,
    wait_for,
)


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("sato", "佐藤", team_id="pref"), Staff("mori", "森", team_id="midori")]


def cases_of(live: LiveApp, user_id: str) -> list[Case]:
    with live.session() as s:
        return list(s.scalars(select(Case).join(
            Conversation, Conversation.id == Case.conversation_id).where(
            Conversation.line_user_id == user_id).order_by(Case.id)))


def claim_note_close(live: LiveApp, case_id: int, note: str) -> None:
    sato = logged_in(live, "sato")
    page = f"/console/cases/{case_id}"
    sato.post(f"{page}/claim", data={"csrf": csrf_of(sato, page)})
    sato.post(f"{page}/notes", data={"csrf": csrf_of(sato, page), "words": note})
    done = sato.post(f"{page}/close", data={"csrf": csrf_of(sato, page), "outcome": "referred",
                                            "detail": "法テラス"})
    assert done.status_code == 303


def test_a_returning_resident_keeps_the_name_and_their_history_shows(live: LiveApp) -> None:
    r, first = resident_with_case(live)
    claim_note_close(live, first, "家賃の滞納2か月。法テラスの予約を一緒に取った。")
    r.say("人と話したい")
    wait_for(r.all_sent)
    earlier, now = cases_of(live, r.user_id)
    assert earlier.id == first and now.status == CaseStatus.OPEN
    assert now.pseudonym == earlier.pseudonym  # the desk knows them by one name

    sato = logged_in(live, "sato")
    queue = sato.get("/console/").text
    row = queue[queue.index(f'href="/console/cases/{now.id}"'):][:400]
    assert "再相談" in row and "以前の相談が1件" in row
    assert f'href="/console/cases/{first}">{earlier.pseudonym}</a> <span' not in queue

    page = sato.get(f"/console/cases/{now.id}").text
    section = page[page.index('id="history"'):]
    section = section[:section.index("</section>")]
    assert "これまでの相談（1件）" in section
    assert "他機関へつないだ（法テラス）" in section
    assert "家賃の滞納2か月。法テラスの予約を一緒に取った。" in section
    with live.session() as s:
        views = list(s.scalars(select(AuditEntry).where(
            AuditEntry.case_id == first, AuditEntry.action == "view")))
    assert any(v.detail == f"history of case {now.id}" for v in views)


def test_a_resident_erased_by_retention_comes_back_as_someone_new(live: LiveApp) -> None:
    r, first = resident_with_case(live)
    claim_note_close(live, first, "メモ")
    (before,) = cases_of(live, r.user_id)
    with transaction(live.runtime.sessions) as s:
        conversation = s.get(Conversation, conversation_of(live, r).id)
        assert conversation is not None
        retention.erase(session=s, conversation=conversation, now=utcnow())
    r.send(r.follow())
    r.wait_messages(4)
    r.say("人と話したい")
    r.say("同意する")
    wait_for(r.all_sent)
    (again,) = cases_of(live, r.user_id)  # a new conversation: no earlier case of theirs
    assert again.id != before.id and again.pseudonym != before.pseudonym
    page = logged_in(live, "sato").get(f"/console/cases/{again.id}").text
    assert 'id="history"' not in page


def _case(s: Session, conversation_id: int, team: str, **more: object) -> Case:
    row = Case(conversation_id=conversation_id, team_id=team, pseudonym="相談者 0001",
               opened_at=utcnow() - timedelta(days=30), **more)
    s.add(row)
    s.flush()
    return row


def test_an_earlier_case_of_another_desk_shows_that_it_was_never_what_was_said(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as s, s.begin():
        conv = Conversation(line_user_id=f"U{uuid.uuid4().hex}", flow_id="intake",
                            flow_version="v", state="start")
        s.add(conv)
        viewer = Counsellor(username=f"v{uuid.uuid4().hex[:8]}", display_name="見る人",
                            role=Role.COUNSELLOR, team_id="pref", password_hash=PASSWORD)
        writer = Counsellor(username=f"w{uuid.uuid4().hex[:8]}", display_name="書いた人",
                            role=Role.COUNSELLOR, team_id="midori", password_hash=PASSWORD)
        s.add_all([viewer, writer])
        s.flush()
        elsewhere = _case(s, conv.id, "midori", status=CaseStatus.CLOSED, outcome="info",
                          life_areas=["money"])
        s.add(CaseNote(case_id=elsewhere.id, counsellor_id=writer.id, text="ほかの窓口のメモ"))
        own = _case(s, conv.id, "pref", status=CaseStatus.CLOSED, outcome="info",
                    life_areas=["housing"])
        s.add(CaseNote(case_id=own.id, counsellor_id=writer.id, text="同じ窓口のメモ"))
        current = _case(s, conv.id, "pref")
        found = history.earlier_cases(session=s, case=current, viewer=viewer, now=utcnow())
        assert [(e.case_id, e.shown) for e in found] == [(own.id, True), (elsewhere.id, False)] \
            or [(e.case_id, e.shown) for e in found] == [(elsewhere.id, False), (own.id, True)]
        hidden = next(e for e in found if not e.shown)
        assert hidden.notes == () and hidden.life_areas == () and hidden.outcome is None
        seen = next(e for e in found if e.shown)
        assert [words for _, words, _ in seen.notes] == ["同じ窓口のメモ"]
        assert history.returning_counts(session=s, cases=[current]) == {current.id: 2}
