"""「相談をさがす」: lists of cases by status, holder, period, outcome, town, desk and
pseudonym. Every case a list shows is recorded as a view, as opening it would be."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from bot.db.models import utcnow
from handoff import access, audit, search, unread
from handoff.console.host import host
from handoff.console.security import CurrentCounsellor
from handoff.console.views import _page
from handoff.models import Outcome

router = APIRouter(prefix="/console", include_in_schema=False)



@router.get("/search")
def search_page(request: Request, me: CurrentCounsellor) -> HTMLResponse:
    runtime = host(request)
    places = runtime.content.places
    zone = runtime.content.followups.zone()
    query = dict(request.query_params)
    try:
        filters = search.parse(query)
        error = None
    except search.SearchError as e:
        filters, error = search.Filters(), str(e)
    now = utcnow()
    with runtime.sessions() as session, session.begin():
        found = search.find(session=session, me=me, filters=filters,
                            visible=access.visible(me, now), zone=zone)
        new_words = unread.counts(session=session, counsellor_id=me.id,
                                  case_ids=[c.id for c in found.cases])
        audit.record_list_view(session=session, counsellor=me, action="search_view",
                               case_ids=[c.id for c in found.cases],
                               now=now)
    paging = {k: v for k, v in query.items() if k != "page"}
    return _page(request, "search.html", me=me, filters=filters, found=found,
                 unread=new_words, error=error, japan=zone, paging=paging,
                 outcomes=[o.value for o in Outcome],
                 teams=[t for t in places.teams if access.may_list_team(me, t.id)],
                 towns=places.municipalities,
                 team_names={t.id: t.name for t in places.teams})
