"""The counsellor console: login, queue, case page (つなぐシート, talk, reply, close), audit."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from bot.models import Conversation, InboxEvent, OutboxMessage, utcnow
from bot.runtime import Runtime
from handoff import audit, casework, followups, logins, queue, risk_review, sessions
from handoff.console.security import (
    DEVICE_COOKIE,
    DEVICE_DAYS,
    SESSION_CSRF,
    SESSION_TOKEN,
    CsrfChecked,
    CurrentCounsellor,
    Supervisor,
    console_auth,
    csrf_token,
)
from handoff.models import (
    Case,
    CaseNote,
    CaseStatus,
    Counsellor,
    FollowUp,
    Outcome,
    Role,
    at_least,
)
from handoff.transcript import transcript

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(prefix="/console", include_in_schema=False)

PRIORITY_LABEL = {"imminent": "最優先（差し迫った危険）", "high": "高", "normal": "通常"}
OUTCOME_LABEL = {Outcome.PLAN: "継続支援・プラン", Outcome.INFO: "情報提供のみ",
                 Outcome.REFERRED: "他機関へつないだ", Outcome.RETURNED: "ボットに戻した"}
RISK_LABEL = {"imminent": "差し迫った危険", "high": "高い", "concern": "気がかり", "none": "なし"}


def answer_labels(runtime: Runtime) -> dict[str, dict[str, str]]:
    """answer key -> value -> the label the resident tapped, read from the flow itself."""
    labels: dict[str, dict[str, str]] = {}
    for loaded in runtime.content.flows.values():
        for state in loaded.flow.states.values():
            ask = state.ask
            if ask is not None and ask.record:
                for choice in ask.choices:
                    labels.setdefault(ask.record, {})[choice.value] = choice.label
    places = runtime.content.places
    labels["municipality"] = {m.id: m.name for m in places.municipalities}
    labels["risk_category"] = {c.category: c.label for c in runtime.content.lexicon.categories}
    return labels


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _page(request: Request, name: str, **context: Any) -> HTMLResponse:
    context.setdefault("me", None)
    return templates.TemplateResponse(request, name, {
        "csrf": csrf_token(request), "labels": {
            "priority": PRIORITY_LABEL, "outcome": OUTCOME_LABEL, "risk": RISK_LABEL},
        "answer": answer_labels(_runtime(request)), **context})


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
        with _runtime(request).sessions() as session, session.begin():
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
        with _runtime(request).sessions() as session, session.begin():
            account_id = sessions.revoke(session=session, token=str(token), why="logout")
            if account_id is not None:
                account = session.get(Counsellor, account_id)
                if account is not None:
                    audit.record_account_event(session=session, actor=account,
                                               action="logout", account_id=account_id)
    return RedirectResponse("/console/login", status_code=303)


# ---------------------------------------------------------------------- queue


def _queue_rows(request: Request, me: Counsellor) -> dict[str, Any]:
    """The queue for the filters in the query (team, municipality); by default one's team."""
    wanted_team = request.query_params.get("team", me.team_id or "")
    town = request.query_params.get("municipality") or None
    places = _runtime(request).content.places
    with _runtime(request).sessions() as session:
        teams = [wanted_team] if wanted_team else None
        open_cases = queue.waiting(session=session, team_ids=teams, municipality=town)
        mine = list(session.scalars(select(Case).where(
            Case.status == CaseStatus.CLAIMED, Case.claimed_by == me.id)))
        return {"waiting": [(c, _waited(c.opened_at)) for c in open_cases],
                "mine": [(c, _waited(c.opened_at)) for c in mine],
                "teams": places.teams, "towns": places.municipalities,
                "team": wanted_team, "town": town or "",
                "query": str(request.url.query)}


@router.get("/")
def queue_page(request: Request, me: CurrentCounsellor) -> HTMLResponse:
    return _page(request, "queue.html", me=me, **_queue_rows(request, me))


@router.get("/fragments/queue")
def queue_fragment(request: Request, me: CurrentCounsellor) -> HTMLResponse:
    return _page(request, "_queue_table.html", me=me, **_queue_rows(request, me))


def _fingerprint(request: Request, case_id: int | None) -> str:
    """Changes whenever something the open page shows has changed (any process wrote it)."""
    with _runtime(request).sessions() as session:
        cases = session.execute(select(func.count(Case.id), func.max(Case.updated_at))).one()
        parts: list[Any] = list(cases)
        if case_id is not None:
            shown = session.get(Case, case_id)
            user = session.scalar(select(Conversation.line_user_id).where(
                Conversation.id == shown.conversation_id)) if shown else None
            parts += list(session.execute(select(
                func.count(InboxEvent.id)).where(InboxEvent.line_user_id == user)).one())
            parts += list(session.execute(select(
                func.count(OutboxMessage.id), func.max(OutboxMessage.status),
                func.max(OutboxMessage.sent_at)).where(
                OutboxMessage.line_user_id == user)).one())
        return json.dumps(parts, default=str)


@router.get("/stream")
async def stream(request: Request, me: CurrentCounsellor,
                 case: int | None = None) -> EventSourceResponse:
    """Server-sent 'changed' events; the page then fetches the fragment it shows. The database
    is read only when some process signalled a change (or, rarely, as a fallback)."""
    runtime = _runtime(request)
    feed, fallback = runtime.changes, runtime.settings.live_fallback_seconds

    async def events() -> AsyncIterator[dict[str, str]]:
        seen = feed.version
        last = await run_in_threadpool(_fingerprint, request, case)
        while not await request.is_disconnected():
            seen = await feed.wait(seen, fallback)
            await asyncio.sleep(0.1)  # let a burst of commits settle into one page refresh
            seen = feed.version
            now = await run_in_threadpool(_fingerprint, request, case)
            if now != last:
                yield {"event": "changed", "data": now}
                last = now

    return EventSourceResponse(events(), ping=15)


# ---------------------------------------------------------------------- cases


def _load_case(request: Request, case_id: int) -> tuple[Case, str]:
    with _runtime(request).sessions() as session:
        found = session.get(Case, case_id)
        if found is None:
            raise HTTPException(status_code=404)
        user = session.scalar(select(Conversation.line_user_id).where(
            Conversation.id == found.conversation_id))
        session.expunge(found)
        return found, str(user)


def _case_context(request: Request, case_id: int, me: Counsellor) -> dict[str, Any]:
    found, user = _load_case(request, case_id)
    with _runtime(request).sessions() as session:
        lines = transcript(session=session, case=found, user_id=user)
        holder = session.get(Counsellor, found.claimed_by) if found.claimed_by else None
        holder_name = holder.display_name if holder else None
        notes = list(session.execute(
            select(CaseNote, Counsellor.display_name)
            .join(Counsellor, Counsellor.id == CaseNote.counsellor_id)
            .where(CaseNote.case_id == case_id).order_by(CaseNote.id)))
        planned = list(session.scalars(select(FollowUp).where(
            FollowUp.case_id == case_id).order_by(FollowUp.due_at)))
        colleagues = list(session.scalars(select(Counsellor).where(
            Counsellor.active, Counsellor.id != me.id).order_by(Counsellor.display_name)))
    places = _runtime(request).content.places
    team = next((t for t in places.teams if t.id == found.team_id), None)
    town = next((m.name for m in places.municipalities if m.id == found.municipality), None)
    supervising = at_least(me.role, Role.SUPERVISOR)
    zone = _runtime(request).content.followups.zone()
    return {"case": found, "lines": lines, "holder": holder_name, "me": me, "notes": notes,
            "followups": [(f, f.due_at.astimezone(zone)) for f in planned],
            "colleagues": colleagues, "teams": places.teams,
            "may_transfer": found.status != CaseStatus.CLOSED and (
                supervising or found.claimed_by == me.id),
            "team": team.name if team else found.team_id, "town": town,
            "programmes": [places.programmes.get(p, p) for p in found.programmes],
            "mine": found.claimed_by == me.id and found.status == CaseStatus.CLAIMED,
            "waited": _waited(found.opened_at)}


@router.get("/cases/{case_id}")
def case_page(request: Request, case_id: int, me: CurrentCounsellor,
              notice: str | None = None) -> HTMLResponse:
    context = _case_context(request, case_id, me)
    with _runtime(request).sessions() as session, session.begin():
        audit.record(session=session, counsellor=me, action="view", case_id=case_id)
    return _page(request, "case.html", notice=notice, **context)


@router.get("/cases/{case_id}/fragments/transcript")
def transcript_fragment(request: Request, case_id: int, me: CurrentCounsellor) -> HTMLResponse:
    return _page(request, "_transcript.html", **_case_context(request, case_id, me))


@router.post("/cases/{case_id}/claim", dependencies=[CsrfChecked])
def claim_case(request: Request, case_id: int, me: CurrentCounsellor) -> Response:
    runtime = _runtime(request)
    with runtime.sessions() as session, session.begin():
        result = queue.claim(session=session, case_id=case_id, counsellor=me)
        if result.won:
            found = session.get(Case, case_id)
            assert found is not None
            casework.tell_joined(session=session, case=found, counsellor=me,
                                 content=runtime.content)
            audit.record(session=session, counsellor=me, action="claim", case_id=case_id)
    if not result.won:
        return RedirectResponse(
            f"/console/cases/{case_id}?notice=claimed_by:{result.holder or ''}", status_code=303)
    runtime.wake_outbox()
    return RedirectResponse(f"/console/cases/{case_id}", status_code=303)


def _act(request: Request, case_id: int, me: Counsellor, action: str,
         work: Callable[[Session, Case], str | None], then: str) -> Response:
    """One console action on a case, in one transaction with its audit row: 404 for an
    unknown case, the refusal shown on the case page, then the outbox woken for any message."""
    runtime = _runtime(request)
    try:
        with runtime.sessions() as session, session.begin():
            found = session.get(Case, case_id)
            if found is None:
                return Response(status_code=404)
            detail = work(session, found)
            audit.record(session=session, counsellor=me, action=action, case_id=case_id,
                         detail=detail)
    except casework.CaseworkError as e:
        return RedirectResponse(f"/console/cases/{case_id}?notice=error:{e}", status_code=303)
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
                       detail=detail, content=_runtime(request).content)
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
             to: Annotated[str, Form()]) -> Response:
    """`to` is `counsellor:<id>` or `team:<id>`."""
    kind, _, target = to.partition(":")

    def work(session: Session, found: Case) -> str:
        colleague = session.get(Counsellor, int(target)) \
            if kind == "counsellor" and target.isdigit() else None
        return casework.transfer(
            session=session, case=found, counsellor=me, content=_runtime(request).content,
            to_counsellor=colleague, to_team=target if kind == "team" else None)

    return _act(request, case_id, me, "transfer", work, "/console/")


@router.post("/cases/{case_id}/followups", dependencies=[CsrfChecked])
def schedule_followup(request: Request, case_id: int, me: CurrentCounsellor,
                      when: Annotated[str, Form()], words: Annotated[str, Form()]) -> Response:
    """A follow-up at a date and time (Japan time) with the counsellor's own words."""
    runtime = _runtime(request)
    try:
        due = datetime.fromisoformat(when).replace(tzinfo=runtime.content.followups.zone())
    except ValueError:
        return RedirectResponse(f"/console/cases/{case_id}?notice=error:日時を入力してください。",
                                status_code=303)
    if not words.strip() or due <= utcnow():
        return RedirectResponse(
            f"/console/cases/{case_id}?notice=error:これからの日時と文面を入力してください。",
            status_code=303)
    with runtime.sessions() as session, session.begin():
        found = session.get(Case, case_id)
        if found is None:
            return Response(status_code=404)
        if found.no_followups:
            return RedirectResponse(
                f"/console/cases/{case_id}?notice=error:この相談はフォローアップを送らない設定です。",
                status_code=303)
        followup_id = followups.schedule(
            session=session, conversation_id=found.conversation_id, kind="manual",
            text=words.strip()[:5000], due_at=due, case_id=case_id, created_by=me.id,
            replace=False)
        audit.record(session=session, counsellor=me, action="followup", case_id=case_id,
                     detail=f"followup {followup_id}")
    return RedirectResponse(f"/console/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/followups/setting", dependencies=[CsrfChecked])
def followup_setting(request: Request, case_id: int, me: CurrentCounsellor,
                     allowed: Annotated[bool, Form()]) -> Response:
    """Forbid follow-ups when a message could put the resident at risk, or allow them again."""

    def work(session: Session, found: Case) -> str:
        return casework.set_followups(session=session, case=found, allowed=allowed)

    action = "followups_on" if allowed else "followups_off"
    return _act(request, case_id, me, action, work, f"/console/cases/{case_id}")


@router.post("/cases/{case_id}/risk/{assessment_id}/review", dependencies=[CsrfChecked])
def review_risk(request: Request, case_id: int, assessment_id: int, me: CurrentCounsellor,
                level: Annotated[str, Form()]) -> Response:
    """This message was assessed at the wrong level: administrators will see it."""

    def work(session: Session, found: Case) -> str:
        try:
            review = risk_review.mark(session=session, case=found, assessment_id=assessment_id,
                                      counsellor=me, suggested=level)
        except risk_review.ReviewError as e:
            raise casework.CaseworkError(str(e)) from e
        except LookupError:
            raise HTTPException(status_code=404) from None
        return f"review {review.id}: {review.assessed} -> {review.suggested}"

    return _act(request, case_id, me, "risk_mark", work,
                f"/console/cases/{case_id}?notice=ok:判定の見直しを管理者に知らせました。")


# ---------------------------------------------------------------------- audit


@router.get("/audit")
def audit_page(request: Request, me: Supervisor) -> HTMLResponse:
    with _runtime(request).sessions() as session:
        entries = audit.recent(session=session)
    return _page(request, "audit.html", me=me, entries=entries)
