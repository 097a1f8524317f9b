"""Who may use which console route, CSRF on every state-changing one, and security headers.

Every route of the console routers (desk, alerts, dashboard, administration) is classified in
ACCESS below; a route missing from it fails the first test, so a new route must be placed before
it can be merged. The other tests then walk the table: anonymous visitors, counsellors,
supervisors and administrators each get exactly what their role allows, and a refused request
changes nothing in the database.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from line_emulator import events as line_events
from sqlalchemy import select

from bot.db.models import (
    ContentDraft,
    ContentRelease,
    Conversation,
    OutboxMessage,
    RiskAssessmentRecord,
    utcnow,
)
from bot.platform.app import create_app
from bot.settings import Settings
from handoff.console.admin import router as admin_router
from handoff.console.alerts import router as alerts_router
from handoff.console.audit_views import router as audit_router
from handoff.console.content_forms import router as content_forms_router
from handoff.console.corpus_forms import router as corpus_forms_router
from handoff.console.dashboard import router as dashboard_router
from handoff.console.desk import router as presence_router
from handoff.console.floor_views import router as floor_router
from handoff.console.message_forms import router as message_forms_router
from handoff.console.referral_sources import router as referral_sources_router
from handoff.console.referral_views import router as referral_router
from handoff.console.rehearsal import router as rehearsal_router
from handoff.console.reply_forms import router as reply_forms_router
from handoff.console.risk_forms import router as risk_forms_router
from handoff.console.search_views import router as search_router
from handoff.console.support_forms import router as support_forms_router
from handoff.console.support_views import router as support_router
from handoff.console.views import router as desk_router
from handoff.models import (
    AuditEntry,
    Case,
    CaseAccessGrant,
    CaseMessage,
    CaseNote,
    Counsellor,
    EmergencyAck,
    EmergencyAction,
    EmergencyAlert,
    FollowUp,
    Referral,
    ReferralStatus,
    RiskReview,
    Role,
)
from tests.live import (
    PASSWORD,
    SECRET,
    TOKEN,
    LiveApp,
    Resident,
    Staff,
    console_client,
    conversation_of,
    csrf_of,
    logged_in,
    resident_with_case,
)

FLOW = "flows/intake.yaml"
ROUTERS = [desk_router, audit_router, dashboard_router, admin_router, rehearsal_router,
           presence_router, alerts_router, support_router, referral_router, referral_sources_router,
           floor_router, search_router, content_forms_router, risk_forms_router,
           corpus_forms_router, reply_forms_router, message_forms_router,
           support_forms_router]

PUBLIC, COUNSELLOR, SUPERVISOR, ADMIN = "public", "counsellor", "supervisor", "admin"
RANK = {PUBLIC: 0, COUNSELLOR: 1, SUPERVISOR: 2, ADMIN: 3}
USERS = {COUNSELLOR: "sato", SUPERVISOR: "boss", ADMIN: "admin"}

# The least role that may use each route (a higher role may too). Keyed by method and path as
# the routers declare them.
ACCESS: dict[tuple[str, str], str] = {
    ("GET", "/console/login"): PUBLIC,
    ("POST", "/console/login"): PUBLIC,
    ("GET", "/console/"): COUNSELLOR,
    ("GET", "/console/fragments/queue"): COUNSELLOR,
    ("GET", "/console/stream"): COUNSELLOR,
    ("GET", "/console/cases/{case_id}"): COUNSELLOR,
    ("GET", "/console/cases/{case_id}/fragments/transcript"): COUNSELLOR,
    ("POST", "/console/cases/{case_id}/claim"): COUNSELLOR,
    ("POST", "/console/take-next"): COUNSELLOR,
    ("POST", "/console/cases/{case_id}/notes"): COUNSELLOR,
    ("POST", "/console/cases/{case_id}/reply"): COUNSELLOR,
    ("POST", "/console/cases/{case_id}/typing"): COUNSELLOR,
    ("POST", "/console/cases/{case_id}/followups"): COUNSELLOR,
    ("POST", "/console/cases/{case_id}/followups/setting"): COUNSELLOR,
    ("POST", "/console/cases/{case_id}/risk/{assessment_id}/review"): COUNSELLOR,
    ("POST", "/console/cases/{case_id}/transfer"): COUNSELLOR,
    ("POST", "/console/cases/{case_id}/emergency"): COUNSELLOR,
    # A supervisor's note to whoever holds the case (before close: it needs a holder).
    ("POST", "/console/cases/{case_id}/whisper"): SUPERVISOR,
    ("POST", "/console/cases/{case_id}/close"): COUNSELLOR,
    # Support after the first reply: the plan, meetings, monitoring, and the caseload.
    ("POST", "/console/cases/{case_id}/support/plan"): COUNSELLOR,
    ("POST", "/console/cases/{case_id}/support/meeting"): COUNSELLOR,
    ("POST", "/console/cases/{case_id}/support/monitoring"): COUNSELLOR,
    ("POST", "/console/cases/{case_id}/support/results"): COUNSELLOR,
    ("GET", "/console/caseload"): COUNSELLOR,
    # 相談をさがす: search within what one may see (every case listed is audited).
    ("GET", "/console/search"): COUNSELLOR,
    # つなぐ: a referral asked of the resident, its sheet (only with their yes), what became of it.
    ("POST", "/console/cases/{case_id}/referrals"): COUNSELLOR,
    ("GET", "/console/cases/{case_id}/referrals/{referral_id}/sheet"): COUNSELLOR,
    ("POST", "/console/cases/{case_id}/referrals/{referral_id}/sent"): COUNSELLOR,
    ("POST", "/console/cases/{case_id}/referrals/{referral_id}/result"): COUNSELLOR,
    ("POST", "/console/cases/{case_id}/referrals/{referral_id}/withdrawn"): COUNSELLOR,
    # 相談経路: a case's source, set or corrected by whoever may act on it.
    ("POST", "/console/cases/{case_id}/source"): COUNSELLOR,
    # Emergency alerts: the banner on every page, its stream, 「確認しました」.
    ("GET", "/console/fragments/alerts"): COUNSELLOR,
    ("GET", "/console/alerts/stream"): COUNSELLOR,
    ("POST", "/console/alerts/{alert_id}/ack"): COUNSELLOR,
    # Another team's urgent case, for life safety (tests/security/test_need_to_know.py).
    ("POST", "/console/cases/{case_id}/break-glass"): COUNSELLOR,
    # Presence (対応可能 / 離席 / 終了) and the page's 30-second check of the desk's status.
    ("POST", "/console/desk/presence"): COUNSELLOR,
    ("GET", "/console/desk/status"): COUNSELLOR,
    # The floor: who is on, who holds what, and each counsellor's capacity.
    ("GET", "/console/floor"): SUPERVISOR,
    ("GET", "/console/fragments/floor"): SUPERVISOR,
    ("POST", "/console/floor/capacity"): SUPERVISOR,
    ("GET", "/console/audit"): SUPERVISOR,
    ("GET", "/console/outcomes"): SUPERVISOR,
    ("GET", "/console/outcomes/csv"): SUPERVISOR,
    # The departments' referral links and their QR codes, for leaflets.
    ("GET", "/console/referral-links"): SUPERVISOR,
    ("GET", "/console/referral-links/{source_id}/qr.svg"): SUPERVISOR,
    ("GET", "/console/admin/"): ADMIN,
    ("GET", "/console/admin/files/{name:path}"): ADMIN,
    ("POST", "/console/admin/files/{name:path}"): ADMIN,
    # Content in forms: the intake's cards, the towns and teams, the emergency numbers.
    ("GET", "/console/admin/flow/"): ADMIN,
    ("GET", "/console/admin/flow/{state}"): ADMIN,
    ("POST", "/console/admin/flow/{state}"): ADMIN,
    ("POST", "/console/admin/flow"): ADMIN,
    ("POST", "/console/admin/flow/{state}/remove"): ADMIN,
    ("GET", "/console/admin/places/"): ADMIN,
    ("POST", "/console/admin/places/teams/{index}"): ADMIN,
    ("POST", "/console/admin/places/municipalities/{index}"): ADMIN,
    ("POST", "/console/admin/places/municipalities"): ADMIN,
    ("GET", "/console/admin/hotlines/"): ADMIN,
    ("POST", "/console/admin/hotlines/{index}"): ADMIN,
    ("POST", "/console/admin/hotlines"): ADMIN,
    ("GET", "/console/admin/followups/"): ADMIN,
    ("POST", "/console/admin/followups"): ADMIN,
    ("GET", "/console/admin/risk/"): ADMIN,
    ("GET", "/console/admin/risk/{category}"): ADMIN,
    ("POST", "/console/admin/risk/{category}"): ADMIN,
    ("POST", "/console/admin/risk/{category}/rules/{index}"): ADMIN,
    ("POST", "/console/admin/risk/{category}/rules"): ADMIN,
    ("POST", "/console/admin/risk"): ADMIN,
    ("POST", "/console/admin/risk/{category}/remove"): ADMIN,
    ("POST", "/console/admin/self-help/{index}"): ADMIN,
    ("POST", "/console/admin/self-help"): ADMIN,
    ("GET", "/console/admin/support/"): ADMIN,
    ("POST", "/console/admin/support/programmes/{programme}"): ADMIN,
    ("POST", "/console/admin/support/programmes"): ADMIN,
    ("POST", "/console/admin/support/routing"): ADMIN,
    ("POST", "/console/admin/support/destinations/{index}"): ADMIN,
    ("POST", "/console/admin/support/destinations"): ADMIN,
    ("GET", "/console/admin/messages/"): ADMIN,
    ("POST", "/console/admin/messages/{section}"): ADMIN,
    ("GET", "/console/admin/replies/"): ADMIN,
    ("POST", "/console/admin/replies/{index}"): ADMIN,
    ("POST", "/console/admin/replies"): ADMIN,
    ("GET", "/console/admin/corpus/"): ADMIN,
    ("POST", "/console/admin/corpus/messages/{message_id}"): ADMIN,
    ("POST", "/console/admin/corpus/messages"): ADMIN,
    ("POST", "/console/admin/corpus/evaluate"): ADMIN,
    ("GET", "/console/admin/corpus/evaluation"): ADMIN,
    ("GET", "/console/admin/diff"): ADMIN,
    ("GET", "/console/admin/lexicon"): ADMIN,
    ("GET", "/console/admin/diagram"): ADMIN,
    ("GET", "/console/admin/risk-reviews"): ADMIN,
    ("POST", "/console/admin/risk-reviews/{review_id}/add"): ADMIN,
    ("POST", "/console/admin/risk-reviews/{review_id}/dismiss"): ADMIN,
    ("GET", "/console/admin/try/"): ADMIN,
    ("POST", "/console/admin/try/"): ADMIN,
    ("POST", "/console/admin/publish"): ADMIN,
    ("POST", "/console/admin/discard"): ADMIN,
    ("POST", "/console/admin/releases/{release_id}/rollback"): ADMIN,
    # Last: it ends the session the other requests use. It needs no account (it only clears
    # the session), but an anonymous visitor is sent to the login page like everywhere else.
    ("POST", "/console/logout"): COUNSELLOR,
}


def routes_of(routers: list[Any]) -> set[tuple[str, str]]:
    return {(method, route.path) for router in routers for route in router.routes
            if isinstance(route, APIRoute) for method in route.methods}


def form_for(key: tuple[str, str], ids: dict[str, Any]) -> dict[str, str]:
    """A complete, valid form for each POST route: only the role or the token may be missing,
    so a 403 is never a 422 in disguise and a missing check would show as a change."""
    forms: dict[str, dict[str, str]] = {
        "/console/login": {"username": "sato", "password": "not the password"},
        "/console/logout": {},
        "/console/desk/presence": {"presence": "away"},
        "/console/cases/{case_id}/claim": {},
        "/console/take-next": {},
        "/console/cases/{case_id}/whisper": {"words": "家賃の制度も伝えてみてください"},
        "/console/floor/capacity": {"counsellor_id": str(ids["sato_id"]), "capacity": "3"},
        "/console/cases/{case_id}/notes": {"words": "家賃のメモ"},
        "/console/cases/{case_id}/reply": {"words": "お話を聞かせてください。"},
        "/console/cases/{case_id}/typing": {},
        "/console/cases/{case_id}/followups": {"when": "2099-12-01T10:00",
                                               "words": "その後いかがですか"},
        "/console/cases/{case_id}/followups/setting": {"allowed": "false"},
        "/console/cases/{case_id}/risk/{assessment_id}/review": {"level": "imminent"},
        "/console/cases/{case_id}/transfer": {"to": "team:pref"},
        "/console/cases/{case_id}/close": {"outcome": "info"},
        "/console/cases/{case_id}/support/plan": {"goals": "家賃を払い続けたい",
                                                  "agreed_on": "2026-12-04", "months": "3"},
        "/console/cases/{case_id}/support/meeting": {"held_on": "2026-12-04",
                                                     "roles": "counsellor",
                                                     "decision": "一緒に求人を探す"},
        "/console/cases/{case_id}/support/monitoring": {"held_on": "2026-12-04",
                                                        "summary": "様子をうかがった",
                                                        "decision": "continue"},
        "/console/cases/{case_id}/support/results": {"results": "work_found"},
        "/console/cases/{case_id}/referrals": {"target": "hoken:0"},
        "/console/cases/{case_id}/referrals/{referral_id}/sent": {"how": "hand"},
        "/console/cases/{case_id}/referrals/{referral_id}/result": {"accepted": "true"},
        "/console/cases/{case_id}/referrals/{referral_id}/withdrawn": {},
        "/console/cases/{case_id}/source": {"source": "tax"},
        "/console/cases/{case_id}/emergency": {"action": "location_asked", "by_whom": "佐藤",
                                               "outcome": "自宅にいると確認した"},
        "/console/alerts/{alert_id}/ack": {},
        "/console/cases/{case_id}/break-glass": {"reason": "夜間で担当チームが不在のため"},
        "/console/admin/files/{name:path}": {"text": ids["flow_text"]},
        "/console/admin/try/": {"state": "not signed here", "text": "こんにちは"},
        "/console/admin/flow/{state}": {"ask-0-text": "ご相談を、はじめてもよいですか。"},
        "/console/admin/flow": {"question": "ほかにも気になることはありますか。",
                                "from_state": "info", "entry_label": "ほかのこと",
                                "new-0-label": "はい", "new-0-next": "trouble"},
        "/console/admin/flow/{state}/remove": {},
        "/console/admin/places/teams/{index}": {
            "name": "みどり市 くらし相談センター", "day-mon": "1", "day-tue": "1",
            "open": "08:30", "close": "17:15"},
        "/console/admin/places/municipalities/{index}": {
            "name": "みどり市", "kana": "みどりし", "team": "midori", "area": "east"},
        "/console/admin/places/municipalities": {
            "name": "さくら町", "kana": "さくらまち", "team": "midori", "area": "east"},
        "/console/admin/hotlines/{index}": {
            "label": "救急車・消防", "tel": "119", "hours": "24時間", "free": "true",
            "categories": "plan_means", "general": "1"},
        "/console/admin/followups": {"quiet-start": "21:00", "quiet-end": "08:00",
                                     "intake_stalled-hours": "48"},
        "/console/admin/hotlines": {"label": "よりそいホットライン", "tel": "0120-279-338",
                                    "hours": "24時間", "categories": "isolation"},
        "/console/admin/risk/{category}": {"label": "食料がない", "third_party": "keep"},
        "/console/admin/risk/{category}/rules/{index}": {
            "level": "high", "lemmas": "食べる、食う\n物、もの\nが、も\n無い、ない", "gap": "2",
            "positive": "今日食べるものがない", "negative": "食べるものがないわけじゃない"},
        "/console/admin/risk/{category}/rules": {
            "name": "こめびつ", "level": "high", "lemmas": "米びつ\n空", "gap": "2",
            "positive": "米びつが空です", "negative": "米びつを買った"},
        "/console/admin/risk": {
            "label": "ギャンブルの借金", "name": "ぎゃんぶる", "level": "concern",
            "lemmas": "パチンコ\n借金", "gap": "3", "positive": "パチンコで借金がある",
            "negative": "パチンコに行った", "hotlines": "yorisoi"},
        "/console/admin/risk/{category}/remove": {},
        "/console/admin/corpus/messages/{message_id}": {"words": "つかれた", "level": "concern"},
        "/console/admin/corpus/messages": {"words": "もう何日も食べていない", "level": "high"},
        "/console/admin/corpus/evaluate": {},
        "/console/admin/replies/{index}": {"title": "あいさつ",
                                           "text-ja": "こんにちは。{name}です。"},
        "/console/admin/replies": {"title": "お礼", "text-ja": "ありがとうございます。"},
        "/console/admin/self-help/{index}": {
            "label": "まもろうよ こころ（厚生労働省）", "text": "相談窓口を探せます。",
            "url": "https://www.mhlw.go.jp/mamorouyokokoro/"},
        "/console/admin/self-help": {"label": "フードバンク", "text": "食べものを受け取れます。"},
        "/console/admin/support/programmes/{programme}": {"name": "フードバンク"},
        "/console/admin/support/programmes": {"name": "こども食堂", "kana": "こどもしょくどう"},
        "/console/admin/support/routing": {"always": "jiritsu"},
        "/console/admin/support/destinations/{index}": {
            "name": "福祉事務所（生活保護の相談）", "purposes": "生活保護の申請について相談する",
            "local-midori": "みどり市 福祉課", "needs": "name", "welfare": "1"},
        "/console/admin/support/destinations": {"name": "フードバンク",
                                                "purposes": "食料を受け取る"},
        "/console/admin/messages/{section}": {
            "t:wait_keep_writing": "待っているあいだも、書いてください。"},
        "/console/admin/risk-reviews/{review_id}/add": {"text": "言い換えた文", "level": "high"},
        "/console/admin/risk-reviews/{review_id}/dismiss": {},
        "/console/admin/publish": {"reason": "確認"},
        "/console/admin/discard": {},
        "/console/admin/releases/{release_id}/rollback": {"reason": "確認"},
    }
    return dict(forms[key[1]])


def concrete(path: str, ids: dict[str, Any]) -> str:
    """The path with real ids: a refusal must not be a 404 for a case that does not exist.
    Break-glass is for another team's urgent case."""
    if path.endswith("/break-glass"):
        ids = {**ids, "case_id": ids["elsewhere_id"]}
    return re.sub(r"\{(\w+)(?::path)?\}", lambda m: str(ids[m.group(1)]), path)


# ---------------------------------------------------------------------- the product


@pytest.fixture(scope="module")
def live_settings() -> dict[str, Any]:
    # A short fallback lets an abandoned live-update stream end soon after the test closes it.
    return {"live_fallback_seconds": 0.5}


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("sato", "佐藤", team_id="pref"), Staff("boss", "主任", Role.SUPERVISOR, "pref"),
            Staff("admin", "管理者", Role.ADMIN), Staff("tanaka", "tanaka", team_id="midori"),
            Staff("midoriboss", "midoriboss", Role.SUPERVISOR, "midori")]


def open_case(live: LiveApp) -> dict[str, Any]:
    """A real case from a resident who asked for a person, and the ids the routes need."""
    r, case_id = resident_with_case(live)
    r.say("家賃のことで相談したいです")  # an assessed message, and a counsellor's mark of it
    with live.session() as s, s.begin():
        release = s.scalars(select(ContentRelease).order_by(ContentRelease.id)).first()
        assert release is not None
        assessment = s.scalars(select(RiskAssessmentRecord).where(
            RiskAssessmentRecord.conversation_id == conversation_of(live, r).id).order_by(
            RiskAssessmentRecord.id.desc())).first()
        assert assessment is not None
        sato = s.scalars(select(Counsellor).where(Counsellor.username == "sato")).one()
        review = RiskReview(assessment_id=assessment.id, case_id=case_id,
                            counsellor_id=sato.id, assessed=assessment.level, suggested="high")
        s.add(review)
        elsewhere = Conversation(line_user_id=line_events.new_user_id(), flow_id="intake",
                                 flow_version="v", state="handoff")
        s.add(elsewhere)
        s.flush()
        urgent = Case(conversation_id=elsewhere.id, team_id="midori", priority="imminent",
                      basis="life_safety")
        s.add(urgent)
        alert = EmergencyAlert(case_id=case_id, team_id="pref",  # raised, not yet seen
                               escalate_at=utcnow() + timedelta(days=1))
        s.add(alert)
        referral = Referral(case_id=case_id, counsellor_id=sato.id, destination="foodbank",
                            recipient="フードバンク", purpose="食料を受け取る",
                            status=ReferralStatus.AGREED, answered_at=utcnow())
        s.add(referral)
        s.flush()
        return {"case_id": case_id, "elsewhere_id": urgent.id, "alert_id": alert.id,
                "release_id": release.id, "source_id": "tax",
                "name": FLOW, "flow_text": release.files[FLOW], "assessment_id": assessment.id,
                "state": "welcome", "index": 0, "category": "no_food",
                "message_id": "w01-0001", "section": "wait", "programme": "foodbank",
                "review_id": review.id, "referral_id": referral.id, "sato_id": sato.id}


TABLES = [Case, CaseNote, CaseMessage, AuditEntry, FollowUp, OutboxMessage, Conversation,
          CaseAccessGrant, EmergencyAlert, EmergencyAck, EmergencyAction,
          Counsellor, ContentRelease, ContentDraft, RiskReview, Referral]


def snapshot(live: LiveApp) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table a console action writes, column by column."""
    with live.session() as s:
        return {model.__tablename__: [
            tuple(getattr(row, c.key) for c in model.__table__.columns)
            for row in s.scalars(select(model).order_by(*model.__table__.primary_key.columns))]
            for model in TABLES}


def get(client: httpx.Client, path: str) -> httpx.Response:
    """A GET that also works for the live-update stream, which never ends by itself."""
    if path in ("/console/stream", "/console/alerts/stream"):
        with client.stream("GET", path) as answer:
            return answer
    return client.get(path)


def routes(method: str) -> list[tuple[str, str]]:
    return [key for key in ACCESS if key[0] == method]


# ---------------------------------------------------------------------- tests


def test_every_console_route_is_classified(tmp_path: Path) -> None:
    declared = routes_of(ROUTERS)
    assert declared - ACCESS.keys() == set(), "classify these routes in ACCESS"
    assert ACCESS.keys() - declared == set(), "these routes no longer exist"
    # The app serves no /console route outside these routers. FastAPI wraps an included
    # router (`original_router`); if that changes, this test must be adapted, not dropped.
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/app.db", emulator=True,
                              line_channel_secret=SECRET, line_channel_access_token=TOKEN),
                     background=False)
    app.state.runtime.engine.dispose()
    included = [r.original_router for r in app.router.routes if hasattr(r, "original_router")]
    assert all(any(router is known for known in ROUTERS) for router in included
               if any(p.startswith("/console") for _, p in routes_of([router]))), \
        "a console router that this test does not know is included in the app"
    assert sum(any(router is known for router in included) for known in ROUTERS) == len(ROUTERS)
    direct = {(m, r.path) for r in app.router.routes if isinstance(r, APIRoute)
              for m in r.methods if r.path.startswith("/console")}
    assert direct == set()


def test_anonymous_visitors_are_sent_to_the_login_page(live: LiveApp) -> None:
    ids = open_case(live)
    client = console_client(live)
    for method, path in routes("GET"):
        answer = get(client, concrete(path, ids))
        if ACCESS[method, path] == PUBLIC:
            assert answer.status_code == 200, path
        else:
            assert answer.status_code == 303, path
            assert answer.headers["location"] == "/console/login", path

    before = snapshot(live)
    for key in routes("POST"):
        path = concrete(key[1], ids)
        form = form_for(key, ids)
        # No token: refused before anything runs.
        assert client.post(path, data=form).status_code in (303, 403), key
        # A valid token of an anonymous session: the login check is what refuses it.
        answer = client.post(path, data={**form, "csrf": csrf_of(client, "/console/login")})
        if ACCESS[key] == PUBLIC:  # the login form, with a wrong password
            assert answer.status_code == 200 and "違います" in answer.text
        else:
            assert answer.status_code == 303, key
            assert answer.headers["location"] == "/console/login", key
    after = snapshot(live)
    # The one change: the failed login is in the audit log (by no counsellor, from the address,
    # about no case).
    kept, added = after["audit_log"][:len(before["audit_log"])], \
        after["audit_log"][len(before["audit_log"]):]
    assert kept == before["audit_log"]
    assert [(row[1], row[2], row[4], row[5]) for row in added] == [
        (None, "login 127.0.0.1", "login_failed", None)]
    assert {k: v for k, v in after.items() if k != "audit_log"} == \
        {k: v for k, v in before.items() if k != "audit_log"}


@pytest.mark.parametrize("role", [COUNSELLOR, SUPERVISOR, ADMIN])
def test_each_role_reaches_exactly_its_routes(live: LiveApp, role: str) -> None:
    ids = open_case(live)
    client = logged_in(live, USERS[role])
    for method, path in routes("GET"):
        if ACCESS[method, path] == PUBLIC:
            continue
        allowed = RANK[role] >= RANK[ACCESS[method, path]]
        answer = get(client, concrete(path, ids))
        assert answer.status_code == (200 if allowed else 403), (role, path, answer.status_code)

    token = csrf_of(client, "/console/")
    posts = [key for key in routes("POST") if ACCESS[key] != PUBLIC]
    denied = [key for key in posts if RANK[role] < RANK[ACCESS[key]]]
    before = snapshot(live)
    for key in denied:
        answer = client.post(concrete(key[1], ids), data={**form_for(key, ids), "csrf": token})
        assert answer.status_code == 403, (role, key, answer.status_code)
    assert snapshot(live) == before, f"a request refused to a {role} changed something"

    for key in posts:  # in ACCESS order: claim before reply and close, logout last
        if key in denied:
            continue
        answer = client.post(concrete(key[1], ids), data={**form_for(key, ids), "csrf": token})
        assert 200 <= answer.status_code < 400, (role, key, answer.status_code, answer.text[:200])
        if key[1] != "/console/logout":  # a redirect to the login page would be a refusal
            assert answer.headers.get("location") != "/console/login", (role, key)
    assert client.get("/console/").status_code == 303  # logged out by the last one


def test_every_state_changing_route_needs_the_sessions_csrf_token(live: LiveApp) -> None:
    ids = open_case(live)
    clients = {role: logged_in(live, user) for role, user in USERS.items()}
    # A token that is valid, but for another session of the same account.
    others = {role: csrf_of(logged_in(live, user), "/console/") for role, user in USERS.items()}
    anonymous = console_client(live)
    other_anonymous = csrf_of(console_client(live), "/console/login")
    csrf_of(anonymous, "/console/login")  # the anonymous session has a token of its own

    before = snapshot(live)
    for key in routes("POST"):
        role = ACCESS[key]  # the least role allowed: the check is CSRF, not the role
        client = anonymous if role == PUBLIC else clients[role]
        other = other_anonymous if role == PUBLIC else others[role]
        # The right password on the login form: only the token is wrong.
        form = {**form_for(key, ids), **({"password": PASSWORD} if role == PUBLIC else {})}
        for bad in (None, "", "forged", other):
            data = form if bad is None else {**form, "csrf": bad}
            answer = client.post(concrete(key[1], ids), data=data)
            assert answer.status_code == 403, (key, bad, answer.status_code)
    assert snapshot(live) == before
    for client in clients.values():  # logout was refused too
        assert client.get("/console/").status_code == 200
    assert anonymous.get("/console/").status_code == 303  # and so was the login


def test_console_middlewares_stay_on_the_console(live: LiveApp) -> None:
    """The webhook and the emulator get neither the console's cookie nor its headers (they are
    applied to /console only, so LINE's requests pay for neither), and /consolefoo is not
    the console."""
    resident = Resident(live)
    answer = live.post([resident.follow()])
    assert answer.status_code == 200
    assert "set-cookie" not in answer.headers
    assert "content-security-policy" not in answer.headers
    assert "x-frame-options" not in answer.headers
    assert console_client(live).get("/consolefoo").status_code == 404
    assert "x-frame-options" not in console_client(live).get("/consolefoo").headers
    assert_hardened(console_client(live).get("/console"), "/console itself")

BASE_CSP = {"default-src": ["'self'"], "img-src": ["'self'", "data:"],
            "frame-ancestors": ["'none'"]}
# The diagram page only: the vendored Mermaid styles the SVG it draws (docs/ARCHITECTURE.md).
DIAGRAM_CSP = {**BASE_CSP, "style-src": ["'self'", "'unsafe-inline'"]}


def policy(header: str) -> dict[str, list[str]]:
    parts = [p.split() for p in header.split(";") if p.strip()]
    return {p[0]: p[1:] for p in parts}


def assert_hardened(answer: httpx.Response, what: str) -> None:
    h = answer.headers
    assert h.get("x-frame-options") == "DENY", what
    assert h.get("x-content-type-options") == "nosniff", what
    assert h.get("referrer-policy") == "no-referrer", what
    assert "no-store" in [v.strip() for v in h.get("cache-control", "").split(",")], what
    expected = DIAGRAM_CSP if what.startswith("/console/admin/diagram") else BASE_CSP
    assert policy(h.get("content-security-policy", "")) == expected, (what, h.get(
        "content-security-policy"))


def test_every_console_page_sends_the_security_headers(live: LiveApp) -> None:
    ids = open_case(live)
    admin = logged_in(live, "admin")  # allowed everywhere
    for _, path in routes("GET"):
        where = concrete(path, ids)
        answer = get(admin, where)
        assert answer.status_code == 200, where
        assert_hardened(answer, where)
    # Refusals and redirects carry them too, and so do the console's static files.
    assert_hardened(console_client(live).get("/console/"), "anonymous redirect")
    assert_hardened(logged_in(live, "sato").get("/console/admin/"), "counsellor refused")
    static = Path(__file__).resolve().parents[2] / "handoff" / "console" / "static"
    for file in sorted(p for p in static.rglob("*") if p.is_file()):
        where = f"/console/static/{file.relative_to(static).as_posix()}"
        answer = admin.get(where)
        assert answer.status_code == 200, where
        assert_hardened(answer, where)


# Need-to-know: every route about one case answers 404 to another team's counsellor or
# supervisor, as if the case did not exist. A new case route is walked here automatically;
# only break-glass (which is how one crosses, for life safety) is exempt. A route above the
# visitor's role is refused for that (403) before any case is looked up, so it says nothing
# about the case either: the same 403 comes for a case that does not exist.
CROSSES_TEAMS = {("POST", "/console/cases/{case_id}/break-glass")}


@pytest.mark.parametrize("username", ["tanaka", "midoriboss"])
def test_every_case_route_is_a_404_for_another_team(live: LiveApp, username: str) -> None:
    ids = open_case(live)
    other = logged_in(live, username)
    rank = RANK[SUPERVISOR if username.endswith("boss") else COUNSELLOR]
    token = csrf_of(other, "/console/")
    case_routes = [key for key in ACCESS if "{case_id}" in key[1] and key not in CROSSES_TEAMS]
    assert len(case_routes) >= 10
    before = snapshot(live)
    for method, path in case_routes:
        where = concrete(path, ids)
        answer = get(other, where) if method == "GET" else other.post(
            where, data={**form_for((method, path), ids), "csrf": token})
        if rank < RANK[ACCESS[method, path]]:
            nowhere = concrete(path, {**ids, "case_id": 10**9})
            missing = get(other, nowhere) if method == "GET" else other.post(
                nowhere, data={**form_for((method, path), ids), "csrf": token})
            assert answer.status_code == missing.status_code == 403, (username, method, path)
            continue
        assert answer.status_code == 404, (username, method, path, answer.status_code)
    assert get(other, f"/console/stream?case={ids['case_id']}").status_code == 404
    assert other.post(f"/console/alerts/{ids['alert_id']}/ack",
                      data={"csrf": token}).status_code == 404
    assert f'data-alert="{ids["alert_id"]}"' not in other.get("/console/fragments/alerts").text
    assert other.get("/console/?team=pref").status_code == 404
    assert other.get("/console/fragments/queue?team=pref").status_code == 404
    assert snapshot(live) == before, "a request refused across teams changed something"
