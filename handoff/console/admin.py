"""Administration of content: edit a draft, see it validated line by line, diff, publish with
a reason, roll back; a test box for the risk lexicon; the flow diagram. Trying a draft as a
resident is handoff/console/rehearsal.py."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.content.explain import explain
from bot.content.files import ContentError
from bot.db.models import ContentRelease
from bot.flows.diagram import mermaid
from bot.nlp.analyzer import analyzer_for
from bot.releases import store as content_store
from bot.releases.load import Content
from handoff import audit, risk_review
from handoff.console import notices
from handoff.console.host import host
from handoff.console.security import Admin, CsrfChecked
from handoff.console.views import _page
from handoff.models import Counsellor, RiskReview

router = APIRouter(prefix="/console/admin", include_in_schema=False)

# What each file is, in the administrator's words.
FILE_LABELS = {
    "flows/intake.yaml": "受付の流れ（質問・選択肢・文言）",
    "messages.yaml": "流れの外で送る文言",
    "resources.yaml": "緊急の連絡先",
    "places.yaml": "市町村・担当チーム・受付時間・支援のつなぎ先",
    "followups.yaml": "フォローアップ（送る時刻・文言・送らない時間帯）",
    "replies.yaml": "相談員の定型文（相談者のことばごと）",
}


def _label(name: str) -> str:
    if name.startswith("risk/corpus/"):
        return "危険の判定を学ぶ例文（コーパス）"
    if name.startswith("risk/"):
        return "リスク語彙" + ("（修飾語・組み合わせ）" if name.endswith("modifiers.yaml") else "")
    return FILE_LABELS.get(name, "")


def draft_state(session: Session, me: Counsellor) -> dict[str, Any]:
    current = content_store.current_release(session)
    if current is None:
        raise HTTPException(status_code=503, detail="no content release yet")
    draft = content_store.draft_of(session, me.id)
    files = draft.files if draft else current.files
    # Added, edited and removed files alike.
    changed = sorted(n for n in {*files, *current.files}
                     if files.get(n) != current.files.get(n))
    return {"current": current, "draft": draft, "files": files, "changed": changed,
            "stale": bool(draft and draft.base_release_id != current.id)}


def _names(session: Session) -> dict[int, str]:
    return {i: n for i, n in session.execute(select(Counsellor.id, Counsellor.display_name))}


@router.get("/")
def overview(request: Request, me: Admin) -> HTMLResponse:
    with host(request).sessions() as session:
        state = draft_state(session, me)
        problems = content_store.problems_of(state["files"]) if state["changed"] else []
        history = content_store.releases(session)
        names = _names(session)
    return _page(request, "admin.html", me=me, **state, problems=problems, history=history,
                 names=names, label=_label, explain=explain)


@router.get("/files/{name:path}")
def edit_page(request: Request, name: str, me: Admin) -> HTMLResponse:
    with host(request).sessions() as session:
        state = draft_state(session, me)
    files: dict[str, str] = state["files"]
    if name not in files:
        raise HTTPException(status_code=404)
    problems = content_store.problems_of(files) if state["changed"] else []
    here = [p for p in problems if p.file == name]
    by_line: dict[int, list[str]] = {}
    for p in here:
        if p.line is not None:
            by_line.setdefault(p.line, []).append(p.message)
    return _page(request, "admin_edit.html", me=me, file=name, label=_label(name),
                 text=files[name], lines=files[name].split("\n"), by_line=by_line,
                 here=here, elsewhere=[p for p in problems if p.file != name],
                 changed=name in state["changed"], saved=request.query_params.get("saved"),
                 explain=explain)


@router.post("/files/{name:path}", dependencies=[CsrfChecked])
def save_file(request: Request, name: str, me: Admin,
              text: Annotated[str, Form()]) -> Response:
    with host(request).sessions() as session, session.begin():
        try:
            content_store.save_to_draft(session, me.id, name, text)
        except KeyError:
            raise HTTPException(status_code=404) from None
        audit.record(session=session, counsellor=me, action="content_edit", case_id=None,
                     detail=name)
    return RedirectResponse(f"/console/admin/files/{quote(name)}?saved=1", status_code=303)


@router.get("/diff")
def diff_page(request: Request, me: Admin) -> HTMLResponse:
    with host(request).sessions() as session:
        state = draft_state(session, me)
    current: ContentRelease = state["current"]
    diffs = [(name, list(difflib.unified_diff(
        current.files.get(name, "").splitlines(), state["files"].get(name, "").splitlines(),
        fromfile=f"公開中 #{current.id} {name}", tofile=f"下書き {name}", lineterm="", n=2)))
        for name in state["changed"]]
    return _page(request, "admin_diff.html", me=me, diffs=diffs, current=current)


@router.post("/publish", dependencies=[CsrfChecked])
def publish(request: Request, me: Admin, reason: Annotated[str, Form()] = "") -> Response:
    runtime = host(request)
    if not reason.strip():
        return _to_overview("publish_reason")
    try:
        with runtime.sessions() as session, session.begin():
            draft = content_store.draft_of(session, me.id)
            if draft is None:
                return _to_overview("nothing_to_publish")
            release = content_store.publish(session, draft.files, author_id=me.id, reason=reason,
                                            base_release_id=draft.base_release_id)
            session.delete(draft)
            audit.record(session=session, counsellor=me, action="content_publish", case_id=None,
                         detail=f"release {release.id}")
            release_id, files = release.id, release.files
    except ContentError:
        return _to_overview("draft_problems")
    except content_store.StaleDraft:
        return _to_overview("stale_draft")
    _serve(request, files, release_id)
    return _to_overview("published", release_id)


@router.post("/discard", dependencies=[CsrfChecked])
def discard(request: Request, me: Admin) -> Response:
    with host(request).sessions() as session, session.begin():
        content_store.discard_draft(session, me.id)
        audit.record(session=session, counsellor=me, action="content_discard", case_id=None)
    return _to_overview("discarded")


@router.post("/releases/{release_id}/rollback", dependencies=[CsrfChecked])
def rollback(request: Request, release_id: int, me: Admin,
             reason: Annotated[str, Form()] = "") -> Response:
    if not reason.strip():
        return _to_overview("rollback_reason")
    try:
        with host(request).sessions() as session, session.begin():
            release = content_store.rollback(session, release_id, author_id=me.id,
                                             reason=f"#{release_id} に戻す: {reason.strip()}")
            audit.record(session=session, counsellor=me, action="content_rollback",
                         case_id=None, detail=f"release {release.id} from {release_id}")
            new_id, files = release.id, release.files
    except LookupError:
        raise HTTPException(status_code=404) from None
    except ContentError:
        # An old release no longer fits today's code; it stays in the history, unserved.
        return _to_overview("rollback_unusable", release_id)
    _serve(request, files, new_id)
    return _to_overview("rolled_back", release_id, new_id)


def _serve(request: Request, files: dict[str, Any], release_id: int) -> None:
    """This process serves the release at once; others hear of it through the change feed."""
    runtime = host(request)
    if runtime.release_id is None or release_id > runtime.release_id:
        runtime.serve(content_store.load_files(files), release_id)


def _to_overview(code: str, *numbers: int) -> Response:
    return RedirectResponse(notices.url("/console/admin/", code, *numbers), status_code=303)


# ---------------------------------------------------------------------- tools


def draft_content(request: Request, me: Counsellor) -> tuple[Content, bool]:
    """The draft as content if it is valid, else what is served."""
    with host(request).sessions() as session:
        state = draft_state(session, me)
    if state["changed"]:
        try:
            return content_store.load_files(state["files"]), True
        except ContentError:
            pass
    return host(request).content, False


@router.get("/lexicon")
def lexicon_box(request: Request, me: Admin, text: str = "") -> HTMLResponse:
    content, from_draft = draft_content(request, me)
    analyzer = analyzer_for(content.lexicon, content.risk_model)
    result = analyzer.analyze(text) if text.strip() else None
    labels = {c.category: c.label for c in content.lexicon.categories}
    return _page(request, "admin_lexicon.html", me=me, text=text, result=result,
                 from_draft=from_draft, categories=labels)


@router.get("/diagram")
def diagram(request: Request, me: Admin, flow: str = "intake") -> HTMLResponse:
    content, from_draft = draft_content(request, me)
    if flow not in content.flows:
        raise HTTPException(status_code=404)
    # The intake's states open their cards in the form editor (content_forms.py).
    states = list(content.flows[flow].flow.states) if flow == "intake" else []
    page = _page(request, "admin_diagram.html", me=me, flow=flow, flows=list(content.flows),
                 source=mermaid(content.flows[flow].flow), from_draft=from_draft, states=states)
    # The vendored Mermaid styles the SVG it draws with an inline <style>; scripts stay 'self'.
    page.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "frame-ancestors 'none'")
    return page


# ---------------------------------------------------------------------- risk reviews


@router.get("/risk-reviews")
def risk_reviews(request: Request, me: Admin) -> HTMLResponse:
    """Counsellors' marks of wrong levels. The resident's words are shown so that an
    administrator can paraphrase them: each case shown is a view in the audit log."""
    with host(request).sessions() as session, session.begin():
        reviews = risk_review.open_reviews(session=session)
        for case_id in sorted({r.review.case_id for r in reviews}):
            audit.record(session=session, counsellor=me, action="risk_review_view",
                         case_id=case_id)
    return _page(request, "admin_risk_reviews.html", me=me, reviews=reviews,
                 levels=risk_review.LEVELS)


def _review_action(request: Request, me: Counsellor, action: str,
                   work: Callable[[Session], RiskReview], done: str) -> Response:
    """One administrator's decision on a review, in one transaction with its audit row."""
    try:
        with host(request).sessions() as session, session.begin():
            review = work(session)
            audit.record(session=session, counsellor=me, action=action,
                         case_id=review.case_id, detail=f"review {review.id}")
    except LookupError:
        raise HTTPException(status_code=404) from None
    except risk_review.ReviewError as e:
        done = notices.refused(e)[0]
    return RedirectResponse(notices.url("/console/admin/risk-reviews", done), status_code=303)


@router.post("/risk-reviews/{review_id}/add", dependencies=[CsrfChecked])
def add_paraphrase(request: Request, review_id: int, me: Admin,
                   text: Annotated[str, Form()], level: Annotated[str, Form()]) -> Response:
    return _review_action(
        request, me, "risk_review_add",
        lambda session: risk_review.add_paraphrase(session=session, review_id=review_id,
                                                   admin=me, text=text, level=level),
        "paraphrase_added")


@router.post("/risk-reviews/{review_id}/dismiss", dependencies=[CsrfChecked])
def dismiss_review(request: Request, review_id: int, me: Admin) -> Response:
    return _review_action(
        request, me, "risk_review_dismiss",
        lambda session: risk_review.close(session=session, review_id=review_id, admin=me,
                                          status="dismissed"),
        "review_dismissed")
