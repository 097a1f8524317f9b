"""Trying content before it is published: an administrator talks to the draft as a resident
would, on a console page, in this process.

The answers come from the decision the bot itself uses (bot/flows/respond), with the draft's
flow, copy, numbers and risk rules and model. Nothing is stored, sent to LINE or put in the
counsellors' queue: where the bot would open a case the page says so instead. The rehearsal's
state travels in the page, signed, so it works on any replica and with no LINE emulator.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from itsdangerous import BadSignature, URLSafeSerializer

from bot.content.files import ContentError
from bot.db.models import utcnow
from bot.flows import intents as it
from bot.flows.engine import Dialogue, FlowRunner, Input, Step
from bot.flows.respond import Earlier, assess, context_for, respond
from bot.nlp.analyzer import analyzer_for
from bot.nlp.levels import Level
from bot.releases import store as content_store
from bot.releases.load import Content
from handoff import audit
from handoff.console.host import host
from handoff.console.security import Admin, CsrfChecked, console_auth
from handoff.console.views import RISK_LABEL, _page
from handoff.models import Counsellor

router = APIRouter(prefix="/console/admin/try", include_in_schema=False)

INTAKE = "intake"
MAX_LOG = 200  # entries kept on the page: a long rehearsal drops its oldest lines
NOTES = {
    "case": "（ここで相談が相談員の待ち行列に入ります。試しでは誰にも届きません）",
    "forward": "（この言葉は担当の相談員に届きます。試しでは誰にも届きません）",
    "consent": "（同意「{scope}」が{what}として記録されます）",
    "withdraw": "（同意の取り消しとして記録され、保存期間のあと記録が消されます）",
    "wait": "（ここで、順番と待ち時間の見込み、または相談員がいないときのご案内が続きます）",
    "give_up": "（相談者が待つのをやめたことが、相談の記録に残ります）",
    "callback": "（折り返しの電話の希望が、相談の記録に残ります。試しでは誰にも届きません）",
}


@dataclass
class Rehearsal:
    """Where the rehearsal is. Signed into the page; never stored."""

    digest: str  # the content it talks to
    state: str
    answers: dict[str, Any]
    consent: dict[str, bool]
    log: list[dict[str, Any]] = field(default_factory=list)  # {"who": ..., "message": ...}
    texts: list[dict[str, Any]] = field(default_factory=list)  # newest first, for the window


def _signer(request: Request) -> URLSafeSerializer:
    return URLSafeSerializer(console_auth(request).secret, salt="tsunagu-rehearsal")


def _content(request: Request, me: Counsellor) -> tuple[Content, str, bool]:
    """The administrator's draft when it differs and can be served; else what is served."""
    with host(request).sessions() as session:
        draft = content_store.draft_of(session, me.id)
        current = content_store.current_release(session)
        files = draft.files if draft is not None else (current.files if current else {})
        changed = current is not None and files != current.files
    if changed:
        try:
            return content_store.load_files(files), content_store.digest(files), True
        except ContentError:
            pass  # the page says the draft has problems; the served content answers
    served = host(request)
    return served.content, f"release-{served.release_id}", False


def _turn(content: Content, rehearsal: Rehearsal | None, digest: str, inp: Input) -> Rehearsal:
    """One input answered as the bot would answer it; `rehearsal` None: a new resident."""
    runner = FlowRunner(content.flows[INTAKE].flow,
                        context_for(content.resources, content.places, utcnow))
    now_ms = int(utcnow().timestamp() * 1000)
    if rehearsal is None:
        rehearsal = Rehearsal(digest, runner.flow.start, {}, {})
        is_new = True
    else:
        is_new = False
    risk = None
    if inp.kind == "text":
        earlier = [Earlier(t["words"], Level.parse(t["level"]), int(t["at"]))
                   for t in rehearsal.texts]
        risk = assess(analyzer_for(content.lexicon, content.risk_model).analyze, inp.text,
                      now_ms, earlier)
        rehearsal.texts = [{"words": inp.text, "level": risk.level.label, "at": now_ms},
                           *rehearsal.texts][:3]
        rehearsal.log.append({"who": "you", "message": {"type": "text", "text": inp.text}})
    elif inp.kind == "postback":
        rehearsal.log.append({"who": "you", "message": {"type": "text",
                                                         "text": _label_of(rehearsal, inp.data)}})
    step = respond(runner, Dialogue(rehearsal.state, dict(rehearsal.answers),
                                    dict(rehearsal.consent)), inp,
                   messages=content.messages, resources=content.resources, risk=risk,
                   is_new=is_new)
    _apply(rehearsal, step)
    if risk is not None and risk.level >= Level.CONCERN:
        rehearsal.log.append({"who": "note", "text": "（この言葉の危険の判定："
                              f"{RISK_LABEL.get(risk.level.label, risk.level.label)}）"})
    rehearsal.log = rehearsal.log[-MAX_LOG:]
    return rehearsal


def _apply(rehearsal: Rehearsal, step: Step) -> None:
    rehearsal.state, rehearsal.answers = step.state, step.answers
    for intent in step.intents:
        if isinstance(intent, it.Send):
            rehearsal.log += [{"who": "bot", "message": m} for m in intent.messages]
        elif isinstance(intent, it.SetConsent):
            rehearsal.consent[intent.scope] = intent.granted
            rehearsal.log.append({"who": "note", "text": NOTES["consent"].format(
                scope=intent.scope, what="同意" if intent.granted else "不同意")})
        elif isinstance(intent, it.WithdrawConsent):
            rehearsal.consent = {"counsellor": False, "share": False}
            rehearsal.log.append({"who": "note", "text": NOTES["withdraw"]})
        elif isinstance(intent, it.OpenCase):
            rehearsal.log.append({"who": "note", "text": NOTES["case"]})
        elif isinstance(intent, it.ForwardToCase):
            rehearsal.log.append({"who": "note", "text": NOTES["forward"]})
        elif isinstance(intent, it.TellWait):
            rehearsal.log.append({"who": "note", "text": NOTES["wait"]})
        elif isinstance(intent, it.GiveUp):
            rehearsal.log.append({"who": "note", "text": NOTES["give_up"]})
        elif isinstance(intent, it.RequestCallback):
            rehearsal.log.append({"who": "note", "text": NOTES["callback"]})


def _label_of(rehearsal: Rehearsal, data: str) -> str:
    """What a tapped button showed (LINE shows its displayText as the resident's message)."""
    for entry in reversed(rehearsal.log):
        for item in (entry.get("message") or {}).get("quickReply", {}).get("items", []):
            action = item.get("action") or {}
            if action.get("data") == data:
                return str(action.get("displayText") or action.get("label") or data)
    return data


def _page_of(request: Request, me: Counsellor, rehearsal: Rehearsal, from_draft: bool,
             stale: bool = False) -> HTMLResponse:
    last_bot: dict[str, Any] = next(
        (e["message"] for e in reversed(rehearsal.log) if e["who"] == "bot"), {})
    buttons = [item["action"] for item in (last_bot.get("quickReply") or {}).get("items", [])
               if (item.get("action") or {}).get("type") == "postback"]
    return _page(request, "admin_rehearsal.html", me=me, log=[_view(e) for e in rehearsal.log],
                 buttons=buttons, state=_signer(request).dumps(asdict(rehearsal)),
                 from_draft=from_draft, stale=stale)


def _view(entry: dict[str, Any]) -> dict[str, Any]:
    """A log entry as the page draws it: text, or a card of call buttons (tel: links)."""
    message = entry.get("message") or {}
    if entry["who"] == "note":
        return {"who": "note", "text": entry["text"]}
    if message.get("type") == "flex":
        body = ((message.get("contents") or {}).get("body") or {}).get("contents", [])
        first = next((c.get("text") for c in body if c.get("type") == "text"), "")
        calls = []
        for row in (r for r in body if r.get("type") == "box"):
            parts = row.get("contents", [])
            lines = [p.get("text", "") for p in parts if p.get("type") == "text"]
            buttons = [p["action"] for p in parts if p.get("type") == "button"]
            if lines and buttons:  # a number: its name, hours and cost, and the call button
                calls.append({"name": lines[0], "details": lines[1:], **buttons[0]})
        return {"who": entry["who"], "text": first, "calls": calls}
    return {"who": entry["who"], "text": message.get("text") or message.get("altText") or ""}


@router.get("/")
def start(request: Request, me: Admin) -> HTMLResponse:
    """A new rehearsal: the first contact, answered by the draft."""
    content, digest, from_draft = _content(request, me)
    with host(request).sessions() as session, session.begin():
        audit.record(session=session, counsellor=me, action="content_preview", case_id=None)
    return _page_of(request, me, _turn(content, None, digest, Input("follow")), from_draft)


@router.post("/", dependencies=[CsrfChecked])
def say(request: Request, me: Admin, state: Annotated[str, Form()],
        text: Annotated[str, Form(max_length=5000)] = "",
        data: Annotated[str, Form(max_length=300)] = "") -> HTMLResponse:
    content, digest, from_draft = _content(request, me)
    try:
        rehearsal = Rehearsal(**_signer(request).loads(state))
    except (BadSignature, TypeError, json.JSONDecodeError):
        rehearsal = None
    if rehearsal is None or rehearsal.digest != digest:
        # Signed by another process's secret, or the draft changed: start again on this one.
        return _page_of(request, me, _turn(content, None, digest, Input("follow")), from_draft,
                        stale=True)
    if data:
        inp = Input("postback", data=data)
    elif text.strip():
        inp = Input("text", text=text.strip())
    else:
        return _page_of(request, me, rehearsal, from_draft)
    return _page_of(request, me, _turn(content, rehearsal, digest, inp), from_draft)
