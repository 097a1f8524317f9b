"""The console's つなぐ: asking the resident's yes to one referral, the つなぐシート printed for it
(only while the yes stands, or on the life-safety basis; every view audited) and what became of
it (passed how, taken in or not)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from bot.db.models import Conversation, utcnow
from handoff import audit, referrals
from handoff.casework import CaseworkError
from handoff.console import notices
from handoff.console.host import host
from handoff.console.security import CsrfChecked, CurrentCounsellor
from handoff.console.views import _act, _case_context, _load_case, _page
from handoff.models import Case, Counsellor, Referral

router = APIRouter(prefix="/console", include_in_schema=False)

def _target(value: str) -> tuple[str, int]:
    destination, _, index = value.partition(":")
    if not destination or not index.isdigit():
        raise CaseworkError("referral_target")
    return destination, int(index)


@router.post("/cases/{case_id}/referrals", dependencies=[CsrfChecked])
def ask(request: Request, case_id: int, me: CurrentCounsellor,
        target: Annotated[str, Form()], life_safety: Annotated[str, Form()] = "") -> Response:
    """Ask the resident's yes to a referral, or record one on the life-safety basis."""
    saved = " ".join(life_safety.split())

    def work(session: Session, found: Case) -> str:
        destination, purpose = _target(target)
        referral = referrals.ask(session=session, case=found, counsellor=me,
                                 content=host(request).content, destination_id=destination,
                                 purpose=purpose, life_safety=saved)
        return f"referral {referral.id} to {destination}: " + (
            f"life safety: {referral.reason}" if referral.reason else "asked the resident")

    done = "referral_life_safety" if saved else "referral_asked"
    return _act(request, case_id, me, "referral", work,
                notices.url(f"/console/cases/{case_id}", done) + "#referrals")


@router.post("/cases/{case_id}/referrals/{referral_id}/sent", dependencies=[CsrfChecked])
def sent(request: Request, case_id: int, referral_id: int, me: CurrentCounsellor,
         how: Annotated[str, Form()]) -> Response:
    def work(session: Session, found: Case) -> str:
        referrals.record_sent(session=session, case=found, counsellor=me,
                              referral_id=referral_id, how=how)
        return f"referral {referral_id}: sent ({how})"

    return _act(request, case_id, me, "referral_sent", work,
                notices.url(f"/console/cases/{case_id}", "referral_recorded") + "#referrals")


@router.post("/cases/{case_id}/referrals/{referral_id}/result", dependencies=[CsrfChecked])
def result(request: Request, case_id: int, referral_id: int, me: CurrentCounsellor,
           accepted: Annotated[bool, Form()]) -> Response:
    def work(session: Session, found: Case) -> str:
        referrals.record_result(session=session, case=found, counsellor=me,
                                referral_id=referral_id, accepted=accepted)
        return f"referral {referral_id}: " + ("taken in" if accepted else "not taken in")

    return _act(request, case_id, me, "referral_result", work,
                notices.url(f"/console/cases/{case_id}", "referral_recorded") + "#referrals")


@router.post("/cases/{case_id}/referrals/{referral_id}/withdrawn", dependencies=[CsrfChecked])
def withdrawn(request: Request, case_id: int, referral_id: int,
              me: CurrentCounsellor) -> Response:
    """The resident took their yes back by phone or at the desk: recorded like in the chat."""
    def work(session: Session, found: Case) -> str:
        referrals.record_withdrawn(session=session, case=found, counsellor=me,
                                   referral_id=referral_id)
        return f"referral {referral_id}: withdrawn"

    return _act(request, case_id, me, "referral_withdrawn", work,
                notices.url(f"/console/cases/{case_id}", "referral_recorded") + "#referrals")


@router.get("/cases/{case_id}/referrals/{referral_id}/sheet")
def sheet(request: Request, case_id: int, referral_id: int,
          me: CurrentCounsellor) -> Response:
    """The つなぐシート for one referral, to print or save as PDF. Only while the resident's yes
    stands (or on the life-safety basis); every view is in the audit log, refusals too."""
    shown = _load_case(request, case_id, me)
    back = f"/console/cases/{case_id}"
    with host(request).sessions() as session, session.begin():
        referral = session.get(Referral, referral_id)
        if referral is None or referral.case_id != case_id:
            return Response(status_code=404)
        allowed = referrals.may_show_sheet(referral) and not (
            shown.sealed and referral.basis == "consent")
        audit.record(session=session, counsellor=me, action="referral_sheet",
                     case_id=case_id, detail=f"referral {referral.id} to "
                     f"{referral.destination}" + ("" if allowed else ": refused, no consent"))
        session.expunge(referral)
        conversation = session.get(Conversation, shown.case.conversation_id)
        holder = session.get(Counsellor, referral.counsellor_id)
        holder_name = holder.display_name if holder else ""
        language = conversation.language if conversation else None
    if not allowed:
        return RedirectResponse(notices.url(back, "referral_no_consent") + "#referrals",
                                status_code=303)
    context = _case_context(request, shown, me)
    content = host(request).content
    page: HTMLResponse = _page(
        request, "referral_sheet.html", **context, referral=referral, by=holder_name, now=utcnow(),
        language_name=content.languages[language].name_ja
        if language in content.languages else None)
    page.headers["Cache-Control"] = "no-store"  # a printout's data, never in a shared cache
    return page
