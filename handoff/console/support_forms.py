"""The support a resident can be pointed or connected to (content/places.yaml) in forms: the
programmes, which of them each trouble suggests (the つなぐシート's suggestions), and the
services a counsellor connects a resident to with their consent (つなぐ先), whose names and
purposes are read when that consent is asked and so come with every language's words.

Services are added, never removed here: the outcome figures count referrals by them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from bot.content.explain import Explained
from bot.content.ids import identifier
from bot.content.languages import Translator
from bot.content.yamledit import YamlDocument
from handoff.console.form_saving import (
    draft_files,
    draft_languages,
    form_page,
    lines,
    row_of,
    table_edit,
    translations_added,
    words,
)
from handoff.console.security import Admin, CsrfChecked
from handoff.models import Counsellor

router = APIRouter(prefix="/console/admin", include_in_schema=False)

PLACES = "places.yaml"
DESTINATIONS = ("referrals", "destinations")
WHERE = "/console/admin/support/"
# The intake's answers (bot/flows: life areas and urgent needs), in an officer's words.
TROUBLES = {
    "life_areas": {"money": "お金・生活費", "work": "仕事", "housing": "住まい",
                   "debt": "借金・家計", "health": "からだ・こころ", "family": "家族",
                   "isolation": "ひとり・つながり", "other": "そのほか"},
    "urgent_needs": {"food": "今日の食べもの", "shelter": "今夜寝る場所",
                     "utilities": "電気・ガス・水道が止まる"},
}
NEEDS = [("name", "名前"), ("phone", "電話番号")]


def _page_of(request: Request, me: Counsellor, problems: list[Explained] | None = None,
             status_code: int = 200, kept: dict[str, str] | None = None) -> HTMLResponse:
    files = draft_files(request, me)
    data = YamlDocument(files[PLACES]).plain()
    packs = draft_languages(request, files)
    routing = data.get("routing") or {}
    rows = [(group, key, label, (routing.get(group) or {}).get(key) or [])
            for group, labels in TROUBLES.items() for key, label in labels.items()]
    rows += [(group, key, key, ids) for group in TROUBLES
             for key, ids in (routing.get(group) or {}).items() if key not in TROUBLES[group]]
    return form_page(request, me, "admin_support.html", PLACES, problems, status_code, kept,
                     programmes=data.get("programmes") or {}, routing=rows,
                     always=routing.get("always") or [],
                     destinations=(data.get("referrals") or {}).get("destinations") or [],
                     teams={t["id"]: t["name"] for t in data.get("teams") or []},
                     needs=NEEDS, languages={c: p.name_ja for c, p in packs.items()},
                     translators={c: Translator(p) for c, p in packs.items()})


@router.get("/support/")
def support(request: Request, me: Admin) -> HTMLResponse:
    return _page_of(request, me)


@router.post("/support/programmes/{programme}", dependencies=[CsrfChecked])
async def save_programme(request: Request, programme: str, me: Admin) -> Response:
    """A programme's name, or the programme gone (refused while a trouble suggests it)."""

    def edit(doc: YamlDocument, form: FormData) -> None:
        if programme not in (doc.plain(("programmes",)) or {}):
            raise HTTPException(status_code=404)
        if form.get("remove"):
            doc.remove(("programmes", programme))
        else:
            doc.set(("programmes", programme), words(form, "name"))

    return await table_edit(request, me, PLACES, f"{WHERE}#programmes", _page_of, edit)


@router.post("/support/programmes", dependencies=[CsrfChecked])
async def add_programme(request: Request, me: Admin) -> Response:
    def edit(doc: YamlDocument, form: FormData) -> None:
        known = doc.plain(("programmes",)) or {}
        key = identifier(words(form, "kana") or words(form, "name"), set(known), "programme")
        doc.set(("programmes", key), words(form, "name"))

    return await table_edit(request, me, PLACES, f"{WHERE}#programmes", _page_of, edit)


@router.post("/support/routing", dependencies=[CsrfChecked])
async def save_routing(request: Request, me: Admin) -> Response:
    """Which programmes each trouble suggests: those kept stay in their order, new ones follow
    in the programmes' order."""

    def edit(doc: YamlDocument, form: FormData) -> None:
        programmes = list(doc.plain(("programmes",)) or {})
        routing = doc.plain(("routing",)) or {}

        def chosen(field: str, old: list[str]) -> list[str]:
            ticked = {str(v) for v in form.getlist(field)}
            return [p for p in old if p in ticked] + [p for p in programmes
                                                       if p in ticked and p not in old]

        for group in TROUBLES:
            for key, old in (routing.get(group) or {}).items():
                new = chosen(f"{group}-{key}", old)
                if new != old:
                    doc.set(("routing", group, key), new)
        always = chosen("always", routing.get("always") or [])
        if always != (routing.get("always") or []):
            doc.set(("routing", "always"), always)

    return await table_edit(request, me, PLACES, f"{WHERE}#routing", _page_of, edit)


def _destination(form: FormData, old: dict[str, Any], teams: list[str]) -> dict[str, Any]:
    entry = {**old, "name": words(form, "name"), "purposes": lines(form, "purposes")}
    local = {team: words(form, f"local-{team}") for team in teams if words(form, f"local-{team}")}
    if local:
        entry["local_names"] = local
    else:
        entry.pop("local_names", None)
    needs = [n for n, _ in NEEDS if str(n) in {str(v) for v in form.getlist("needs")}]
    if needs:
        entry["needs"] = needs
    else:
        entry.pop("needs", None)
    if form.get("welfare"):
        entry["welfare"] = True
    else:
        entry.pop("welfare", None)
    order = ["id", "name", "local_names", "purposes", "needs", "welfare"]
    return {k: entry[k] for k in [*order, *entry] if k in entry}


def _consent_words(form: FormData, teams: list[str]) -> dict[str, str]:
    """The words read when the resident's yes is asked, by the key of their translation
    fields (`tr-<code>-<key>`)."""
    found = {"name": words(form, "name")}
    found |= {f"purpose-{i}": p for i, p in enumerate(lines(form, "purposes"))}
    found |= {f"local-{team}": words(form, f"local-{team}") for team in teams}
    return found


@router.post("/support/destinations/{index}", dependencies=[CsrfChecked])
async def save_destination(request: Request, index: int, me: Admin) -> Response:
    def edit(doc: YamlDocument, form: FormData) -> dict[str, str]:
        teams = [t["id"] for t in doc.plain(("teams",)) or []]
        old = row_of(doc, DESTINATIONS, index)
        doc.set((*DESTINATIONS, index), _destination(form, old, teams))
        return translations_added(request, me, form, _consent_words(form, teams))

    return await table_edit(request, me, PLACES, f"{WHERE}#destination-{index}", _page_of,
                            edit)


@router.post("/support/destinations", dependencies=[CsrfChecked])
async def add_destination(request: Request, me: Admin) -> Response:
    def edit(doc: YamlDocument, form: FormData) -> dict[str, str]:
        teams = [t["id"] for t in doc.plain(("teams",)) or []]
        rows = doc.plain(DESTINATIONS) or []
        new_id = identifier(words(form, "kana") or words(form, "name"),
                            {r.get("id") for r in rows}, "service")
        doc.insert(DESTINATIONS, len(rows),
                   _destination(form, {"id": new_id}, teams))
        return translations_added(request, me, form, _consent_words(form, teams))

    return await table_edit(request, me, PLACES, f"{WHERE}#destinations", _page_of, edit)
