"""The counsellors' canned replies (content/replies.yaml) in a form: each reply's title, its
words in every language residents read, and the teams it is offered to; a reply added or
removed. Saved like every form: checked first (placeholders, lengths, the required standard
Japanese), the edited lines alone rewritten."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from bot.content.explain import Explained
from bot.content.ids import identifier
from bot.content.schema import REPLY_PLACEHOLDERS
from bot.content.yamledit import YamlDocument
from bot.line import MAX_TEXT_UTF16
from handoff.console.form_saving import (
    draft_files,
    form_page,
    row_of,
    table_edit,
    words,
)
from handoff.console.host import host
from handoff.console.security import Admin, CsrfChecked
from handoff.models import Counsellor

router = APIRouter(prefix="/console/admin", include_in_schema=False)

REPLIES = "replies.yaml"
WHERE = "/console/admin/replies/"
# What each placeholder becomes, in the officer's words.
PLACEHOLDERS = {"name": "相談員の表示名", "team": "相談の窓口の名前",
                "hours": "その窓口の受付時間", "pseudonym": "相談の仮名"}
assert set(PLACEHOLDERS) == REPLY_PLACEHOLDERS


def _languages(request: Request) -> dict[str, str]:
    """Every language a reply may be written in: standard Japanese first, then やさしい日本語
    and the others content has."""
    packs = host(request).content.languages
    return {"ja": "日本語（標準）", **{code: pack.name_ja for code, pack in sorted(
        packs.items(), key=lambda item: (item[0] != "ja_easy", item[0]))}}


def _page_of(request: Request, me: Counsellor, problems: list[Explained] | None = None,
             status_code: int = 200, kept: dict[str, str] | None = None) -> HTMLResponse:
    data = YamlDocument(draft_files(request, me)[REPLIES]).plain()
    teams = {t.id: t.name for t in host(request).content.places.teams}
    return form_page(request, me, "admin_replies.html", REPLIES, problems, status_code, kept,
                     replies=data.get("replies") or [], languages=_languages(request),
                     teams=teams, placeholders=PLACEHOLDERS, max_text=MAX_TEXT_UTF16,
                     opened=request.query_params.get("open", ""))


@router.get("/replies/")
def replies(request: Request, me: Admin) -> HTMLResponse:
    return _page_of(request, me)


def _reply(request: Request, form: FormData, old: dict[str, Any]) -> dict[str, Any]:
    """The form's reply over the file's (a language's words left empty are taken out: that
    language then reads やさしい日本語 or standard Japanese)."""
    reply = dict(old)
    reply["title"] = words(form, "title")
    texts = dict(old.get("texts") or {})
    for code in _languages(request):
        typed = str(form.get(f"text-{code}") or "").replace("\r\n", "\n").strip()
        if typed:
            texts[code] = typed
        else:
            texts.pop(code, None)
    reply["texts"] = texts
    chosen = [str(t) for t in form.getlist("teams")]
    if chosen:
        reply["teams"] = chosen
    else:
        reply.pop("teams", None)
    return {k: reply[k] for k in ["id", "title", "texts", "teams", *reply] if k in reply}


@router.post("/replies/{index}", dependencies=[CsrfChecked])
async def save_reply(request: Request, index: int, me: Admin) -> Response:
    def edit(doc: YamlDocument, form: FormData) -> None:
        old = row_of(doc, "replies", index)
        if form.get("remove"):
            doc.remove(("replies", index))
            return
        new = _reply(request, form, old)
        for key in ("title", "teams"):  # field by field: an unchanged one stays byte for byte
            if key in new:
                doc.set(("replies", index, key), new[key])
            elif key in old:
                doc.remove(("replies", index, key))
        for code, text in new["texts"].items():
            doc.set(("replies", index, "texts", code), text)
        for code in set(old.get("texts") or {}) - set(new["texts"]):
            doc.remove(("replies", index, "texts", code))

    return await table_edit(request, me, REPLIES, f"{WHERE}?open={index}#reply-{index}",
                            _page_of, edit)


@router.post("/replies", dependencies=[CsrfChecked])
async def add_reply(request: Request, me: Admin) -> Response:
    def edit(doc: YamlDocument, form: FormData) -> None:
        rows = doc.plain(("replies",)) or []
        reply_id = identifier(words(form, "text-ja_easy") or words(form, "title"),
                              {r.get("id") for r in rows}, "reply")
        doc.insert(("replies",), len(rows), _reply(request, form, {"id": reply_id}))

    return await table_edit(request, me, REPLIES, WHERE, _page_of, edit)
