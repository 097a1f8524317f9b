"""Content in forms, for welfare officers who do not write YAML: the intake as cards, the
towns and teams as tables, the emergency numbers as a table.

Every form edits the administrator's draft through `YamlDocument` (the published diff shows
the edited lines, every comment kept) and is checked before it is saved: an edit that would
leave a dead end, an unreachable question or anything else the loader refuses is shown at its
field in Japanese and not saved. Diff, rehearsal, publishing and rollback stay where they are
(admin.py); every form page links to them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import yaml
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from bot.content.explain import Explained
from bot.content.flow import Flow
from bot.content.ids import identifier
from bot.content.languages import Translator
from bot.content.yamledit import EditError, YamlDocument
from bot.flows import cards
from bot.line import MAX_LABEL, MAX_TEXT_UTF16
from handoff.console.form_saving import (
    MOVED,
    draft_files,
    draft_languages,
    draft_problems,
    explained,
    form_page,
    row_of,
    save_checked,
    table_edit,
    translations_added,
    words,
)
from handoff.console.host import host
from handoff.console.security import Admin, CsrfChecked
from handoff.console.views import _page
from handoff.models import Counsellor

router = APIRouter(prefix="/console/admin", include_in_schema=False)

FLOW = "flows/intake.yaml"
PLACES = "places.yaml"
RESOURCES = "resources.yaml"
FOLLOWUPS = "followups.yaml"
# The follow-up rules the product sends (bot/journey/followups.py), in an officer's words.
FOLLOWUP_LABELS = {
    "intake_stalled": "受付の途中で止まった人へ",
    "not_picked_up": "相談員につないだのに、まだ誰も担当していない人へ",
    "after_close": "相談が終わってしばらくたった人へ（その後のようす）",
    "monitoring": "支援計画の見直しの日に（本人が望んだときだけ）",
}
DAYS = [("mon", "月"), ("tue", "火"), ("wed", "水"), ("thu", "木"), ("fri", "金"),
        ("sat", "土"), ("sun", "日")]
NEW_TEAM = "__new__"
NEW_CHOICES = 3  # a new question's first choices (more are added on its card)


# ---------------------------------------------------------------------- the intake as cards


def _flow(text: str) -> Flow | None:
    try:
        return Flow.model_validate(yaml.safe_load(text))
    except (yaml.YAMLError, ValidationError):
        return None


def _unreadable(request: Request, me: Counsellor, files: dict[str, str]) -> HTMLResponse:
    """The draft's flow was hand-edited into YAML that is not a flow: the cards cannot be
    shown; the problems are, and the YAML view shows their lines."""
    page = _page(request, "admin_flow.html", me=me, cards=[], unreadable=True, file=FLOW,
                 kept={}, refused=False, new_choices=0,
                 problems=[explained(p) for p in draft_problems(files)])
    page.status_code = 409
    return page


def _draft_flow(request: Request, me: Counsellor,
                state: str | None = None) -> tuple[dict[str, str], Flow] | HTMLResponse:
    """The draft's files and intake; the page that explains an unreadable flow instead; 404
    for a `state` the flow does not have."""
    files = draft_files(request, me)
    flow = _flow(files[FLOW])
    if flow is None:
        return _unreadable(request, me, files)
    if state is not None and state not in flow.states:
        raise HTTPException(status_code=404)
    return files, flow


@router.get("/flow/")
def flow_cards(request: Request, me: Admin) -> HTMLResponse:
    found = _draft_flow(request, me)
    if isinstance(found, HTMLResponse):
        return found
    files, flow = found
    return _page(request, "admin_flow.html", me=me, cards=cards.cards(flow), flow=flow,
                 problems=[explained(p) for p in draft_problems(files)], file=FLOW, kept={},
                 refused=False, new_choices=NEW_CHOICES,
                 saved=request.query_params.get("saved") == "1")


@router.get("/flow/{state}")
def flow_card(request: Request, state: str, me: Admin) -> HTMLResponse:
    found = _draft_flow(request, me, state)
    if isinstance(found, HTMLResponse):
        return found
    _, flow = found
    refused = [STILL_LED_TO] if request.query_params.get("refused") == "led_to" else []
    return _card_page(request, me, flow, state, refused,
                      saved=request.query_params.get("saved") == "1")


def _card_page(request: Request, me: Counsellor, flow: Flow, name: str,
               problems: list[Explained], saved: bool = False,
               status_code: int = 200) -> HTMLResponse:
    summaries = {n: cards.summary(flow.states[n]) for n in cards.order(flow)}
    card = cards.card(flow, name)
    # A bubble a language has no words for reaches its residents in Japanese: say so.
    translators = [(p.name_ja, Translator(p)) for p in host(request).content.languages.values()]
    untranslated = {b.text: [language for language, tr in translators if not tr.has(b.text)]
                    for b in [*card.say, *card.ask_text]}
    page = _page(request, "admin_flow_card.html", me=me, card=card, untranslated=untranslated,
                 leading=cards.leading_choices(flow, name),
                 summaries=summaries, problems=problems, saved=saved, max_label=MAX_LABEL,
                 max_text=MAX_TEXT_UTF16, file=FLOW)
    page.status_code = status_code
    return page


def _card_edit(form: FormData, card: cards.Card) -> cards.CardEdit:
    """The card's form; a field the form did not send keeps what the card has."""

    def text(key: str, default: str = "") -> str:
        value = form.get(key)
        return default if value is None else str(value)

    def bubbles(prefix: str, fields: list[cards.BubbleField]) -> list[tuple[str, bool]]:
        return [(text(f"{prefix}-{b.index}-text", b.text),
                 bool(form.get(f"{prefix}-{b.index}-remove"))) for b in fields]

    free = None if form.get("free-next") is None else text("free-next")
    move = None
    op = text("op")
    if op.startswith(("up-", "down-")) and op.split("-")[1].isdigit():
        move = (int(op.split("-")[1]), -1 if op.startswith("up-") else 1)
    return cards.CardEdit(
        say=bubbles("say", card.say), new_say=text("say-new"),
        ask_text=bubbles("ask", card.ask_text), new_ask_text=text("ask-new"),
        choices=[cards.ChoiceEdit(text(f"choice-{c.index}-label", c.label),
                                  text(f"choice-{c.index}-next", c.next or ""),
                                  bool(form.get(f"choice-{c.index}-remove")))
                 for c in card.choices],
        new_choice=cards.ChoiceEdit(text("choice-new-label"), text("choice-new-next")),
        move=move, free_next=free if card.takes_free_text else None,
        done=cards.ChoiceEdit(text("done-label", card.done.label),
                              text("done-next", card.done.next or ""))
        if card.done is not None and form.get("done-label") is not None else None)


@router.post("/flow/{state}", dependencies=[CsrfChecked])
async def save_card(request: Request, state: str, me: Admin) -> Response:
    found = _draft_flow(request, me, state)
    if isinstance(found, HTMLResponse):
        return found
    files, flow = found
    name = state
    form = await request.form()
    try:
        text = cards.apply(files[FLOW], name, _card_edit(form, cards.card(flow, name)))
    except (cards.CardError, EditError):
        return _card_page(request, me, flow, name, [MOVED], status_code=409)
    problems = save_checked(request, me, {FLOW: text})
    if problems:
        # Shown as the officer left it, where the edited flow still reads as a flow.
        edited = _flow(text)
        shown = edited if edited is not None and name in edited.states else flow
        return _card_page(request, me, shown, name, problems, status_code=422)
    return RedirectResponse(f"/console/admin/flow/{name}?saved=1#card", status_code=303)


STILL_LED_TO = Explained(
    "この質問は、最初の質問か、いつでも出るボタンの行き先か、ほかの質問の「次」になっているため、"
    "消せません。",
    "something other than a choice leads to this state")


@router.post("/flow", dependencies=[CsrfChecked])
async def add_question(request: Request, me: Admin) -> Response:
    """A new question, with the choice of an existing question that leads to it."""
    form = await request.form()
    found = _draft_flow(request, me)
    if isinstance(found, HTMLResponse):
        return found
    files, flow = found
    kept = {k: str(v) for k, v in form.items() if k != "csrf"}
    try:
        text, name = cards.add_state(
            files[FLOW], question=words(form, "question"),
            choices=[cards.ChoiceEdit(words(form, f"new-{i}-label"), words(form, f"new-{i}-next"))
                     for i in range(NEW_CHOICES)],
            from_state=words(form, "from_state"), entry_label=words(form, "entry_label"))
    except (cards.CardError, EditError):
        problems = [MOVED]
    else:
        problems = save_checked(request, me, {FLOW: text})
        if not problems:
            return RedirectResponse(f"/console/admin/flow/{name}?saved=1", status_code=303)
    page = _page(request, "admin_flow.html", me=me, cards=cards.cards(flow), flow=flow,
                 problems=problems, refused=True, kept=kept, file=FLOW,
                 new_choices=NEW_CHOICES)
    page.status_code = 422
    return page


@router.post("/flow/{state}/remove", dependencies=[CsrfChecked])
def remove_question(request: Request, state: str, me: Admin) -> Response:
    found = _draft_flow(request, me, state)
    if isinstance(found, HTMLResponse):
        return found
    files, flow = found
    try:
        text = cards.remove_state(files[FLOW], flow, state)
    except cards.CardError:  # the card says why, as after any refused action
        return RedirectResponse(f"/console/admin/flow/{state}?refused=led_to", status_code=303)
    problems = save_checked(request, me, {FLOW: text})
    if problems:
        return _card_page(request, me, flow, state, problems, status_code=422)
    return RedirectResponse("/console/admin/flow/?saved=1", status_code=303)


# ---------------------------------------------------------------------- towns and teams


def _places_page(request: Request, me: Counsellor, problems: list[Explained] | None = None,
                 status_code: int = 200, kept: dict[str, str] | None = None) -> HTMLResponse:
    data = YamlDocument(draft_files(request, me)[PLACES]).plain()
    teams = data.get("teams") or []
    return form_page(request, me, "admin_places.html", PLACES, problems, status_code, kept,
                      teams=teams, areas=data.get("areas") or [],
                      municipalities=data.get("municipalities") or [], days=DAYS,
                      kept_days=[d for d, _ in DAYS if f"team-day-{d}" in (kept or {})],
                      new_team=NEW_TEAM)


@router.get("/places/")
def places(request: Request, me: Admin) -> HTMLResponse:
    return _places_page(request, me)


def _hours(form: FormData, prefix: str) -> dict[str, Any]:
    return {"days": [d for d, _ in DAYS if form.get(f"{prefix}day-{d}")],
            "open": str(form.get(f"{prefix}open") or ""),
            "close": str(form.get(f"{prefix}close") or "")}


def _closures(form: FormData, old: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The days a team is closed (年末年始): each kept, changed or removed, and one new."""

    def closure(prefix: str) -> dict[str, Any] | None:
        start, end = words(form, f"{prefix}-from"), words(form, f"{prefix}-to") or \
            words(form, f"{prefix}-from")
        if not start or form.get(f"{prefix}-remove"):
            return None
        entry: dict[str, Any] = {"from": _day(start), "to": _day(end)}
        if words(form, f"{prefix}-note"):
            entry["note"] = words(form, f"{prefix}-note")
        return entry

    if form.get("closure-new-from") is None and not any(
            form.get(f"closure-{i}-from") is not None for i in range(len(old))):
        return old  # a form without the closures (an older page)
    found = [closure(f"closure-{i}") for i in range(len(old))] + [closure("closure-new")]
    return [c for c in found if c is not None]


def _day(words_: str) -> date | str:
    """A date input's value as a date (YAML writes it unquoted, as the files do); anything
    else is left for the check to refuse."""
    try:
        return date.fromisoformat(words_)
    except ValueError:
        return words_


@router.post("/places/teams/{index}", dependencies=[CsrfChecked])
async def save_team(request: Request, index: int, me: Admin) -> Response:
    """A team's name, weekly hours, national holidays and the days it is closed."""

    def edit(doc: YamlDocument, form: FormData) -> None:
        team = row_of(doc, "teams", index)
        doc.set(("teams", index, "name"), words(form, "name"))
        doc.set(("teams", index, "hours"), _hours(form, ""))
        if form.get("holidays-shown") is not None:  # the form had the holiday box
            if form.get("open_on_holidays"):
                doc.set(("teams", index, "open_on_holidays"), True)
            elif "open_on_holidays" in team:
                doc.remove(("teams", index, "open_on_holidays"))
        closures = _closures(form, team.get("closures") or [])
        if closures != (team.get("closures") or []):
            if closures:
                doc.set(("teams", index, "closures"), closures)
            else:
                doc.remove(("teams", index, "closures"))

    return await table_edit(request, me, PLACES, "/console/admin/places/", _places_page, edit)


@router.post("/places/municipalities/{index}", dependencies=[CsrfChecked])
async def save_municipality(request: Request, index: int, me: Admin) -> Response:
    """A town's name, reading, team, area and the office named first."""

    def edit(doc: YamlDocument, form: FormData) -> None:
        town = row_of(doc, "municipalities", index)
        for key in ("name", "kana", "team", "area", "first_contact"):
            value = words(form, key)
            if value or key == "name":
                doc.set(("municipalities", index, key), value)
            elif key in town:
                doc.remove(("municipalities", index, key))

    return await table_edit(request, me, PLACES, "/console/admin/places/", _places_page, edit)


@router.post("/places/municipalities", dependencies=[CsrfChecked])
async def add_municipality(request: Request, me: Admin) -> Response:
    """A new town, served by an existing team or by a new one with its own hours."""

    def edit(doc: YamlDocument, form: FormData) -> None:
        data = doc.plain()
        towns, teams = data.get("municipalities") or [], data.get("teams") or []
        name, kana, team = words(form, "name"), words(form, "kana"), words(form, "team")
        if team == NEW_TEAM:
            team = identifier(kana or name, {t.get("id") for t in teams}, "team")
            doc.insert(("teams",), len(teams), {
                "id": team, "name": words(form, "team_name"), "hours": _hours(form, "team-")})
        town: dict[str, Any] = {
            "id": identifier(kana or name, {m.get("id") for m in towns}, "town"), "name": name}
        for key, value in (("kana", kana), ("team", team), ("area", words(form, "area")),
                           ("first_contact", words(form, "first_contact"))):
            if value:
                town[key] = value
        doc.insert(("municipalities",), len(towns), town)

    return await table_edit(request, me, PLACES, "/console/admin/places/", _places_page, edit)


# ---------------------------------------------------------------------- emergency numbers


def _hotlines_page(request: Request, me: Counsellor, problems: list[Explained] | None = None,
                   status_code: int = 200, kept: dict[str, str] | None = None) -> HTMLResponse:
    files = draft_files(request, me)
    data = YamlDocument(files[RESOURCES]).plain()
    content = host(request).content
    categories = {c.category: c.label for c in content.lexicon.categories}
    languages = {code: pack.name_ja for code, pack in content.languages.items()}
    packs = draft_languages(request, files)
    return form_page(request, me, "admin_hotlines.html", RESOURCES, problems, status_code,
                     kept, hotlines=data.get("hotlines") or [], languages=languages,
                     translated=TRANSLATED, categories=categories,
                     self_help=data.get("self_help") or [], max_self_help=MAX_SELF_HELP,
                     translators={code: Translator(pack) for code, pack in packs.items()})


@router.get("/hotlines/")
def hotlines(request: Request, me: Admin) -> HTMLResponse:
    return _hotlines_page(request, me)


def _hotline(form: FormData, old: dict[str, Any]) -> dict[str, Any]:
    """The form's number, over what the file had (its id and fields the form does not show,
    like its languages, are kept)."""
    entry = dict(old)
    for key in ("label", "tel", "hours", "note"):
        value = words(form, key)
        if value:
            entry[key] = value
        else:
            entry.pop(key, None)
    free = words(form, "free")
    if free in ("true", "false"):
        entry["free"] = free == "true"
    else:
        entry.pop("free", None)
    entry["categories"] = [str(c) for c in form.getlist("categories")]
    if form.get("general"):
        entry["general"] = True
    else:
        entry.pop("general", None)
    return entry


@router.post("/hotlines/{index}", dependencies=[CsrfChecked])
async def save_hotline(request: Request, index: int, me: Admin) -> Response:
    def edit(doc: YamlDocument, form: FormData) -> dict[str, str]:
        doc.set(("hotlines", index), _hotline(form, row_of(doc, "hotlines", index)))
        return translations_added(request, me, form, {k: words(form, k) for k in TRANSLATED})

    return await table_edit(request, me, RESOURCES, "/console/admin/hotlines/",
                             _hotlines_page, edit)


TRANSLATED = ("label", "hours", "note")  # a number's words the resident reads


@router.post("/hotlines", dependencies=[CsrfChecked])
async def add_hotline(request: Request, me: Admin) -> Response:
    def edit(doc: YamlDocument, form: FormData) -> dict[str, str]:
        numbers = doc.plain(("hotlines",)) or []
        entry = _hotline(form, {"id": identifier(words(form, "label"),
                                                 {h.get("id") for h in numbers}, "hotline")})
        # The fields in the order the file's other numbers write them.
        order = ["id", "label", "tel", "hours", "free", "note", "categories", "general"]
        doc.insert(("hotlines",), len(numbers), {k: entry[k] for k in order if k in entry})
        return translations_added(request, me, form, {k: words(form, k) for k in TRANSLATED})

    return await table_edit(request, me, RESOURCES, "/console/admin/hotlines/",
                             _hotlines_page, edit)


SELF_HELP_TRANSLATED = ("label", "text")
MAX_SELF_HELP = 5  # one carousel's worth (bot/content/schema.py Resources.self_help)


def _self_help(form: FormData, old: dict[str, Any]) -> dict[str, Any]:
    entry = {**old, "label": words(form, "label"), "text": words(form, "text")}
    url = words(form, "url")
    if url:
        entry["url"] = url
    else:
        entry.pop("url", None)
    return {k: entry[k] for k in ["label", "text", "url", *entry] if k in entry}


@router.post("/self-help/{index}", dependencies=[CsrfChecked])
async def save_self_help(request: Request, index: int, me: Admin) -> Response:
    """Help a resident can use alone while waiting: its words, its page, or gone."""

    def edit(doc: YamlDocument, form: FormData) -> dict[str, str]:
        old = row_of(doc, "self_help", index)
        if form.get("remove"):
            doc.remove(("self_help", index))
            return {}
        doc.set(("self_help", index), _self_help(form, old))
        return translations_added(request, me, form,
                                  {k: words(form, k) for k in SELF_HELP_TRANSLATED})

    return await table_edit(request, me, RESOURCES, "/console/admin/hotlines/#self-help",
                            _hotlines_page, edit)


@router.post("/self-help", dependencies=[CsrfChecked])
async def add_self_help(request: Request, me: Admin) -> Response:
    def edit(doc: YamlDocument, form: FormData) -> dict[str, str]:
        rows = doc.plain(("self_help",))
        entry = _self_help(form, {})
        if rows is None:
            doc.set(("self_help",), [entry])
        else:
            doc.insert(("self_help",), len(rows), entry)
        return translations_added(request, me, form,
                                  {k: words(form, k) for k in SELF_HELP_TRANSLATED})

    return await table_edit(request, me, RESOURCES, "/console/admin/hotlines/#self-help",
                            _hotlines_page, edit)


# ---------------------------------------------------------------------- follow-ups


def _followups_page(request: Request, me: Counsellor, problems: list[Explained] | None = None,
                    status_code: int = 200, kept: dict[str, str] | None = None) -> HTMLResponse:
    data = YamlDocument(draft_files(request, me)[FOLLOWUPS]).plain()
    return form_page(request, me, "admin_followups.html", FOLLOWUPS, problems, status_code,
                      kept, quiet=data.get("quiet_hours") or {}, rules=data.get("rules") or {},
                      labels=FOLLOWUP_LABELS, max_text=MAX_TEXT_UTF16)


@router.get("/followups/")
def followups(request: Request, me: Admin) -> HTMLResponse:
    return _followups_page(request, me)


@router.post("/followups", dependencies=[CsrfChecked])
async def save_followups(request: Request, me: Admin) -> Response:
    """The hours nothing is sent in, and each rule's wait and words."""

    def edit(doc: YamlDocument, form: FormData) -> None:
        doc.set(("quiet_hours",), {"start": words(form, "quiet-start"),
                                   "end": words(form, "quiet-end")})
        for key, rule in (doc.plain(("rules",)) or {}).items():
            hours = words(form, f"{key}-hours")
            if hours:
                try:
                    number: float | str = float(hours)
                except ValueError:
                    number = hours  # refused by the check, with its reason
                doc.set(("rules", key, "after_hours"),
                        int(number) if isinstance(number, float) and number.is_integer()
                        else number)
            typed = form.get(f"{key}-text")
            if typed is not None and str(typed).strip() != str(rule.get("text", "")).strip():
                doc.set(("rules", key, "text"), "\n".join(
                    line.rstrip() for line in str(typed).replace("\r\n", "\n").strip()
                    .split("\n")))

    return await table_edit(request, me, FOLLOWUPS, "/console/admin/followups/",
                             _followups_page, edit)
