"""The console over HTTP: login everywhere, CSRF, rate limit, pseudonyms, claims, replies, audit."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from bot.db.models import Conversation, utcnow
from bot.flows.routing import TOKYO
from handoff.console import audit_views
from handoff.console.admin import router as admin_router
from handoff.console.dashboard import router as dashboard_router
from handoff.console.views import router as console_router
from handoff.followups import dispatch_due
from handoff.models import AuditEntry, Case, CaseStatus, Counsellor, FollowUp, Role
from tests.live import (
    PASSWORD,
    LiveApp,
    Resident,
    Staff,
    case_of,
    console_client,
    csrf_of,
    logged_in,
    resident_with_case,
    texts,
    wait_for,
)


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("sato", "佐藤", team_id="pref"), Staff("suzuki", "鈴木", team_id="pref"),
            Staff("boss", "主任", Role.SUPERVISOR, "pref"), Staff("lead", "統括", Role.LEAD),
            # Only the rate limit test logs in (and fails to) as her: the limit outlives it.
            Staff("takagi", "高木", team_id="pref")]


def pseudonym_of(live: LiveApp, case_id: int) -> str:
    """What the console calls this case's resident (other tests' cases are listed too)."""
    with live.session() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.pseudonym.startswith("相談者 ")
        return case.pseudonym


def test_every_console_page_requires_login(live: LiveApp) -> None:
    # Every console router the app includes: desk, dashboard, administration.
    routers = [console_router, audit_views.router, dashboard_router, admin_router]
    routes = [r for router in routers for r in router.routes
              if r.path != "/console/login"]  # type: ignore[attr-defined]
    assert len(routes) >= 9 + 10
    client = console_client(live)
    for route in routes:
        path = re.sub(r"\{[a-z_]+(:path)?\}", "1", route.path)  # type: ignore[attr-defined]
        for method in route.methods or {"GET"}:  # type: ignore[attr-defined]
            answer = client.request(method, path)
            if method == "POST":  # no session, no CSRF token: refused before anything runs
                assert answer.status_code in (303, 403), (method, path, answer.status_code)
            else:
                assert answer.status_code == 303, (method, path)
                assert answer.headers["location"] == "/console/login"


def test_login_and_security_headers(live: LiveApp) -> None:
    client = logged_in(live, "sato")
    page = client.get("/console/")
    assert page.status_code == 200 and "受付一覧" in page.text and "佐藤" in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    [cookie] = [c for c in client.cookies.jar if c.name == "tsunagu_console"]
    assert cookie.has_nonstandard_attr("httponly") and cookie.path == "/console"
    assert cookie.get_nonstandard_attr("samesite") == "strict"


def test_forms_without_the_csrf_token_are_refused(live: LiveApp) -> None:
    _, case_id = resident_with_case(live)
    client = logged_in(live, "sato")
    assert client.post(f"/console/cases/{case_id}/claim").status_code == 403
    assert client.post(f"/console/cases/{case_id}/claim",
                       data={"csrf": "forged"}).status_code == 403
    with live.session() as s:
        assert s.get(Case, case_id).status == CaseStatus.OPEN  # type: ignore[union-attr]
    no_token_login = console_client(live).post("/console/login",
                                        data={"username": "sato", "password": PASSWORD})
    assert no_token_login.status_code == 403


def test_logins_are_rate_limited(live: LiveApp) -> None:
    client = console_client(live)
    for _ in range(5):
        token = csrf_of(client, "/console/login")
        wrong = client.post("/console/login", data={"username": "takagi", "password": "nope",
                                                      "csrf": token})
        assert wrong.status_code == 200 and "違います" in wrong.text
    # The name now waits a little (tests/security/test_login_limit.py: not for long, and not
    # in a browser that logged in as takagi before).
    token = csrf_of(client, "/console/login")
    right = client.post("/console/login", data={"username": "takagi", "password": PASSWORD,
                                                "csrf": token})
    assert right.status_code == 429 and "少しお待ちいただいています" in right.text


def test_counsellors_see_a_pseudonym_never_the_line_id(live: LiveApp) -> None:
    r, case_id = resident_with_case(live)
    client = logged_in(live, "sato")
    for path in ["/console/", f"/console/cases/{case_id}", "/console/fragments/queue",
                 f"/console/cases/{case_id}/fragments/transcript"]:
        page = client.get(path)
        assert page.status_code == 200
        assert r.user_id not in page.text
    assert pseudonym_of(live, case_id) in client.get("/console/").text


def test_claim_reply_close_reach_the_resident_and_are_audited(live: LiveApp) -> None:
    r, case_id = resident_with_case(live)
    sato, suzuki = logged_in(live, "sato"), logged_in(live, "suzuki")
    claim = sato.post(f"/console/cases/{case_id}/claim",
                      data={"csrf": csrf_of(sato, f"/console/cases/{case_id}")})
    assert claim.status_code == 303
    wait_for(lambda: "相談員の佐藤です" in texts(r.bot_messages()))
    lost = suzuki.post(f"/console/cases/{case_id}/claim",
                       data={"csrf": csrf_of(suzuki, f"/console/cases/{case_id}")},
                       follow_redirects=True)
    assert "佐藤が担当しています" in lost.text

    token = csrf_of(sato, f"/console/cases/{case_id}")
    sato.post(f"/console/cases/{case_id}/reply", data={"csrf": token,
                                                       "words": "お話を聞かせてください。"})
    wait_for(lambda: "お話を聞かせてください。" in texts(r.bot_messages()))
    forbidden = suzuki.post(f"/console/cases/{case_id}/reply",
                            data={"csrf": csrf_of(suzuki, f"/console/cases/{case_id}"),
                                  "words": "横から"}, follow_redirects=True)
    assert "担当していない" in forbidden.text
    page = sato.get(f"/console/cases/{case_id}").text
    assert "お話を聞かせてください。" in page and "送信済み" in page

    sato.post(f"/console/cases/{case_id}/close",
              data={"csrf": token, "outcome": "referred", "detail": "法テラス"})
    wait_for(lambda: "いったん終わりにします" in texts(r.bot_messages()))
    with live.session() as s:
        closed = s.get(Case, case_id)
        assert closed is not None and closed.status == CaseStatus.CLOSED
        assert closed.outcome == "referred" and closed.outcome_detail == "法テラス"
        entries = list(s.scalars(select(AuditEntry).where(
            AuditEntry.case_id == case_id).order_by(AuditEntry.id)))
        actions = [a.action for a in entries]
    assert actions.count("view") >= 3 and "claim" in actions and "reply" in actions
    assert actions[-1] == "close"

    assert sato.get("/console/audit").status_code == 403  # supervisors only
    boss = logged_in(live, "boss")
    log = boss.get("/console/audit")
    assert log.status_code == 200 and "close" in log.text and "佐藤" in log.text
    assert "相談を終了した" in log.text and "日時（日本時間）" in log.text
    # On a Japanese clock, not UTC's (nine hours apart).
    closed_at = entries[-1].at
    assert closed_at.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M:%S") in log.text
    assert closed_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") not in log.text


def test_notes_stay_private_and_transfers_move_the_case(live: LiveApp) -> None:
    r, case_id = resident_with_case(live)
    sato = logged_in(live, "sato")
    token = csrf_of(sato, f"/console/cases/{case_id}")
    sato.post(f"/console/cases/{case_id}/claim", data={"csrf": token})
    sato.post(f"/console/cases/{case_id}/notes",
              data={"csrf": token, "words": "家賃の滞納3か月。次回は住居確保給付金の説明"})
    assert "住居確保給付金の説明" in sato.get(f"/console/cases/{case_id}").text
    assert "住居確保給付金の説明" not in texts(r.bot_messages())

    suzuki = logged_in(live, "suzuki")
    refused = suzuki.post(f"/console/cases/{case_id}/transfer",
                          data={"csrf": csrf_of(suzuki, f"/console/cases/{case_id}"),
                                "to": "team:pref"}, follow_redirects=True)
    assert "担当していないため" in refused.text

    with live.session() as s:
        suzuki_id = s.scalars(select(Counsellor.id).where(Counsellor.username == "suzuki")).one()
    sato.post(f"/console/cases/{case_id}/transfer",
              data={"csrf": token, "to": f"counsellor:{suzuki_id}"})
    wait_for(lambda: "相談員の鈴木です" in texts(r.bot_messages()))
    with live.session() as s:
        moved = s.get(Case, case_id)
        assert moved is not None and moved.claimed_by == suzuki_id
    token = csrf_of(suzuki, f"/console/cases/{case_id}")
    suzuki.post(f"/console/cases/{case_id}/transfer", data={"csrf": token, "to": "team:pref"})
    with live.session() as s:
        queued = s.get(Case, case_id)
        assert queued is not None and queued.status == CaseStatus.OPEN
        assert queued.team_id == "pref" and queued.claimed_by is None
        actions = [a.action for a in s.scalars(select(AuditEntry).where(
            AuditEntry.case_id == case_id))]
    assert actions.count("transfer") == 2 and "note" in actions


def test_returning_to_the_bot_lets_the_resident_go_on(live: LiveApp) -> None:
    r, case_id = resident_with_case(live)
    sato = logged_in(live, "sato")
    token = csrf_of(sato, f"/console/cases/{case_id}")
    sato.post(f"/console/cases/{case_id}/claim", data={"csrf": token})
    sato.post(f"/console/cases/{case_id}/close", data={"csrf": token, "outcome": "returned"})
    wait_for(lambda: "またボットがご案内します" in texts(r.bot_messages()))
    # The bot has the conversation again, at the start of the intake.
    assert "どなたのこと" in texts(r.say("家賃のことです"))
    with live.session() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.outcome == "returned"


def test_the_queue_filters_by_team_and_municipality(live: LiveApp) -> None:
    _, case_id = resident_with_case(live)  # no municipality answered: the prefecture's team
    pseudonym = pseudonym_of(live, case_id)
    sato = logged_in(live, "sato")
    assert pseudonym in sato.get("/console/?team=pref").text
    assert "待っている相談はありません" in sato.get("/console/?municipality=aoba").text
    # Another team's queue is not sato's to list; a lead sees every team's.
    assert sato.get("/console/?team=midori").status_code == 404
    lead = logged_in(live, "lead")
    assert "待っている相談はありません" in lead.get("/console/?team=midori").text
    assert pseudonym in lead.get("/console/").text


def test_a_counsellor_schedules_a_follow_up_and_the_answer_reopens_the_case(
    live: LiveApp,
) -> None:
    r, case_id = resident_with_case(live)
    sato = logged_in(live, "sato")
    token = csrf_of(sato, f"/console/cases/{case_id}")
    sato.post(f"/console/cases/{case_id}/claim", data={"csrf": token})
    past = sato.post(f"/console/cases/{case_id}/followups",
                     data={"csrf": token, "when": "2020-01-01T10:00", "words": "x"},
                     follow_redirects=True)
    assert "これからの日時" in past.text
    sato.post(f"/console/cases/{case_id}/followups",
              data={"csrf": token, "when": "2099-12-01T10:00",
                    "words": "先日のお話のその後はいかがですか"})
    assert "先日のお話のその後" in sato.get(f"/console/cases/{case_id}").text
    sato.post(f"/console/cases/{case_id}/close", data={"csrf": token, "outcome": "info"})

    # Time passes (an explicit clock): the counsellor's follow-up goes out in the morning.
    with live.session() as s, s.begin():
        manual = s.scalars(select(FollowUp).where(FollowUp.case_id == case_id,
                                                  FollowUp.kind == "manual")).one()
        assert manual.created_by is not None and manual.case_id == case_id
        manual.due_at = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo
        assert dispatch_due(session=s, rules=live.runtime.content.followups,
                            now=datetime(2026, 11, 24, 1, 0, tzinfo=UTC)) == 1
    live.runtime.wake_outbox()
    wait_for(lambda: "先日のお話のその後" in texts(r.bot_messages()))
    with live.session() as s, s.begin():  # as if the message had just been sent
        sent = s.scalars(select(FollowUp).where(FollowUp.case_id == case_id,
                                                FollowUp.kind == "manual")).one()
        sent.sent_at = utcnow()

    r.say("実はまた困っています")
    with live.session() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.status == CaseStatus.OPEN  # back in the queue
    assert pseudonym_of(live, case_id) in sato.get("/console/").text
    transcript = sato.get(f"/console/cases/{case_id}/fragments/transcript").text
    assert "実はまた困っています" in transcript
    with live.session() as s:
        assert "followup" in [a.action for a in s.scalars(select(AuditEntry).where(
            AuditEntry.case_id == case_id))]


def test_a_counsellor_can_forbid_follow_ups_for_a_case(live: LiveApp) -> None:
    _, case_id = resident_with_case(live)
    sato = logged_in(live, "sato")
    token = csrf_of(sato, f"/console/cases/{case_id}")
    with live.session() as s:
        assert s.scalars(select(FollowUp.state).where(FollowUp.case_id == case_id)).all() == \
            ["scheduled"]  # "we have not forgotten you", planned at the handoff
    sato.post(f"/console/cases/{case_id}/followups/setting",
              data={"csrf": token, "allowed": "false"})
    page = sato.get(f"/console/cases/{case_id}").text
    assert 'id="followups-off"' in page and 'id="add-followup"' not in page
    # What became of the planned message, in words: never the code case_forbids.
    assert "担当が決まるまでのお知らせ・取り消し（この相談には送らない設定のため）" in page
    assert "case_forbids" not in page
    refused = sato.post(f"/console/cases/{case_id}/followups",
                        data={"csrf": token, "when": "2099-12-01T10:00", "words": "x"},
                        follow_redirects=True)
    assert "フォローアップを送らない設定" in refused.text
    with live.session() as s:
        assert s.scalars(select(FollowUp.reason).where(FollowUp.case_id == case_id)).all() == \
            ["case_forbids"]
        assert "followups_off" in [a.action for a in s.scalars(select(AuditEntry).where(
            AuditEntry.case_id == case_id))]
    # Lifting the protection (a message could reach a shared phone again) is for whoever
    # holds the case, not for any colleague who can read it.
    lifted = sato.post(f"/console/cases/{case_id}/followups/setting",
                       data={"csrf": token, "allowed": "true"}, follow_redirects=True)
    assert "担当していないため" in lifted.text and 'id="followups-off"' in lifted.text
    sato.post(f"/console/cases/{case_id}/claim", data={"csrf": token})
    sato.post(f"/console/cases/{case_id}/followups/setting",
              data={"csrf": token, "allowed": "true"})
    assert 'id="add-followup"' in sato.get(f"/console/cases/{case_id}").text


def canned_of(page: str) -> dict[str, dict[str, str]]:
    found = re.search(r'<script type="application/json" id="canned-data">(.*?)</script>', page,
                      re.S)
    assert found, "no canned replies on the page"
    return {r["id"]: r for r in json.loads(found.group(1))}


def test_canned_replies_come_in_the_residents_language_with_the_name(live: LiveApp) -> None:
    sato = logged_in(live, "sato")
    r, case_id = resident_with_case(live)
    page = sato.get(f"/console/cases/{case_id}").text
    assert 'id="canned"' not in page  # only whoever holds the case writes to the resident
    sato.post(f"/console/cases/{case_id}/claim",
              data={"csrf": csrf_of(sato, f"/console/cases/{case_id}")})
    page = sato.get(f"/console/cases/{case_id}").text
    hello = canned_of(page)["hello"]
    assert hello["language"] == "ja" and "相談員の佐藤です" in hello["text"]
    assert 'id="easy-rules"' not in page  # standard Japanese: no やさしい日本語 check

    with live.session() as s, s.begin():
        s.execute(update(Conversation).where(Conversation.line_user_id == r.user_id)
                  .values(language="en"))
    page = sato.get(f"/console/cases/{case_id}").text
    hello = canned_of(page)["hello"]
    assert hello["language"] == "en" and hello["text"].startswith("Hello, I'm 佐藤")
    rules = re.search(r'<script type="application/json" id="easy-rules">(.*?)</script>', page,
                      re.S)
    assert rules and json.loads(rules.group(1))["avoid"][0] == {
        "word": "申請", "easier": "もうしこみ", "forms": ["申請"]}
    # A language without a variant of a reply gets it in やさしい日本語.
    with live.session() as s, s.begin():
        s.execute(update(Conversation).where(Conversation.line_user_id == r.user_id)
                  .values(language="fr"))
    hello = canned_of(sato.get(f"/console/cases/{case_id}").text)["hello"]
    assert hello["language"] == "ja_easy" and "そうだんいんの 佐藤です" in hello["text"]


def test_every_audited_action_has_words_for_the_log() -> None:
    """The log reads in Japanese: an action the code records without words would show as a
    bare English code."""
    from pathlib import Path

    from handoff.console.views import AUDIT_LABEL

    root = Path(__file__).resolve().parents[2]
    written = set()
    for path in [*root.joinpath("handoff").rglob("*.py"), *root.joinpath("bot").rglob("*.py")]:
        source = path.read_text(encoding="utf-8")
        written |= set(re.findall(r'action="([a-z_]+)"', source))
        written |= set(re.findall(r'_act\(request, case_id, me, "([a-z_]+)"', source))
        written |= set(re.findall(r'"(account_[a-z]+)"', source))
    assert len(written) > 30  # the search found the code's actions
    assert sorted(written - set(AUDIT_LABEL)) == []


def test_the_queue_and_the_caseload_record_each_case_they_show(live: LiveApp) -> None:
    """Lists are views of the cases they show (pseudonym, urgency, troubles), as the case page
    is; a page that refreshes itself is one row per case and ten minutes, not one a refresh."""
    _, case_id = resident_with_case(live)
    suzuki = logged_in(live, "suzuki")

    def rows(action: str) -> int:
        with live.session() as s:
            return len(s.scalars(select(AuditEntry).where(
                AuditEntry.case_id == case_id, AuditEntry.action == action)).all())

    assert case_id and pseudonym_of(live, case_id) in suzuki.get("/console/").text
    suzuki.get("/console/fragments/queue")
    assert rows("queue_view") == 1
    assert rows("caseload_view") == 0
    token = csrf_of(suzuki, f"/console/cases/{case_id}")
    suzuki.post(f"/console/cases/{case_id}/claim", data={"csrf": token})
    assert pseudonym_of(live, case_id) in suzuki.get("/console/caseload").text
    assert rows("caseload_view") == 1


def test_the_audit_log_is_filtered_by_case_person_kind_and_day(
        live: LiveApp, monkeypatch: pytest.MonkeyPatch) -> None:
    """Who looked at this case, and what did this person do: answered by filters. The rows
    lists write by themselves are kept out of the way unless asked for."""
    r, case_id = resident_with_case(live)
    sato = logged_in(live, "sato")
    sato.get("/console/")  # a queue_view of the case
    token = csrf_of(sato, f"/console/cases/{case_id}")
    sato.post(f"/console/cases/{case_id}/claim", data={"csrf": token})
    sato.post(f"/console/cases/{case_id}/reply", data={"csrf": token, "words": "こんばんは"})
    with live.session() as s:
        sato_id = s.scalars(select(Counsellor.id).where(Counsellor.username == "sato")).one()
    boss = logged_in(live, "boss")

    def shown(**query: str) -> list[tuple[str, str]]:
        page = boss.get("/console/audit", params=query)
        assert page.status_code == 200
        table = page.text[page.text.index('id="audit-log"'):]
        return re.findall(r'<small class="hint">([a-z_]+)</small></td>\s*<td>(?:<a href='
                          r'"/console/cases/\d+">#(\d+)</a>)?', table)

    acts = shown(case=str(case_id))
    assert {case for _, case in acts} == {str(case_id)}
    assert {"view", "claim", "reply"} <= {action for action, _ in acts}
    assert "queue_view" not in {action for action, _ in acts}
    assert ("queue_view", str(case_id)) in shown(case=str(case_id), kind="lists")
    assert {a for a, _ in shown(case=str(case_id), kind="all")} >= {"queue_view", "reply"}
    # Another counsellor's rows are not 佐藤's.
    by_sato = shown(who=str(sato_id), kind="all")
    assert by_sato and ("reply", str(case_id)) in by_sato
    assert shown(who=str(sato_id), case=str(case_id), since="2000-01-01",
                 until="2000-01-02") == []
    today = datetime.now(TOKYO).date().isoformat()
    assert ("reply", str(case_id)) in shown(case=str(case_id), since=today, until=today)
    unread = boss.get("/console/audit", params={"case": "十二", "kind": "x"})
    assert unread.status_code == 200 and "相談の番号は数字で入れてください" in unread.text

    # The case page leads a supervisor there; a counsellor has no such link.
    assert f'href="/console/audit?case={case_id}&amp;kind=all"' in boss.get(
        f"/console/cases/{case_id}").text
    assert 'id="case-audit"' not in sato.get(f"/console/cases/{case_id}").text

    # A page of the newest rows, then the ones before them.
    monkeypatch.setattr(audit_views, "PAGE", 2)
    first = boss.get("/console/audit", params={"case": str(case_id)}).text
    older = re.search(r'href="(/console/audit\?[^"]+)" id="audit-older"', first)
    assert older, "no link to the older rows"
    second = boss.get(older.group(1).replace("&amp;", "&")).text
    assert f"case={case_id}" in older.group(1)
    first_rows = re.findall(r"<tr><td>([0-9: -]+)</td>", first)
    second_rows = re.findall(r"<tr><td>([0-9: -]+)</td>", second)
    assert len(first_rows) == 2 and second_rows and max(second_rows) <= min(first_rows)
    assert r.user_id not in first + second


def test_every_follow_up_reason_has_words_for_the_case_page() -> None:
    """The case page says why a follow-up was not sent: a reason the code records without
    words would show as a bare English code."""
    from pathlib import Path

    from handoff.console.views import FOLLOWUP_REASON_LABEL

    root = Path(__file__).resolve().parents[2]
    written = set()
    for path in [*root.joinpath("handoff").rglob("*.py"), *root.joinpath("bot").rglob("*.py")]:
        source = path.read_text(encoding="utf-8")
        written |= set(re.findall(r'followups\.cancel\([^)]*?reason="([a-z_]+)"', source))
    source = root.joinpath("handoff", "followups.py").read_text(encoding="utf-8")
    written |= set(re.findall(r'return "([a-z_]+)"', source))  # _blocked_reason
    written |= set(re.findall(r'"([a-z_]+)" if', source))  # dispatch_due's own
    assert {"picked_up", "blocked", "no_conversation"} <= written  # the search found them
    assert sorted(written - set(FOLLOWUP_REASON_LABEL)) == []


def test_the_talk_shows_the_buttons_the_resident_tapped(live: LiveApp) -> None:
    """LINE sends a tap as postback data only: the console shows the words the resident saw
    on the button, marked as a button, and the sheet never shows a choice's code."""
    r = Resident(live)
    r.send(r.follow())
    r.wait_messages(4)
    r.tap("はじめる")
    r.tap("うまく言えない")
    r.tap("自分のこと")
    r.say("人と話したい")
    r.tap("同意する")
    wait_for(r.all_sent)
    page = logged_in(live, "sato").get(f"/console/cases/{case_of(live, r)}").text
    talk = page[page.index('<ol class="transcript">'):]
    tapped = re.findall(r'<span class="tapped">ボタンで答えた</span><span class="text">([^<]+)<',
                        talk)
    assert tapped == ["はじめる", "うまく言えない", "自分のこと", "同意する"]
    assert "人と話したい" in talk  # typed words stay as they were, unmarked
    assert "unknown" not in page
    assert "ご自身の言葉ではなく「うまく言えない」を選びました" in page
