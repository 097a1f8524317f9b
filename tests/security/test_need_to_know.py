"""Need-to-know: a counsellor reads only their own team's residents; crossing into another
team's case is break-glass, with a reason that team sees; withdrawn consent closes the case to
everyone; a move to another desk waits for the resident's yes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.db.models import Conversation
from bot.flows.routing import TOKYO
from handoff.models import AuditEntry, Case, CaseAccessGrant, CaseStatus, Role
from tests.live import (
    LiveApp,
    Resident,
    Staff,
    conversation_of,
    csrf_of,
    logged_in,
    resident_with_case,
    texts,
    wait_for,
)

WORDS = "家賃を3か月ためてしまって、大家さんに出ていくよう言われています"


@pytest.fixture(scope="module")
def live_settings() -> dict[str, Any]:
    return {"live_fallback_seconds": 0.5}


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("pref1", "県の相談員", Role.COUNSELLOR, "pref"),
            Staff("pref2", "県の相談員2", Role.COUNSELLOR, "pref"),
            Staff("prefboss", "県の主任", Role.SUPERVISOR, "pref"),
            Staff("midori1", "みどり市の相談員", Role.COUNSELLOR, "midori"),
            Staff("midoriboss", "みどり市の主任", Role.SUPERVISOR, "midori"),
            Staff("lead", "県の統括", Role.LEAD)]


def case_with_words(live: LiveApp) -> tuple[Resident, int]:
    """A consented case of the prefecture's desk (no municipality answered) with the
    resident's own words in its transcript."""
    r, case_id = resident_with_case(live)
    r.say(WORDS)
    return r, case_id


def posts(client: httpx.Client, case_id: int, token: str) -> dict[str, httpx.Response]:
    forms = {"claim": {}, "notes": {"words": "メモ"}, "reply": {"words": "こんにちは"},
             "followups": {"when": "2099-12-01T10:00", "words": "その後いかがですか"},
             "followups/setting": {"allowed": "true"}, "transfer": {"to": "team:midori"},
             "close": {"outcome": "info"}}
    return {name: client.post(f"/console/cases/{case_id}/{name}", data={**form, "csrf": token})
            for name, form in forms.items()}


def test_another_teams_case_is_not_even_confirmed_to_exist(live: LiveApp) -> None:
    _, case_id = case_with_words(live)
    before = _snapshot(live)
    for username in ("midori1", "midoriboss"):
        other = logged_in(live, username)
        token = csrf_of(other, "/console/")
        assert other.get(f"/console/cases/{case_id}").status_code == 404
        assert other.get(f"/console/cases/{case_id}/fragments/transcript").status_code == 404
        assert other.get(f"/console/stream?case={case_id}").status_code == 404
        for name, answer in posts(other, case_id, token).items():
            assert answer.status_code == 404, (username, name, answer.status_code)
        # Listing and searching: another team's queue is refused, filters find nothing.
        assert other.get("/console/?team=pref").status_code == 404
        for page in ("/console/", "/console/fragments/queue", "/console/?municipality=aoba",
                     "/console/fragments/queue?team=midori"):
            answer = other.get(page)
            assert answer.status_code == 200 and f"/console/cases/{case_id}\"" not in answer.text
    assert _snapshot(live) == before  # refused, and nothing changed

    mine = logged_in(live, "prefboss")
    assert f"/console/cases/{case_id}\"" in mine.get("/console/").text
    assert mine.get(f"/console/cases/{case_id}").status_code == 200  # a view, audited
    assert f"#{case_id}<" in mine.get("/console/audit").text
    boss = logged_in(live, "midoriboss")
    assert f"#{case_id}<" not in boss.get("/console/audit").text
    lead = logged_in(live, "lead")
    assert lead.get(f"/console/cases/{case_id}").status_code == 200
    assert lead.get("/console/?team=pref").status_code == 200


def _snapshot(live: LiveApp) -> list[tuple[object, ...]]:
    with live.session() as s:
        return [(c.status, c.claimed_by, c.team_id, c.no_followups, c.updated_at)
                for c in s.scalars(select(Case).order_by(Case.id))]


def test_break_glass_is_explicit_audited_and_shown_to_the_owning_team(live: LiveApp) -> None:
    r, case_id = case_with_words(live)
    r.say("もう死にたい。今夜、薬を全部飲むつもりです")  # imminent: first in every queue
    with live.session() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.priority == "imminent"
        pseudonym = case.pseudonym

    night = logged_in(live, "midori1")
    queue = night.get("/console/").text
    # Listed for life safety with as little as it needs: no words, no answers.
    assert pseudonym in queue and f"/console/cases/{case_id}/break-glass" in queue
    assert WORDS not in queue and "死にたい" not in queue
    token = csrf_of(night, "/console/")
    short = night.post(f"/console/cases/{case_id}/break-glass",
                       data={"csrf": token, "reason": "急ぎ"}, follow_redirects=True)
    assert "理由を8文字以上" in short.text
    assert night.get(f"/console/cases/{case_id}").status_code == 404

    reason = "夜間で県の窓口が閉まっており、命の危険があるため"
    opened = night.post(f"/console/cases/{case_id}/break-glass",
                        data={"csrf": token, "reason": reason}, follow_redirects=True)
    assert opened.status_code == 200 and 'id="break-glass-view"' in opened.text
    assert "死にたい" in night.get(f"/console/cases/{case_id}/fragments/transcript").text
    with live.session() as s:
        actions = [(a.action, a.detail or "") for a in s.scalars(
            select(AuditEntry).where(AuditEntry.case_id == case_id))]
    assert any(a == "break_glass" and "team pref" in d for a, d in actions)
    assert ("view", "break-glass") in actions
    assert ("view_transcript", "break-glass") in actions
    # Listed in another team's queue by pseudonym alone: the opening is what is recorded.
    assert ("queue_view", "") not in actions

    # The owning team sees who crossed into their case, why and when (in Japan time).
    owner = logged_in(live, "pref1")
    with live.session() as s:
        granted = s.scalars(select(CaseAccessGrant.granted_at).where(
            CaseAccessGrant.case_id == case_id)).one()
    when = granted.astimezone(TOKYO).strftime("%m/%d %H:%M")
    for page in (owner.get("/console/").text, owner.get(f"/console/cases/{case_id}").text):
        assert f"{when}　" in page and reason in page and " UTC" not in page
    # An id that is not another team's urgent case cannot be broken into.
    _, calm = resident_with_case(live)
    other_token = csrf_of(owner, "/console/")
    assert owner.post(f"/console/cases/{calm}/break-glass",
                      data={"csrf": other_token, "reason": reason}).status_code == 404


def test_a_counsellor_who_does_not_hold_the_case_cannot_reach_the_resident(
        live: LiveApp) -> None:
    """Within the team too: a message to the resident, or lifting a protection, is for
    whoever holds the case (or a supervisor)."""
    _, case_id = case_with_words(live)
    holder, colleague = logged_in(live, "pref1"), logged_in(live, "pref2")
    holder.post(f"/console/cases/{case_id}/claim",
                data={"csrf": csrf_of(holder, f"/console/cases/{case_id}")})
    token = csrf_of(colleague, f"/console/cases/{case_id}")
    colleague.post(f"/console/cases/{case_id}/followups/setting",
                   data={"csrf": token, "allowed": "false"})  # protecting is anyone's
    for name in ("followups/setting", "followups", "reply", "close"):
        form = {"followups/setting": {"allowed": "true"},
                "followups": {"when": "2099-12-01T10:00", "words": "お元気ですか"},
                "reply": {"words": "こんにちは"}, "close": {"outcome": "info"}}[name]
        answer = colleague.post(f"/console/cases/{case_id}/{name}",
                                data={**form, "csrf": token}, follow_redirects=True)
        assert "できません" in answer.text or "送らない設定" in answer.text, name
    with live.session() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.no_followups and case.status == CaseStatus.CLAIMED


def test_withdrawn_consent_takes_the_case_out_of_the_queue_and_seals_it(
        live: LiveApp) -> None:
    r, case_id = case_with_words(live)
    pref = logged_in(live, "pref1")
    assert f"/console/cases/{case_id}\"" in pref.get("/console/").text
    assert "取り消" in texts(r.say("同意を取り消す"))
    with live.session() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.status == CaseStatus.CLOSED
        assert case.outcome == "withdrawn"
    assert f"/console/cases/{case_id}\"" not in pref.get("/console/").text
    page = pref.get(f"/console/cases/{case_id}").text
    assert 'id="sealed"' in page and WORDS not in page and "同意あり" not in page
    assert WORDS not in pref.get(f"/console/cases/{case_id}/fragments/transcript").text
    token = csrf_of(pref, f"/console/cases/{case_id}")
    before = len(r.bot_messages())
    for name, answer in posts(pref, case_id, token).items():
        assert answer.status_code == 303, name
        assert "notice=no_consent" in answer.headers["location"] or name == "claim", name
    assert len(r.bot_messages()) == before  # nothing reached the resident

    # Life safety aside: an imminent danger after the withdrawal opens a case people read.
    r.say("もう死にたい。今夜、薬を全部飲むつもりです")
    with live.session() as s:
        urgent = s.scalars(select(Case).where(
            Case.conversation_id == conversation_of(live, r).id, Case.id != case_id)).one()
        assert urgent.basis == "life_safety" and urgent.status == CaseStatus.OPEN
    seen = pref.get(f"/console/cases/{urgent.id}").text
    assert 'id="life-safety-view"' in seen and "死にたい" in seen
    with live.session() as s:
        assert s.scalars(select(AuditEntry.detail).where(
            AuditEntry.case_id == urgent.id, AuditEntry.action == "view")).all() == [
            "life safety after withdrawal"]


def test_a_move_to_another_desk_waits_for_the_residents_yes(live: LiveApp) -> None:
    r, case_id = case_with_words(live)
    pref = logged_in(live, "pref1")
    token = csrf_of(pref, f"/console/cases/{case_id}")
    pref.post(f"/console/cases/{case_id}/claim", data={"csrf": token})
    asked = pref.post(f"/console/cases/{case_id}/transfer",
                      data={"csrf": token, "to": "team:midori"}, follow_redirects=True)
    assert 'id="transfer-pending"' in asked.text
    wait_for(lambda: "引き継いでもよいですか" in texts(r.bot_messages()))
    with live.session() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.team_id == "pref" and case.claimed_by is not None
    midori = logged_in(live, "midori1")
    assert midori.get(f"/console/cases/{case_id}").status_code == 404  # not yet

    assert "いまの窓口のまま" in texts(r.tap("いいえ、いまの窓口で"))
    page = pref.get(f"/console/cases/{case_id}").text
    assert 'id="transfer-declined"' in page
    assert midori.get(f"/console/cases/{case_id}").status_code == 404

    pref.post(f"/console/cases/{case_id}/transfer", data={"csrf": token, "to": "team:midori"})
    wait_for(lambda: texts(r.bot_messages()).count("引き継いでもよいですか") == 2)
    assert "引き継ぎました" in texts(r.tap("はい、引き継いでよい"))
    with live.session() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.team_id == "midori"
        assert case.status == CaseStatus.OPEN and case.claimed_by is None
    assert midori.get(f"/console/cases/{case_id}").status_code == 200
    assert pref.get(f"/console/cases/{case_id}").status_code == 404
    # Pressing an answered question again changes nothing.
    assert "もう受け取っています" in texts(r.tap("はい、引き継いでよい"))


def test_life_safety_moves_a_case_at_once_and_says_why(live: LiveApp) -> None:
    _, case_id = case_with_words(live)
    boss = logged_in(live, "prefboss")
    token = csrf_of(boss, f"/console/cases/{case_id}")
    reason = "みどり市の窓口が今夜の訪問に同行できるため"
    boss.post(f"/console/cases/{case_id}/transfer",
              data={"csrf": token, "to": "team:midori", "life_safety": reason})
    with live.session() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.team_id == "midori" and case.transfer_request is None
        detail = s.scalars(select(AuditEntry.detail).where(
            AuditEntry.case_id == case_id, AuditEntry.action == "transfer")).one()
    assert detail is not None and "life safety" in detail and reason[:20] in detail


def test_a_resident_who_chose_a_neighbouring_desk_is_not_read_at_home(
        live: LiveApp) -> None:
    """A resident of みどり市 who chose the prefecture's desk so that people who may know them do
    not read them: みどり市 staff never see the case, the prefecture's do."""
    r = Resident(live)
    r.send(r.follow())
    r.wait_messages(4)
    r.tap("はじめる")
    r.say(WORDS)
    r.tap("自分のこと")
    r.tap("住まい")
    r.tap("選び終わった")
    r.tap("今夜寝る場所がない")
    r.tap("選び終わった")
    r.tap("みどり市")
    r.tap("別の窓口を選ぶ")
    desks = [i["action"]["label"] for i in r.bot_messages()[-1]["quickReply"]["items"]]
    r.tap(next(label for label in desks if label.startswith("県社協")))
    r.say("人と話したい")
    r.tap("同意する")
    wait_for(r.all_sent)
    with live.session() as s:
        case = s.scalars(select(Case).join(Conversation).where(
            Conversation.line_user_id == r.user_id)).one()
    assert case.municipality == "midori" and case.team_id == "pref"
    for username in ("midori1", "midoriboss"):
        client = logged_in(live, username)
        assert client.get(f"/console/cases/{case.id}").status_code == 404
        assert f"/console/cases/{case.id}\"" not in client.get("/console/").text
    assert logged_in(live, "pref1").get(f"/console/cases/{case.id}").status_code == 200
