"""相談経路: the departments' referral links with their QR codes (supervisors and
administrators print them on leaflets), and a case's source set or corrected by a counsellor.

A link opens the account's LINE chat with a greeting that names the department
(bot/flows/referral_links.py): it says who sent the resident, never who the resident is, and
the same link serves everyone the department meets.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Annotated

import segno
from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from bot.content.schema import Source
from bot.flows import referral_links
from handoff import sources
from handoff.console import notices
from handoff.console.host import host
from handoff.console.security import CsrfChecked, CurrentCounsellor, Supervisor
from handoff.console.views import _act, _page
from handoff.models import Case

router = APIRouter(prefix="/console", include_in_schema=False)

# The demo's LINE stand-in answers LINE's URL scheme under its own prefix.
EMULATOR_PREFIX = "/emulator/R/"


@dataclass(frozen=True)
class Shown:
    source: Source
    text: str  # what the chat opens with
    url: str  # LINE's link
    qr_svg: str  # the link as a QR code, inline SVG (no script, no style)
    demo_url: str | None  # the same link in the demo's LINE stand-in


def _qr(url: str) -> segno.QRCode:
    # Medium error correction: a leaflet that is folded or smudged still scans.
    return segno.make(url, error="m", micro=False)


def _shown(source: Source, line_id: str, emulator: bool) -> Shown:
    url = referral_links.link(line_id, source)
    demo = EMULATOR_PREFIX + url.removeprefix(referral_links.LINE_URL_SCHEME) if emulator \
        else None
    return Shown(source=source, text=referral_links.prefilled_text(source), url=url,
                 qr_svg=_qr(url).svg_inline(scale=5, title=f"{source.name}の紹介用QRコード"),
                 demo_url=demo)


@router.get("/referral-links")
def referral_links_page(request: Request, me: Supervisor) -> HTMLResponse:
    runtime = host(request)
    line_id = runtime.settings.account_line_id
    shown = [_shown(s, line_id, runtime.settings.emulator)
             for s in runtime.content.places.referrals.sources] if line_id else []
    return _page(request, "referral_links.html", me=me, line_id=line_id, shown=shown)


@router.get("/referral-links/{source_id}/qr.svg")
def referral_qr(request: Request, source_id: str, me: Supervisor) -> Response:
    """One source's QR code as an SVG file, for the leaflet's designer."""
    runtime = host(request)
    line_id = runtime.settings.account_line_id
    source = next((s for s in runtime.content.places.referrals.sources if s.id == source_id),
                  None)
    if source is None or line_id is None:
        raise HTTPException(status_code=404)
    out = io.BytesIO()
    _qr(referral_links.link(line_id, source)).save(out, kind="svg", scale=10, border=4,
                                                   title=f"{source.name}の紹介用QRコード")
    return Response(out.getvalue(), media_type="image/svg+xml", headers={
        "Content-Disposition": f'attachment; filename="tsunagu_{source.id}.svg"'})


@router.post("/cases/{case_id}/source", dependencies=[CsrfChecked])
def set_case_source(request: Request, case_id: int, me: CurrentCounsellor,
                    source: Annotated[str, Form()] = sources.UNKNOWN) -> Response:
    """How the resident came, set or corrected (「不明」 clears it): whoever holds the case,
    or a supervisor."""
    known = [s.id for s in host(request).content.places.referrals.sources]

    def work(session: Session, found: Case) -> str:
        return sources.set_source(case=found, counsellor=me, source=source, known=known)

    return _act(request, case_id, me, "source", work,
                notices.url(f"/console/cases/{case_id}", "source_saved"))
