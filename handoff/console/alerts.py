"""Emergency alerts in the console: the banner on every page (its fragment and live stream),
the acknowledgement, and the case's emergency record.

The banner is a fragment the page fetches (static/alerts.js) when the stream says the alerts
this account sees have changed; the change feed carries writes of any process (LISTEN/NOTIFY
on PostgreSQL), so a case raised by a worker and an acknowledgement made on another replica
reach every open console.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from bot.db.models import utcnow
from handoff import emergency, presence
from handoff.console import notices
from handoff.console.host import host
from handoff.console.security import CsrfChecked, CurrentCounsellor
from handoff.console.views import _load_case, _page, templates
from handoff.models import Counsellor

router = APIRouter(prefix="/console", include_in_schema=False)

FRAGMENT = "/console/fragments/alerts"


def _open_alerts(request: Request, me: Counsellor) -> list[emergency.AlertView]:
    rules = host(request).content.places.desk.emergency
    with host(request).sessions() as session:
        return emergency.open_alerts_for(session=session, counsellor=me, now=utcnow(),
                                         rules=rules)


@router.get("/fragments/alerts")
def alerts_fragment(request: Request, me: CurrentCounsellor) -> HTMLResponse:
    """The banner's alerts: whom, which desk, since when, who acknowledged. Viewing it is not a
    case view (no words, no place): the case page, when opened, is audited as usual."""
    now = utcnow()
    alerts = _open_alerts(request, me)
    places = host(request).content.places
    away_after = timedelta(minutes=places.desk.waiting.away_after_minutes)
    with host(request).sessions() as session:
        on_duty = {team: presence.available_count(session=session, team_id=team, now=now,
                                                  away_after=away_after)
                   for team in {a.team_id for a in alerts}}
    return _page(request, "_alerts.html", me=me, alerts=alerts, now=now, on_duty=on_duty,
                 team_names={t.id: t.name for t in places.teams})


def _fingerprint(request: Request, me: Counsellor) -> str:
    return json.dumps([(a.alert_id, len(a.acks), a.acked_by_me)
                       for a in _open_alerts(request, me)])


@router.get("/alerts/stream")
async def alerts_stream(request: Request, me: CurrentCounsellor) -> EventSourceResponse:
    """Server-sent 'changed' events when the alerts this account sees change; the page then
    fetches the banner. The database is read only when some process signalled a change."""
    runtime = host(request)
    feed, fallback = runtime.changes, runtime.settings.live_fallback_seconds

    async def events() -> AsyncIterator[dict[str, str]]:
        seen = feed.version
        last = await run_in_threadpool(_fingerprint, request, me)
        # An alert raised before this baseline but after the page's banner was drawn would
        # otherwise wait for the next change: the page fetches the banner once more now.
        yield {"event": "ready", "data": last}
        while not await request.is_disconnected():
            seen = await feed.wait(seen, fallback)
            await asyncio.sleep(0.1)  # a burst of commits settles into one refresh
            seen = feed.version
            now = await run_in_threadpool(_fingerprint, request, me)
            if now != last:
                yield {"event": "changed", "data": now}
                last = now

    return EventSourceResponse(events(), ping=15)


@router.post("/alerts/{alert_id}/ack", dependencies=[CsrfChecked])
def acknowledge(request: Request, alert_id: int, me: CurrentCounsellor) -> Response:
    """「確認しました」: audited; a person counts once. Answers with the banner as it is now
    (the page's script swaps it in); 404 for an alert whose case is not this account's."""
    runtime = host(request)
    with runtime.sessions() as session, session.begin():
        try:
            emergency.acknowledge(session=session, alert_id=alert_id, counsellor=me,
                                  now=utcnow(), rules=runtime.content.places.desk.emergency)
        except LookupError:
            raise HTTPException(status_code=404) from None
    return RedirectResponse(FRAGMENT, status_code=303)


@router.post("/cases/{case_id}/emergency", dependencies=[CsrfChecked])
def record_action(request: Request, case_id: int, me: CurrentCounsellor,
                  action: Annotated[str, Form()], by_whom: Annotated[str, Form()] = "",
                  outcome: Annotated[str, Form()] = "") -> Response:
    """A line of the case's emergency record (what was done, by whom, the outcome): anyone
    who may see the case, audited with it."""
    shown = _load_case(request, case_id, me)  # 404 unless visible
    back = f"/console/cases/{case_id}"
    if shown.sealed:
        return RedirectResponse(notices.url(back, "no_consent"), status_code=303)
    try:
        with host(request).sessions() as session, session.begin():
            emergency.record_action(session=session, case=shown.case, counsellor=me,
                                    action=action, by_whom=by_whom, outcome=outcome,
                                    now=utcnow())
    except emergency.EmergencyError as e:
        return RedirectResponse(notices.refusal_url(back, e), status_code=303)
    return RedirectResponse(notices.url(back, "emergency_recorded"), status_code=303)


@dataclass(frozen=True)
class Record:
    """What the case page shows of an emergency: the alert, who acknowledged, the record."""

    alert: emergency.CaseAlert | None
    lines: list[emergency.RecordLine]
    local: Any  # datetime -> the desk's local time (Japan)
    actions: dict[str, str]


def emergency_record(request: Request, case_id: int) -> Record:
    """Read for the case page's partial (templates/_emergency_record.html), after the page
    itself checked that the account may see the case and audited the view."""
    zone = host(request).content.followups.zone()

    def local(at: datetime) -> datetime:
        return at.astimezone(zone)

    with host(request).sessions() as session:
        return Record(emergency.alert_of_case(session=session, case_id=case_id),
                      emergency.record_of(session=session, case_id=case_id), local,
                      emergency.ACTIONS)


templates.env.globals["emergency_record"] = emergency_record
