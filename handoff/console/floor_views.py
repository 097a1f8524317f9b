"""Supervision: the floor view (who is on which case, how long each resident has waited since
their last message), each counsellor's capacity, and the whisper, a supervisor's note to the
counsellor holding a case. A supervisor sees their own team; a lead or an administrator chooses
one. Every case the floor shows is a view in the audit log."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from bot.db.models import utcnow
from handoff import access, audit, casework, floor
from handoff.console import notices
from handoff.console.host import host
from handoff.console.security import CsrfChecked, Supervisor
from handoff.console.views import _act, _page
from handoff.models import Case, CaseStatus, Counsellor, sees_every_team

router = APIRouter(prefix="/console", include_in_schema=False)

MAX_CAPACITY = 20


def _team(request: Request, me: Counsellor) -> str:
    places = host(request).content.places
    wanted = request.query_params.get("team") or me.team_id or places.default_team
    if not access.may_list_team(me, wanted) or wanted not in {t.id for t in places.teams}:
        raise HTTPException(status_code=404)
    return wanted


def _floor(request: Request, me: Counsellor) -> dict[str, Any]:
    team = _team(request, me)
    places = host(request).content.places
    now = utcnow()
    with host(request).sessions() as session, session.begin():
        people = floor.people(session=session, team_id=team, now=now,
                              away_after=timedelta(
                                  minutes=places.desk.waiting.away_after_minutes))
        chats = floor.chats(session=session, visible=access.visible(me, now), team_id=team)
        audit.record_list_view(session=session, counsellor=me, action="floor_view",
                               case_ids=[c.case_id for c in chats],
                               now=now)
    return {"me": me, "team": team, "people": people, "chats": chats,
            "teams": [t for t in places.teams if access.may_list_team(me, t.id)],
            "team_names": {t.id: t.name for t in places.teams},
            "every_team": sees_every_team(me.role), "now": now,
            "max_capacity": MAX_CAPACITY}


@router.get("/floor")
def floor_page(request: Request, me: Supervisor) -> HTMLResponse:
    return _page(request, "floor.html", **_floor(request, me))


@router.get("/fragments/floor")
def floor_fragment(request: Request, me: Supervisor) -> HTMLResponse:
    return _page(request, "_floor_table.html", **_floor(request, me))


@router.post("/floor/capacity", dependencies=[CsrfChecked])
def set_capacity(request: Request, me: Supervisor, counsellor_id: Annotated[int, Form()],
                 capacity: Annotated[str, Form()] = "") -> Response:
    """How many chats at once (empty: no limit), for a counsellor of one's own team."""
    wanted = capacity.strip()
    if wanted and (not wanted.isdigit() or not 1 <= int(wanted) <= MAX_CAPACITY):
        return RedirectResponse(notices.url("/console/floor", "capacity_range"),
                                status_code=303)
    with host(request).sessions() as session, session.begin():
        person = session.get(Counsellor, counsellor_id)
        if person is None or not person.team_id or not access.may_list_team(me, person.team_id):
            raise HTTPException(status_code=404)
        person.capacity = int(wanted) if wanted else None
        audit.record_account_event(session=session, actor=me, action="capacity",
                                   account_id=person.id, detail=wanted or "none")
        team = person.team_id
    return RedirectResponse(notices.url(f"/console/floor?team={team}", "capacity_saved"),
                            status_code=303)


@router.post("/cases/{case_id}/whisper", dependencies=[CsrfChecked])
def whisper(request: Request, case_id: int, me: Supervisor,
            words: Annotated[str, Form()]) -> Response:
    """A supervisor's note to the counsellor holding the case: never sent to LINE."""

    def work(session: Session, found: Case) -> str:
        if found.status != CaseStatus.CLAIMED or found.claimed_by is None:
            raise casework.CaseworkError("whisper_unclaimed")
        note = casework.add_note(session=session, case=found, counsellor=me, words=words)
        note.whisper_to = found.claimed_by
        return f"note {note.id} to {found.claimed_by}"

    return _act(request, case_id, me, "whisper", work, f"/console/cases/{case_id}")

