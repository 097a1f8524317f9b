"""The desk in the console: each person's presence (対応可能 / 離席 / 終了) in the header, the
queue page's view of each team (who is on duty, the oldest wait, the SLA), and the supervisors'
alert when a case has waited past its SLA (handoff/desk_status.py).

An open console page on screen asks `/console/desk/status` every 30 s (console/static/desk.js):
that request keeps its session and its 対応可能 alive, since counsellors watch the queue without
clicking. A hidden tab or a closed browser asks nothing, so 対応可能 counts as 離席 after
`places.desk.waiting.away_after_minutes` and the session idles out as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from bot.content.schema import Places
from bot.db.models import utcnow
from handoff import access, desk_status, support
from handoff.console.host import host
from handoff.console.security import CsrfChecked, CurrentCounsellor
from handoff.models import Case, Counsellor, Role, at_least, sees_every_team
from handoff.outcomes import japan_day
from handoff.presence import ANSWERING, LABELS, Presence, presence_of, set_presence

router = APIRouter(prefix="/console/desk", include_in_schema=False)

AUTO_AWAY = "離席（自動）"
CHOICES = [(p.value, LABELS[p]) for p in (Presence.AVAILABLE, Presence.AWAY, Presence.OFF)]


def ms(moment: datetime | None) -> int | None:
    """An instant as the page's script reads it (milliseconds since the epoch)."""
    return None if moment is None else int(moment.timestamp() * 1000)


def _away_after(places: Places) -> timedelta:
    return timedelta(minutes=places.desk.waiting.away_after_minutes)


def listed_teams(me: Counsellor, places: Places) -> list[str]:
    """The teams whose desk this account sees on its queue page."""
    return [t.id for t in places.teams if access.may_list_team(me, t.id)]


def alerted_teams(me: Counsellor, places: Places) -> list[str]:
    """The teams whose waits past the SLA this account is alerted to: a supervisor their own
    team's, a lead or an administrator every team's, a counsellor none."""
    if not at_least(me.role, Role.SUPERVISOR):
        return []
    if sees_every_team(me.role):
        return [t.id for t in places.teams]
    return [me.team_id] if me.team_id else []


@dataclass(frozen=True)
class MyPresence:
    shown: str  # the presence as it counts now
    auto: bool  # chosen 対応可能, counted as 離席 for lack of console activity
    label: str


def _my_presence(session: Session, me: Counsellor, places: Places, now: datetime) -> MyPresence:
    counted = presence_of(session=session, counsellor=me, now=now,
                          away_after=_away_after(places))
    auto = counted == Presence.AWAY and me.presence == Presence.AVAILABLE
    return MyPresence(counted.value, auto, AUTO_AWAY if auto else LABELS[counted])


def _alert_text(alert: desk_status.Breaches, every_team: bool) -> str:
    if not every_team or not alert.teams:
        return ""
    return "、".join(f"{name} {n}件" for name, n in alert.teams)


class Header:
    """What every console page shows of the desk above its content, read only when the page
    shows it (fragments do not)."""

    choices = CHOICES

    def __init__(self, request: Request, me: Counsellor | None) -> None:
        self.request, self.me = request, me
        self.now = utcnow()

    @property
    def now_ms(self) -> int | None:
        return ms(self.now)

    @cached_property
    def presence(self) -> MyPresence | None:
        """Only for the roles that answer residents (a lead or administrator is not counted)."""
        if self.me is None or self.me.role not in ANSWERING:
            return None
        runtime = host(self.request)
        with runtime.sessions() as session:
            return _my_presence(session, self.me, runtime.content.places, self.now)

    @cached_property
    def alert(self) -> desk_status.Breaches | None:
        if self.me is None:
            return None
        runtime = host(self.request)
        teams = alerted_teams(self.me, runtime.content.places)
        if not teams:
            return None
        with runtime.sessions() as session:
            return desk_status.breaches(session=session, places=runtime.content.places,
                                        team_ids=teams, now=self.now)

    @cached_property
    def monitoring_due(self) -> int:
        """Plans this counsellor is in charge of whose monitoring day has come: the reminder
        every page carries (the caseload lists them)."""
        if self.me is None:
            return 0
        with host(self.request).sessions() as session:
            return len(support.due(session, japan_day(self.now), counsellor_id=self.me.id))

    @property
    def alert_teams(self) -> str:
        alert = self.alert
        return "" if alert is None or self.me is None else _alert_text(
            alert, sees_every_team(self.me.role))


def queue_context(request: Request, me: Counsellor, *, session: Session, team: str,
                  cases: Sequence[Case], now: datetime) -> dict[str, Any]:
    """The queue page's desk: each team shown (the one filtered, else every team one may
    list) and the SLA clock of each waiting row."""
    places = host(request).content.places
    known = {t.id for t in places.teams}  # a lead may type any team into the link
    teams = [t for t in ([team] if team else listed_teams(me, places)) if t in known]
    return {"desk_teams": desk_status.team_status(session=session, places=places,
                                                  team_ids=teams, now=now),
            "sla": desk_status.clocks_of(places=places, cases=cases, now=now),
            "presence_labels": {p.value: LABELS[p] for p in Presence},
            "ms": ms, "desk_now": now}


def fingerprint(request: Request, me: Counsellor, session: Session) -> list[str]:
    """For the queue page's live connection: presence, opening and SLA changes."""
    places = host(request).content.places
    return desk_status.fingerprint(session=session, places=places,
                                   team_ids=listed_teams(me, places), now=utcnow())


def _back(path: str) -> str:
    """Where the form was: a console page of this site only (never another host)."""
    if path.startswith("/console/") and not path.startswith("//") and "\\" not in path:
        return path
    return "/console/"


@router.post("/presence", dependencies=[CsrfChecked])
def choose_presence(request: Request, me: CurrentCounsellor,
                    presence: Annotated[str, Form()],
                    back: Annotated[str, Form()] = "/console/") -> Response:
    """対応可能 / 離席 / 終了, audited; every process reads it from the database."""
    try:
        chosen = Presence(presence)
    except ValueError:
        raise HTTPException(status_code=422, detail="unknown presence") from None
    with host(request).sessions() as session, session.begin():
        account = session.get(Counsellor, me.id)
        assert account is not None  # the request's session is live, so is its account
        set_presence(session=session, counsellor=account, presence=chosen,
                              now=utcnow())
    return RedirectResponse(_back(back), status_code=303)


@router.get("/status")
def status(request: Request, me: CurrentCounsellor) -> JSONResponse:
    """The header's presence and the supervisors' alert, for the page's 30-second check (the
    SLA passes with time, which writes nothing the live connection would hear of)."""
    header = Header(request, me)
    mine, alert = header.presence, header.alert
    return JSONResponse({
        "now": header.now_ms,
        "presence": None if mine is None else {
            "shown": mine.shown, "auto": mine.auto, "label": mine.label},
        "alert": None if alert is None else {
            "count": alert.count, "teams": header.alert_teams,
            "next_due": ms(alert.next_due)}})
