"""The counsellor console: login, queue, case page (つなぐシート, talk, reply, close), audit."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from bot.db.models import Conversation, InboxEvent, OutboxMessage, utcnow
from handoff import (
    access,
    audit,
    cases,
    casework,
    contact_view,
    floor,
    followups,
    history,
    logins,
    presence,
    queue,
    referrals,
    risk_review,
    sessions,
    unread,
)
from handoff.console import desk, line_signals, notices, wait_panel
from handoff.console.host import ConsoleHost, host
from handoff.console.reply_aids import reply_aids
from handoff.console.security import (
    DEVICE_COOKIE,
    DEVICE_DAYS,
    SESSION_CSRF,
    SESSION_TOKEN,
    CsrfChecked,
    CurrentCounsellor,
    console_auth,
    csrf_token,
)
from handoff.console.support_context import support_context
from handoff.durations import minutes_text
from handoff.models import (
    Case,
    CaseMessage,
    CaseNote,
    CaseStatus,
    Counsellor,
    FollowUp,
    Outcome,
    Role,
    at_least,
    sees_every_team,
)
from handoff.presence import ANSWERING
from handoff.transcript import transcript

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["wait_panel"] = wait_panel.panel  # the case page's _waiting.html
templates.env.globals["duration"] = minutes_text  # _desk_macros.html's wait_text
templates.env.globals["since_ms"] = desk.ms  # a ticking time's start, for desk.js
router = APIRouter(prefix="/console", include_in_schema=False)

PRIORITY_LABEL = {"imminent": "最優先（差し迫った危険）", "high": "高", "normal": "通常"}
OUTCOME_LABEL = {Outcome.PLAN: "継続支援・プラン（以前の記録）",
                 Outcome.SUPPORTED: "支援を終えた（終結）", Outcome.INFO: "情報提供のみ",
                 Outcome.REFERRED: "他機関へつないだ", Outcome.RETURNED: "ボットに戻した",
                 Outcome.WITHDRAWN: "相談者が同意を取り消した"}
RISK_LABEL = {"imminent": "差し迫った危険", "high": "高い", "concern": "気がかり", "none": "なし"}
# A follow-up on the case page: which message, what became of it and why, never a code.
FOLLOWUP_KIND_LABEL = {"intake_stalled": "受付の途中で止まった方へのリマインド",
                       "not_picked_up": "担当が決まるまでのお知らせ",
                       "after_close": "終了後の様子うかがい",
                       "monitoring": "支援計画の見直しの日のお知らせ",
                       "manual": "相談員が予定したもの"}
FOLLOWUP_STATE_LABEL = {"scheduled": "予定", "sent": "送信済み", "cancelled": "取り消し"}
FOLLOWUP_REASON_LABEL = {"picked_up": "相談員が担当したため",
                         "closed": "相談を終えたため",
                         "supported": "継続支援に入ったため",
                         "plan": "支援計画の見直し日が変わったか、本人が望まなくなったため",
                         "case_forbids": "この相談には送らない設定のため",
                         "blocked": "相談者がブロックしたため",
                         "answered": "相談者が続きを書いたため",
                         "consent_withdrawn": "相談者が同意を取り消したため",
                         "no_conversation": "会話の記録が消えていたため"}
# The audit log in the words of the people who read it (the code stays beside it, small).
AUDIT_LABEL = {
    "view": "相談を開いた", "view_transcript": "トークを見た（表示中の更新）", "claim": "担当した",
    "reply": "返信した", "note": "メモを書いた", "transfer": "引き継いだ",
    "close": "相談を終了した",
    "followup": "フォローアップを予定・変更した", "risk_mark": "危険度の見直しを求めた",
    "risk_review_view": "危険度の見直しを見た", "break_glass": "緊急時の閲覧",
    "emergency_ack": "緊急の知らせを確認した", "emergency_action": "緊急対応を記録した",
    "emergency_escalation": "緊急の知らせを当番に送った", "source": "相談経路を記録した",
    "support_plan": "支援計画を記録した", "support_meeting": "支援調整会議を記録した",
    "support_monitoring": "モニタリングを記録した", "support_results": "支援の成果を記録した",
    "referral": "つなぐ先をたずねた・例外で記録した", "referral_sheet": "つなぐシートを開いた",
    "referral_sent": "つなぐシートを渡した", "referral_result": "つないだ結果を記録した",
    "referral_withdrawn": "つなぐことの取り消しを記録した",
    "export_outcomes": "成果のCSVを保存した",
    "floor_view": "フロアの様子で見た", "queue_view": "受付一覧で見た",
    "caseload_view": "担当の相談の一覧で見た", "capacity": "担当できる数を変えた",
    "whisper": "主任からのメモを書いた", "search_view": "検索・一覧で見た",
    "presence": "対応状況を変えた", "login": "ログインした", "logout": "ログアウトした",
    "login_failed": "ログインに失敗した", "login_backoff": "ログインを一時的に止めた",
    "login_address_blocked": "同じ接続元からのログインを止めた", "unlock": "ログインの制限を解いた",
    "password_changed": "パスワードを変えた", "role_changed": "役割を変えた",
    "account_added": "アカウントを作った", "account_enabled": "アカウントを有効にした",
    "account_disabled": "アカウントを無効にした",
    "sessions_revoked": "ログイン中の画面をすべて終了した",
    "demo_accounts": "デモのアカウントを作った", "content_edit": "コンテンツの下書きを編集した",
    "content_evaluate": "下書きの判定の成績を計算した", "content_preview": "下書きを試した",
    "content_publish": "コンテンツを公開した",
    "content_discard": "下書きを破棄した", "content_rollback": "以前の版に戻した",
}
REFERRAL_LABEL = {"asked": "相談者の返事を待っています", "agreed": "同意あり",
                  "declined": "相談者が断りました", "withdrawn": "取り消されました"}
SENT_HOW_LABEL = {"hand": "印刷して手渡し", "post": "郵送", "fax": "FAX", "phone": "電話で伝えた",
                  "visit": "同行して手渡し", "online": "庁内システム・メール"}


def answer_labels(runtime: ConsoleHost) -> dict[str, dict[str, str]]:
    """answer key -> value -> the label the resident tapped, read from the flow itself."""
    labels: dict[str, dict[str, str]] = {}
    for loaded in runtime.content.flows.values():
        for state in loaded.flow.states.values():
            ask = state.ask
            if ask is not None and ask.record:
                for choice in ask.choices:
                    labels.setdefault(ask.record, {})[choice.value] = choice.label
    places = runtime.content.places
    # The towns by name, beside the flow's own answers (この中にない, 答えたくない).
    labels["municipality"] = {**labels.get("municipality", {}),
                              **{m.id: m.name for m in places.municipalities}}
    labels["area"] = {a.id: a.name for a in places.areas}
    labels["risk_category"] = {c.category: c.label for c in runtime.content.lexicon.categories}
    return labels


def _menu_taps(request: Request) -> dict[str, str]:
    """The rich menu's postback data -> what a tap shows in the chat (Japanese words)."""
    areas = host(request).content.messages.richmenu.areas
    return {a.postback: a.display_text or a.label for a in areas if a.postback}


def first_words(answers: dict[str, Any], labels: dict[str, dict[str, str]]) -> str:
    """The resident's own first words for the sheet: what they wrote, or which button they
    chose instead (never the choice's code, such as "unknown")."""
    trouble = answers.get("trouble")
    if trouble is None or trouble == "":
        return "（まだありません）"
    chosen = labels.get("trouble", {}).get(str(trouble))
    if chosen is not None:
        return f"（ご自身の言葉ではなく「{chosen}」を選びました）"
    return str(trouble)


templates.env.globals["first_words"] = first_words


def _page(request: Request, name: str, **context: Any) -> HTMLResponse:
    context.setdefault("me", None)
    context.setdefault("notice", notices.from_query(request.query_params))
    context.setdefault("desk_header", desk.Header(request, context["me"]))
    return templates.TemplateResponse(request, name, {
        "csrf": csrf_token(request), "labels": {
            "priority": PRIORITY_LABEL, "outcome": OUTCOME_LABEL, "risk": RISK_LABEL,
            "referral": REFERRAL_LABEL, "sent_how": SENT_HOW_LABEL,
            "followup_kind": FOLLOWUP_KIND_LABEL, "followup_state": FOLLOWUP_STATE_LABEL,
            "followup_reason": FOLLOWUP_REASON_LABEL},
        "answer": answer_labels(host(request)), **context})


def _waited(since: datetime) -> int:
    return max(0, int((utcnow() - since).total_seconds() // 60))


# ---------------------------------------------------------------------- login


@router.get("/login")
def login_page(request: Request) -> HTMLResponse:
    return _page(request, "login.html", error=None)


LOGIN_REFUSED = {
    logins.Outcome.WRONG: (200, "ユーザー名かパスワードが違います。"),
    logins.Outcome.ADDRESS_LIMITED: (
        429, "ログインの試行が続いたため、しばらくお待ちいただいています。"
             "10 分ほどしてから、もう一度お試しください。"),
    logins.Outcome.NAME_LIMITED: (
        429, "このユーザー名では、まちがったパスワードが続いたため、少しお待ちいただいています。"
             "数分後にもう一度お試しください。お急ぎのときは主任か管理者にご相談ください。"),
}
LOGIN_BUSY = "ただいまログインが混み合っています。しばらくしてから、もう一度お試しください。"


def _login_again(request: Request, error: str, status: int,
                 retry_after: str | None = None) -> HTMLResponse:
    """The login form with a message. Rendered with only what it needs (not the case pages'
    labels): under a flood of logins each refusal must cost little."""
    page = templates.TemplateResponse(request, "login.html", {
        "csrf": csrf_token(request), "me": None, "error": error}, status_code=status)
    if retry_after:
        page.headers["Retry-After"] = retry_after
    return page


@router.post("/login", dependencies=[CsrfChecked])
async def login(request: Request, username: Annotated[str, Form()],
                password: Annotated[str, Form()]) -> Response:
    """Async, so that waiting logins hold no worker thread: the password check runs through
    the gate (a few at a time), everything else of the attempt with it, in one transaction."""
    auth = console_auth(request)
    address = logins.address_of(request.client.host if request.client else "")
    trusted = auth.trusted_account(request.cookies.get(DEVICE_COOKIE))

    def attempt() -> logins.Result:
        with host(request).sessions() as session, session.begin():
            return logins.attempt(session=session, username=username, password=password,
                                  address=address, key=auth.name_key, limits=auth.limits,
                                  trusted_account_id=trusted)

    result = await auth.gate.run(attempt)
    if result is None:
        return _login_again(request, LOGIN_BUSY, 503, retry_after="10")
    if result.outcome != logins.Outcome.OK or result.account_id is None:
        status, message = LOGIN_REFUSED[result.outcome]
        return _login_again(request, message, status,
                            retry_after="60" if status == 429 else None)
    request.session.clear()  # a new session on login: no fixation
    request.session[SESSION_TOKEN] = result.token
    request.session[SESSION_CSRF] = None
    done = RedirectResponse("/console/", status_code=303)
    done.set_cookie(DEVICE_COOKIE, auth.device_cookie(result.account_id),
                    max_age=DEVICE_DAYS * 86400, path="/console/login", httponly=True,
                    samesite="strict", secure=auth.secure_cookies)
    return done


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request) -> Response:
    """Ends the server-side session: the old cookie, replayed, no longer logs anyone in."""
    token = request.session.get(SESSION_TOKEN)
    request.session.clear()
    if token:
        with host(request).sessions() as session, session.begin():
            account_id = sessions.revoke(session=session, token=str(token), why="logout")
            if account_id is not None:
                account = session.get(Counsellor, account_id)
                if account is not None:
                    audit.record_account_event(session=session, actor=account,
                                               action="logout", account_id=account_id)
                    presence.off_at_logout(session=session, counsellor=account, now=utcnow(),
                                           idle=console_auth(request).policy.idle)
    return RedirectResponse("/console/login", status_code=303)


# ---------------------------------------------------------------------- queue


BROKEN_SHOWN = timedelta(days=7)  # how long a team sees that someone opened its case


def _queue_rows(request: Request, me: Counsellor) -> dict[str, Any]:
    """The queue for the filters in the query (team, municipality): by default one's team,
    and never a team one may not see (404, as for a case)."""
    wanted_team = request.query_params.get("team", me.team_id or "")
    if wanted_team and not access.may_list_team(me, wanted_team):
        raise HTTPException(status_code=404)
    town = request.query_params.get("municipality") or None
    places = host(request).content.places
    now = utcnow()
    with host(request).sessions() as session, session.begin():
        teams = [wanted_team] if wanted_team else None
        open_cases = queue.waiting(session=session, team_ids=teams, municipality=town,
                                   visible=access.visible(me, now))
        mine = list(session.scalars(select(Case).where(
            Case.status == CaseStatus.CLAIMED, Case.claimed_by == me.id)))
        elsewhere = access.urgent_elsewhere(session=session, counsellor=me, now=now)
        every = sees_every_team(me.role)
        broken = access.broken_for(session=session, team_id=None if every else me.team_id,
                                   since=now - BROKEN_SHOWN) if every or me.team_id else []
        returning = history.returning_counts(session=session, cases=[*open_cases, *mine])
        offered = _offer(request, me, session, open_cases, now)
        new_words = unread.counts(session=session, counsellor_id=me.id,
                                  case_ids=[c.id for c in mine])
        whispered = unread.whispers(session=session, counsellor_id=me.id,
                                    case_ids=[c.id for c in mine])
        # Other teams' urgent cases are listed by pseudonym alone, for break-glass: opening
        # one is what is recorded (with its reason), not a line about another team's case.
        audit.record_list_view(session=session, counsellor=me, action="queue_view",
                               case_ids=[c.id for c in [*open_cases, *mine]], now=now)
        return {"waiting": [(c, _waited(c.opened_at)) for c in open_cases],
                "returning": returning, "unread": new_words, "whispered": whispered,
                "offered": offered,
                "unread_total": sum(new_words.values()),
                "mine": [(c, _waited(c.opened_at)) for c in mine],
                "elsewhere": [(e, _waited(e.opened_at)) for e in elsewhere],
                "broken": broken, "team_names": {t.id: t.name for t in places.teams},
                "japan": host(request).content.followups.zone(),
                "teams": [t for t in places.teams if access.may_list_team(me, t.id)],
                "every_team": every, "towns": places.municipalities,
                "team": wanted_team, "town": town or "",
                "query": str(request.url.query),
                **desk.queue_context(request, me, session=session, team=wanted_team,
                                     cases=open_cases, now=now)}


def _offer(request: Request, me: Counsellor, session: Session, open_cases: list[Case],
           now: datetime) -> dict[int, tuple[str, bool]]:
    """Where one's team suggests its top case to the least-loaded available counsellor:
    {case id: (their name, whether it is me)}. Nobody is forced: anyone may still take it."""
    places = host(request).content.places
    team = next((t for t in places.teams if t.id == me.team_id), None)
    top = next((c for c in open_cases if team and c.team_id == team.id), None)
    if team is None or team.offer != "least_loaded" or top is None:
        return {}
    people = floor.people(session=session, team_id=team.id, now=now, away_after=timedelta(
        minutes=places.desk.waiting.away_after_minutes))
    chosen = queue.least_loaded([queue.Load(
        p.counsellor_id, p.presence == presence.Presence.AVAILABLE and p.role in ANSWERING,
        p.holding, p.capacity) for p in people])
    name = next((p.name for p in people if p.counsellor_id == chosen), None)
    return {top.id: (name, chosen == me.id)} if name else {}


@router.get("/")
def queue_page(request: Request, me: CurrentCounsellor) -> HTMLResponse:
    return _page(request, "queue.html", me=me, **_queue_rows(request, me))


@router.get("/fragments/queue")
def queue_fragment(request: Request, me: CurrentCounsellor) -> HTMLResponse:
    return _page(request, "_queue_table.html", me=me, **_queue_rows(request, me))


def _fingerprint(request: Request, me: Counsellor, case_id: int | None) -> str:
    """Changes whenever something the open page shows has changed (any process wrote it);
    other teams' cases do not count, so their changes are not even signalled."""
    with host(request).sessions() as session:
        cases = session.execute(select(func.count(Case.id), func.max(Case.updated_at)).where(
            access.visible(me, utcnow()))).one()
        parts: list[Any] = list(cases)
        # A resident's new words on any case one may see (the queue's 新着, the floor's waits),
        # and a whisper to me.
        parts.append(session.scalar(select(func.max(CaseMessage.id)).join(
            Case, Case.id == CaseMessage.case_id).where(access.visible(me, utcnow()))))
        parts.append(session.scalar(select(func.max(CaseNote.id)).where(
            CaseNote.whisper_to == me.id)))
        if case_id is not None:
            shown = session.get(Case, case_id)
            user = session.scalar(select(Conversation.line_user_id).where(
                Conversation.id == shown.conversation_id)) if shown else None
            parts += list(session.execute(select(
                func.count(InboxEvent.id)).where(InboxEvent.line_user_id == user)).one())
            parts.append(session.scalar(select(func.max(CaseNote.id)).where(
                CaseNote.case_id == case_id, CaseNote.whisper_to.is_not(None))))
            parts += list(session.execute(select(
                func.count(OutboxMessage.id), func.max(OutboxMessage.status),
                func.max(OutboxMessage.sent_at)).where(
                OutboxMessage.line_user_id == user)).one())
        else:
            parts += desk.fingerprint(request, me, session)
        return json.dumps(parts, default=str)


@router.get("/stream")
async def stream(request: Request, me: CurrentCounsellor,
                 case: int | None = None) -> EventSourceResponse:
    """Server-sent 'changed' events; the page then fetches the fragment it shows. The database
    is read only when some process signalled a change (or, rarely, as a fallback)."""
    runtime = host(request)
    feed, fallback = runtime.changes, runtime.settings.live_fallback_seconds
    if case is not None:
        await run_in_threadpool(_load_case, request, case, me)  # 404 unless visible

    async def events() -> AsyncIterator[dict[str, str]]:
        seen = feed.version
        last = await run_in_threadpool(_fingerprint, request, me, case)
        # What changed between the page's render and this baseline would otherwise wait for
        # the next change: the page fetches its part once more now (and after a reconnect).
        yield {"event": "ready", "data": last}
        while not await request.is_disconnected():
            seen = await feed.wait(seen, fallback)
            await asyncio.sleep(0.1)  # let a burst of commits settle into one page refresh
            seen = feed.version
            now = await run_in_threadpool(_fingerprint, request, me, case)
            if now != last:
                yield {"event": "changed", "data": now}
                last = now

    return EventSourceResponse(events(), ping=15)


# ---------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Shown:
    """A case as one account may see it."""

    case: Case
    user: str  # the resident's LINE id: only to find their messages, never shown
    why: access.Why
    sealed: bool  # consent withdrawn: the resident's words are closed to counsellors
    withdrawn_at: datetime | None


def _load_case(request: Request, case_id: int, me: Counsellor) -> Shown:
    """The case, or 404 when it does not exist or is not this account's to see."""
    with host(request).sessions() as session:
        found = session.get(Case, case_id)
        why = access.why_visible(session=session, counsellor=me, case=found, now=utcnow()) \
            if found is not None else None
        if found is None or why is None:
            raise HTTPException(status_code=404)
        user, withdrawn_at = session.execute(
            select(Conversation.line_user_id, Conversation.consent_withdrawn_at).where(
                Conversation.id == found.conversation_id)).one()
        session.expunge(found)
        # Life safety aside: a case opened for an imminent danger after the withdrawal.
        sealed = withdrawn_at is not None and found.basis != "life_safety"
        return Shown(found, str(user), why, sealed, withdrawn_at)


def _view_detail(shown: Shown) -> str | None:
    """What the audit log says about a view beyond who and which case."""
    if shown.why == access.Why.BREAK_GLASS:
        return "break-glass"
    if shown.withdrawn_at is not None and not shown.sealed:
        return "life safety after withdrawal"
    return None


def _case_context(request: Request, shown: Shown, me: Counsellor) -> dict[str, Any]:
    found, case_id = shown.case, shown.case.id
    with host(request).sessions() as session:
        lines = [] if shown.sealed else transcript(
            session=session, case=found, user_id=shown.user, menu=_menu_taps(request))
        holder = session.get(Counsellor, found.claimed_by) if found.claimed_by else None
        holder_name = holder.display_name if holder else None
        notes = [] if shown.sealed else list(session.execute(
            select(CaseNote, Counsellor.display_name)
            .join(Counsellor, Counsellor.id == CaseNote.counsellor_id)
            .where(CaseNote.case_id == case_id).order_by(CaseNote.id)))
        planned = list(session.scalars(select(FollowUp).where(
            FollowUp.case_id == case_id).order_by(FollowUp.due_at)))
        colleagues = list(session.scalars(select(Counsellor).where(
            Counsellor.active, Counsellor.id != me.id).order_by(Counsellor.display_name)))
        broken = access.broken_for(session=session, team_id=None, case_id=case_id,
                                   since=utcnow() - BROKEN_SHOWN)
        conversation = session.get(Conversation, found.conversation_id)
        plans = support_context(session, found,
                                default_months=host(request).content.places.monitoring_months)
        referred = referrals.of_case(session, found.id)
        earlier = [] if shown.sealed else history.earlier_cases(
            session=session, case=found, viewer=me, now=utcnow())
        asker = None
        pending = cases.pending_transfer(found) or found.transfer_request
        if pending and pending.get("by"):
            by = session.get(Counsellor, int(pending["by"]))
            asker = by.display_name if by else None
    places = host(request).content.places
    team_names = {t.id: t.name for t in places.teams}
    town = next((m.name for m in places.municipalities if m.id == found.municipality), None)
    supervising = at_least(me.role, Role.SUPERVISOR)
    zone = host(request).content.followups.zone()
    content = host(request).content
    language = content.languages.get(conversation.language or "") if conversation else None
    return {"case": found, "lines": lines, "holder": holder_name, "me": me, "notes": notes,
            "earlier": earlier,
            "language": language,
            "contact_rules": contact_view.rules_words(conversation.contact_rules)
            if conversation else [],
            "held_words": lambda reason, until: contact_view.held_words(reason, until, zone),
            "followups": [(f, f.due_at.astimezone(zone)) for f in planned],
            "colleagues": colleagues, "teams": places.teams, "team_names": team_names,
            "may_transfer": found.status != CaseStatus.CLOSED and not shown.sealed and (
                supervising or found.claimed_by == me.id),
            "team": team_names.get(found.team_id, found.team_id), "town": town,
            # 相談経路 (handoff/sources.py): set or corrected by whoever may act on the case.
            "referral_sources": places.referrals.sources,
            "source_name": next((s.name for s in places.referrals.sources
                                 if s.id == found.source), found.source),
            "may_set_source": not shown.sealed and (supervising or (
                found.claimed_by == me.id and found.status == CaseStatus.CLAIMED)),
            "programmes": [places.programmes.get(p, p) for p in found.programmes],
            "mine": found.claimed_by == me.id and found.status == CaseStatus.CLAIMED,
            # A supervisor reading a colleague's chat: read-only, and may whisper to them.
            "may_read_audit": supervising,
            "may_whisper": supervising and not shown.sealed and found.status ==
            CaseStatus.CLAIMED and found.claimed_by not in (None, me.id),
            "waited": _waited(found.opened_at), "shown": shown, "broken": broken,
            "transfer": found.transfer_request, "transfer_asker": asker,
            "retention_days": places.retention_days,
            "withdrawn_on": shown.withdrawn_at.astimezone(zone) if shown.withdrawn_at else None,
            **plans,
            "referrals": referred, "japan": zone, "support_results": places.referrals.results,
            "referral_choices": referrals.choices(content, found.team_id),
            "may_refer": found.status != CaseStatus.CLOSED and not shown.sealed and (
                supervising or found.claimed_by == me.id),
            **reply_aids(content, reads=conversation.language if conversation else None,
                         team_id=found.team_id, counsellor=me.display_name,
                         pseudonym=found.pseudonym),
            **_claimed_notice(request, holder_name)}


def _claimed_notice(request: Request, holder: str | None) -> dict[str, Any]:
    """Who was quicker, named from the database (never from the link)."""
    if request.query_params.get("notice") != "claimed" or not holder:
        return {}
    return {"notice": notices.Notice(notices.ERROR, f"この相談は{holder}が担当しています。")}


@router.get("/cases/{case_id}")
def case_page(request: Request, case_id: int, me: CurrentCounsellor) -> HTMLResponse:
    shown = _load_case(request, case_id, me)
    context = _case_context(request, shown, me)
    with host(request).sessions() as session, session.begin():
        audit.record(session=session, counsellor=me, action="view", case_id=case_id,
                     detail=_view_detail(shown))
        # The earlier cases shown in 「これまでの相談」 were read too.
        for earlier in context["earlier"]:
            if earlier.shown:
                audit.record(session=session, counsellor=me, action="view",
                             case_id=earlier.case_id, detail=f"history of case {case_id}")
        context["new_since"] = _looked(session, me, case_id, seen=True)
    page = _page(request, "case.html", **context)
    page.background = line_signals.mark_read_after(host(request), shown.case, me, shown.sealed)
    return page


def _looked(session: Session, me: Counsellor, case_id: int, *, seen: bool) -> datetime | None:
    """When this counsellor last looked before now (their new words are marked from there),
    and, when the page is on screen, that they look now."""
    before = unread.seen_at(session=session, counsellor_id=me.id, case_id=case_id)
    if seen:
        unread.mark_seen(session=session, counsellor_id=me.id, case_id=case_id, at=utcnow())
    return before


TRANSCRIPT_AUDIT_GAP = timedelta(minutes=10)


@router.get("/cases/{case_id}/fragments/transcript")
def transcript_fragment(request: Request, case_id: int, me: CurrentCounsellor) -> HTMLResponse:
    """The live transcript: each refresh is a view too, recorded once per ten minutes of
    watching (a page open all day is not thousands of rows)."""
    shown = _load_case(request, case_id, me)
    context = _case_context(request, shown, me)
    with host(request).sessions() as session, session.begin():
        audit.record_unless_recent(session=session, counsellor=me, action="view_transcript",
                                   case_id=case_id, detail=_view_detail(shown),
                                   since=utcnow() - TRANSCRIPT_AUDIT_GAP)
        # A tab in the background asks with seen=0: the words stay new until they are seen,
        # and the resident gets no 既読 for words nobody has read.
        on_screen = request.query_params.get("seen") != "0"
        context["new_since"] = _looked(session, me, case_id, seen=on_screen)
    page = _page(request, "_transcript.html", **context)
    if on_screen:
        page.background = line_signals.mark_read_after(host(request), shown.case, me,
                                                       shown.sealed)
    return page


@router.post("/cases/{case_id}/typing", dependencies=[CsrfChecked])
async def typing(request: Request, case_id: int, me: CurrentCounsellor) -> Response:
    """The counsellor is writing a reply: the resident sees LINE's loading animation."""
    shown = await run_in_threadpool(_load_case, request, case_id, me)
    if not shown.sealed:
        await line_signals.typing(host(request), shown.case, me)
    return Response(status_code=204)


@router.post("/cases/{case_id}/claim", dependencies=[CsrfChecked])
def claim_case(request: Request, case_id: int, me: CurrentCounsellor) -> Response:
    runtime = host(request)
    shown = _load_case(request, case_id, me)
    if shown.sealed:
        return RedirectResponse(notices.url(f"/console/cases/{case_id}", "no_consent"),
                                status_code=303)
    with runtime.sessions() as session, session.begin():
        if not queue.may_take(shown.case, full=queue.at_capacity(session=session,
                                                                  counsellor=me)):
            return RedirectResponse(notices.url(f"/console/cases/{case_id}", "at_capacity"),
                                    status_code=303)
        result = queue.claim(session=session, case_id=case_id, counsellor=me)
        if result.won:
            found = session.get(Case, case_id)
            assert found is not None
            casework.tell_joined(session=session, case=found, counsellor=me,
                                 content=runtime.content)
            audit.record(session=session, counsellor=me, action="claim", case_id=case_id)
    if not result.won:
        return RedirectResponse(notices.url(f"/console/cases/{case_id}", "claimed"),
                                status_code=303)
    runtime.wake_outbox()
    return RedirectResponse(f"/console/cases/{case_id}", status_code=303)


@router.post("/take-next", dependencies=[CsrfChecked])
def take_next(request: Request, me: CurrentCounsellor) -> Response:
    """「次の相談を担当する」: the top of one's own team's queue (every team's for a lead),
    claimed as a click on it would be; the next one when a colleague was quicker."""
    runtime = host(request)
    with runtime.sessions() as session, session.begin():
        full = queue.at_capacity(session=session, counsellor=me)
        taken = queue.take_next(session=session, counsellor=me,
                                team_ids=None if sees_every_team(me.role) or not me.team_id
                                else [me.team_id], visible=access.visible(me, utcnow()))
        if taken is not None:
            casework.tell_joined(session=session, case=taken, counsellor=me,
                                 content=runtime.content)
            audit.record(session=session, counsellor=me, action="claim", case_id=taken.id,
                         detail="take next")
    if taken is None:
        return RedirectResponse(notices.url("/console/", "at_capacity" if full
                                            else "queue_empty"), status_code=303)
    runtime.wake_outbox()
    return RedirectResponse(f"/console/cases/{taken.id}", status_code=303)


def _act(request: Request, case_id: int, me: Counsellor, action: str,
         work: Callable[[Session, Case], str | None], then: str, *,
         sealed_too: bool = False) -> Response:
    """One console action on a case, in one transaction with its audit row: 404 for a case
    that does not exist or is not this account's to see, the refusal shown on the case page,
    then the outbox woken for any message. A case whose resident withdrew consent takes no
    action but those marked `sealed_too` (ones that only protect the resident)."""
    runtime = host(request)
    shown = _load_case(request, case_id, me)
    back = f"/console/cases/{case_id}"
    if shown.sealed and not sealed_too:
        return RedirectResponse(notices.url(back, "no_consent"), status_code=303)
    try:
        with runtime.sessions() as session, session.begin():
            found = session.get(Case, case_id)
            if found is None:
                return Response(status_code=404)
            detail = work(session, found)
            audit.record(session=session, counsellor=me, action=action, case_id=case_id,
                         detail=detail)
    except (casework.CaseworkError, risk_review.ReviewError, access.AccessError) as e:
        return RedirectResponse(notices.refusal_url(back, e), status_code=303)
    runtime.wake_outbox()
    return RedirectResponse(then, status_code=303)


@router.post("/cases/{case_id}/reply", dependencies=[CsrfChecked])
def reply(request: Request, case_id: int, me: CurrentCounsellor,
          words: Annotated[str, Form()]) -> Response:
    def work(session: Session, found: Case) -> str:
        row = casework.reply(session=session, case=found, counsellor=me, words=words)
        session.flush()
        return f"outbox {row.id}"

    return _act(request, case_id, me, "reply", work, f"/console/cases/{case_id}")


@router.post("/cases/{case_id}/close", dependencies=[CsrfChecked])
def close_case(request: Request, case_id: int, me: CurrentCounsellor,
               outcome: Annotated[Outcome, Form()],
               detail: Annotated[str, Form()] = "") -> Response:
    def work(session: Session, found: Case) -> str:
        casework.close(session=session, case=found, counsellor=me, outcome=outcome,
                       detail=detail, content=host(request).content)
        return str(outcome)

    return _act(request, case_id, me, "close", work, "/console/")


@router.post("/cases/{case_id}/notes", dependencies=[CsrfChecked])
def add_note(request: Request, case_id: int, me: CurrentCounsellor,
             words: Annotated[str, Form()]) -> Response:
    def work(session: Session, found: Case) -> str:
        note = casework.add_note(session=session, case=found, counsellor=me, words=words)
        return f"note {note.id}"

    return _act(request, case_id, me, "note", work, f"/console/cases/{case_id}")


@router.post("/cases/{case_id}/transfer", dependencies=[CsrfChecked])
def transfer(request: Request, case_id: int, me: CurrentCounsellor,
             to: Annotated[str, Form()], life_safety: Annotated[str, Form()] = "") -> Response:
    """`to` is `counsellor:<id>` or `team:<id>`. A move to another team waits for the
    resident's yes unless `life_safety` gives the reason it cannot wait."""
    kind, _, target = to.partition(":")
    asked = False

    def work(session: Session, found: Case) -> str:
        nonlocal asked
        colleague = session.get(Counsellor, int(target)) \
            if kind == "counsellor" and target.isdigit() else None
        detail, asked = casework.transfer(
            session=session, case=found, counsellor=me, content=host(request).content,
            to_counsellor=colleague, to_team=target if kind == "team" else None,
            life_safety=life_safety)
        return detail

    answer = _act(request, case_id, me, "transfer", work, "/console/")
    if asked and answer.headers.get("location") == "/console/":
        return RedirectResponse(notices.url(f"/console/cases/{case_id}", "transfer_asked"),
                                status_code=303)
    return answer


@router.post("/cases/{case_id}/followups", dependencies=[CsrfChecked])
def schedule_followup(request: Request, case_id: int, me: CurrentCounsellor,
                      when: Annotated[str, Form()], words: Annotated[str, Form()]) -> Response:
    """A follow-up at a date and time (Japan time) with the counsellor's own words: a message
    to the resident, so only from whoever holds the case (or a supervisor)."""
    runtime = host(request)
    back = f"/console/cases/{case_id}"
    try:
        due = datetime.fromisoformat(when).replace(tzinfo=runtime.content.followups.zone())
    except ValueError:
        return RedirectResponse(notices.url(back, "followup_when"), status_code=303)
    if not words.strip() or due <= utcnow():
        return RedirectResponse(notices.url(back, "followup_future"), status_code=303)

    def work(session: Session, found: Case) -> str:
        if found.no_followups:
            raise casework.CaseworkError("followups_forbidden")
        casework.check_may_act(found, me)
        followup_id = followups.schedule(
            session=session, conversation_id=found.conversation_id, kind="manual",
            text=words.strip()[:5000], due_at=due, case_id=case_id, created_by=me.id,
            replace=False)
        return f"followup {followup_id}"

    return _act(request, case_id, me, "followup", work, back)


@router.post("/cases/{case_id}/followups/setting", dependencies=[CsrfChecked])
def followup_setting(request: Request, case_id: int, me: CurrentCounsellor,
                     allowed: Annotated[bool, Form()]) -> Response:
    """Forbid follow-ups when a message could put the resident at risk (anyone who sees the
    case may), or allow them again (only whoever holds it, or a supervisor)."""

    def work(session: Session, found: Case) -> str:
        if allowed:
            casework.check_may_act(found, me)
        return casework.set_followups(session=session, case=found, allowed=allowed)

    action = "followups_on" if allowed else "followups_off"
    return _act(request, case_id, me, action, work, f"/console/cases/{case_id}",
                sealed_too=not allowed)


@router.post("/cases/{case_id}/risk/{assessment_id}/review", dependencies=[CsrfChecked])
def review_risk(request: Request, case_id: int, assessment_id: int, me: CurrentCounsellor,
                level: Annotated[str, Form()]) -> Response:
    """This message was assessed at the wrong level: administrators will see it."""

    def work(session: Session, found: Case) -> str:
        try:
            review = risk_review.mark(session=session, case=found, assessment_id=assessment_id,
                                      counsellor=me, suggested=level)
        except LookupError:
            raise HTTPException(status_code=404) from None
        return f"review {review.id}: {review.assessed} -> {review.suggested}"

    return _act(request, case_id, me, "risk_mark", work,
                notices.url(f"/console/cases/{case_id}", "review_sent"))


@router.post("/cases/{case_id}/break-glass", dependencies=[CsrfChecked])
def break_glass(request: Request, case_id: int, me: CurrentCounsellor,
                reason: Annotated[str, Form()] = "") -> Response:
    """Open another team's urgent case for life safety, with a reason that team will see.
    Only a case in one's break-glass list: any other id is a 404, like any unseen case."""
    runtime = host(request)
    now = utcnow()
    if sees_every_team(me.role):  # nothing to cross: every team's cases are theirs to see
        return RedirectResponse(f"/console/cases/{case_id}", status_code=303)
    with runtime.sessions() as session, session.begin():
        if case_id not in {e.case_id for e in access.urgent_elsewhere(
                session=session, counsellor=me, now=now)}:
            raise HTTPException(status_code=404)
        found = session.get(Case, case_id)
        assert found is not None
        try:
            grant = access.break_glass(session=session, counsellor=me, case=found,
                                       reason=reason, now=now)
        except access.AccessError as e:  # raised before anything was written
            return RedirectResponse(notices.refusal_url("/console/", e),
                                    status_code=303)
        audit.record(session=session, counsellor=me, action="break_glass", case_id=case_id,
                     detail=f"grant {grant.id}, team {found.team_id}, "
                            f"until {grant.expires_at:%Y-%m-%d %H:%M} UTC")
    return RedirectResponse(notices.url(f"/console/cases/{case_id}", "break_glass_open"),
                            status_code=303)

