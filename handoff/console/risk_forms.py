"""The risk lexicon in forms: each danger's rules with their examples and a test box beside
them; a new danger as a new file, and a danger removed with its file.

A rule is kept honest by its examples: the words it must find and the words it must not. Every
save runs them (the loader does) and refuses a rule whose examples disagree with it, in
Japanese at the rule. Patterns (regular expressions) stay in an "advanced" field: an officer
writes the words a rule looks for, one position a line, in their dictionary form.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import yaml
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from bot.content.explain import Explained
from bot.content.ids import identifier
from bot.content.yamledit import EditError, YamlDocument
from bot.nlp.analyzer import analyzer_for
from bot.nlp.lexicon import MODIFIERS_FILE
from bot.nlp.prepare import dictionary_form, lemmas_of
from handoff.console.admin import draft_content
from handoff.console.form_saving import (
    FAST_LOADER,
    MOVED,
    draft_files,
    form_page,
    lines,
    row_of,
    save_checked,
    words,
)
from handoff.console.security import Admin, CsrfChecked
from handoff.console.views import RISK_LABEL
from handoff.models import Counsellor

router = APIRouter(prefix="/console/admin", include_in_schema=False)

RISK_DIR = "risk/"
RESOURCES = "resources.yaml"
# A rule's levels: the console's words for them, and `signal` (no level of its own).
LEVELS = [*((k, v) for k, v in RISK_LABEL.items() if k != "none"),
          ("signal", "合図（ほかの危険と重なったときだけ効く）")]
# Someone else's words or a past state: lower the level one step, or keep it.
HOW_OTHERS = [("lower", "一段下げる"), ("keep", "下げない")]
_ALTERNATIVES = re.compile(r"[、,，/／\s]+")


def _is_category_file(name: str) -> bool:
    return (name.startswith(RISK_DIR) and name.endswith(".yaml") and "/" not in name[len(RISK_DIR):]
            and name != RISK_DIR + MODIFIERS_FILE)


Categories = dict[str, tuple[str, dict[str, Any]]]  # category -> (its file, its data)


def _categories(files: dict[str, str]) -> Categories:
    """category -> (its file, its data), in file order; a file that does not read is left to
    the overview's problems and the YAML view."""
    found: Categories = {}
    for name in sorted(n for n in files if _is_category_file(n)):
        try:
            data = yaml.load(files[name], Loader=FAST_LOADER)
        except yaml.YAMLError:
            continue
        if isinstance(data, dict) and isinstance(data.get("category"), str):
            found.setdefault(data["category"], (name, data))
    return found


def _file_of(found: Categories, category: str) -> str:
    if category not in found:
        raise HTTPException(status_code=404)
    return found[category][0]


def _positions(text: str) -> list[list[str]]:
    """The words of a rule, one position a line, alternatives split by 、 , / or spaces."""
    return [[w for w in _ALTERNATIVES.split(line) if w]
            for line in text.splitlines() if line.strip()]


def _rule(form: FormData, old: dict[str, Any]) -> dict[str, Any]:
    """The form's rule over what the file had (fields the form does not show, such as
    `unless` or a rule's own third_party, are kept), in the order the files write them."""
    rule = dict(old)
    rule["level"] = words(form, "level")
    known = {w for p in old.get("lemmas") or [] for w in (p if isinstance(p, list) else [p])}
    # A word the officer adds is also looked for in the form the analyser reads it as.
    positions = [list(dict.fromkeys(w for word in p for w in (
        [word] if word in known else [word, dictionary_form(word)]))) for p in
        _positions(words(form, "lemmas"))]
    pattern = words(form, "pattern")
    rule.pop("lemmas", None)
    rule.pop("gap", None)
    rule.pop("pattern", None)
    if positions:
        rule["lemmas"] = positions
        gap = words(form, "gap")
        if gap and gap != "0":
            rule["gap"] = int(gap) if gap.isdigit() else gap  # refused by the check if not
    if pattern:
        rule["pattern"] = pattern
    rule["examples"] = {"positive": lines(form, "positive"), "negative": lines(form, "negative")}
    order = ["id", "level", "lemmas", "gap", "pattern", "unless", "third_party", "past",
             "examples"]
    return {k: rule[k] for k in [*order, *[k for k in rule if k not in order]] if k in rule}


def _category_page(request: Request, me: Counsellor, category: str,
                   problems: list[Explained] | None = None, status_code: int = 200,
                   kept: dict[str, str] | None = None, text: str = "",
                   kept_for: str = "") -> HTMLResponse:
    files = draft_files(request, me)
    found = _categories(files).get(category)
    if found is None:
        raise HTTPException(status_code=404)
    name, data = found
    content, from_draft = draft_content(request, me)
    result = analyzer_for(content.lexicon, content.risk_model).analyze(text) \
        if text.strip() else None
    labels = {c.category: c.label for c in content.lexicon.categories}
    return form_page(request, me, "admin_risk_category.html", name, problems, status_code, kept,
                     category=data, rules=data.get("rules") or [], levels=LEVELS,
                     how_others=HOW_OTHERS, text=text, result=result, from_draft=from_draft,
                     categories=labels, positions=_shown_positions, kept_for=kept_for,
                     read_as=lambda text: "・".join(lemmas_of(text)),
                     level_names=dict(LEVELS), opened=request.query_params.get("open", ""))


def _shown_positions(rule: dict[str, Any]) -> str:
    return "\n".join("、".join(map(str, p if isinstance(p, list) else [p]))
                     for p in rule.get("lemmas") or [])


@router.get("/risk/")
def risk_categories(request: Request, me: Admin) -> HTMLResponse:
    return _list_page(request, me)


def _list_page(request: Request, me: Counsellor, problems: list[Explained] | None = None,
               status_code: int = 200, kept: dict[str, str] | None = None) -> HTMLResponse:
    found = _categories(files := draft_files(request, me))
    rows = [{"category": c, "file": name, "label": data.get("label", c),
             "rules": len(data.get("rules") or []),
             "levels": sorted({str(r.get("level")) for r in data.get("rules") or []})}
            for c, (name, data) in found.items()]
    hotlines = (yaml.load(files[RESOURCES], Loader=FAST_LOADER) or {}).get("hotlines") or []
    return form_page(request, me, "admin_risk.html", RISK_DIR + MODIFIERS_FILE, problems,
                     status_code, kept, rows=rows, levels=LEVELS, how_others=HOW_OTHERS,
                     level_names=dict(LEVELS), hotlines=hotlines, positions=_shown_positions,
                     chosen=set((kept or {}).get("hotlines", "").split()))


@router.get("/risk/{category}")
def risk_category(request: Request, category: str, me: Admin, text: str = "") -> HTMLResponse:
    return _category_page(request, me, category, text=text)


async def _edit(request: Request, me: Counsellor, category: str, where: str,
                edit: Callable[[YamlDocument, FormData, Categories], None]) -> Response:
    """Apply `edit(doc, form, every category)` to the category's file, check it and save it,
    or show the page refused with the officer's words kept in the form they came from
    (`where`, also the anchor the saved page opens at)."""
    files = draft_files(request, me)
    found = _categories(files)
    name = _file_of(found, category)
    form = await request.form()
    doc = YamlDocument(files[name])
    kept = {k: str(v) for k, v in form.items() if k != "csrf"}
    try:
        edit(doc, form, found)
    except EditError:
        return _category_page(request, me, category, [MOVED], 409, kept, kept_for=where)
    problems = save_checked(request, me, {name: doc.text})
    if problems:
        return _category_page(request, me, category, problems, 422, kept, kept_for=where)
    return RedirectResponse(f"/console/admin/risk/{category}?saved=1&open={where}#{where}",
                            status_code=303)


@router.post("/risk/{category}", dependencies=[CsrfChecked])
async def save_category(request: Request, category: str, me: Admin) -> Response:
    """The danger's name as counsellors read it, and how another's words or a past state
    count."""

    def edit(doc: YamlDocument, form: FormData, _: Categories) -> None:
        doc.set(("label",), words(form, "label"))
        for key in ("third_party", "past"):
            value = words(form, key)
            if value in ("lower", "keep"):
                doc.set((key,), value)

    return await _edit(request, me, category, "category-form", edit)


@router.post("/risk/{category}/rules/{index}", dependencies=[CsrfChecked])
async def save_rule(request: Request, category: str, index: int, me: Admin) -> Response:
    def edit(doc: YamlDocument, form: FormData, _: Categories) -> None:
        old = row_of(doc, "rules", index)
        if form.get("remove"):
            doc.remove(("rules", index))
        else:
            doc.set(("rules", index), _rule(form, old))

    return await _edit(request, me, category, f"rule-{index}", edit)


@router.post("/risk/{category}/rules", dependencies=[CsrfChecked])
async def add_rule(request: Request, category: str, me: Admin) -> Response:
    def edit(doc: YamlDocument, form: FormData, found: Categories) -> None:
        rules = doc.plain(("rules",)) or []
        rule_id = _new_rule_id(found, category, words(form, "name"))
        doc.insert(("rules",), len(rules), _rule(form, {"id": rule_id}))

    return await _edit(request, me, category, "add-rule", edit)


def _new_rule_id(found: Categories, category: str, name: str) -> str:
    """`<category>.<words>`: unique across every file (the loader refuses a rule id twice)."""
    prefix = category + "."
    taken = {str(r.get("id", "")).removeprefix(prefix)
             for _, data in found.values()
             for r in data.get("rules") or [] if isinstance(r, dict)}
    return prefix + identifier(name, taken, "rule")


def _new_category(words_: str, taken: set[str]) -> str:
    """A category id from the danger's words: letters and `_` only (the files' rule)."""
    base = re.sub(r"[^a-z]+", "_", identifier(words_, (), "danger")).strip("_") or "danger"
    found, suffix = base, iter("bcdefghijklmnopqrstuvwxyz")
    while found in taken:
        found = f"{base}_{next(suffix)}"
    return found


NO_LABEL = Explained("危険の種類の名前を入れてください。", "the new category has no label")


@router.post("/risk", dependencies=[CsrfChecked])
async def add_category(request: Request, me: Admin) -> Response:
    """A new danger: its own file with a first rule (a danger without rules finds nothing)."""
    form = await request.form()
    files = draft_files(request, me)
    kept = {k: str(v) for k, v in form.items() if k != "csrf"}
    kept["hotlines"] = " ".join(map(str, form.getlist("hotlines")))
    found = _categories(files)
    label = words(form, "label")
    if not label:
        return _list_page(request, me, [NO_LABEL], 422, kept)
    category = _new_category(words(form, "name") or label,
                             {*found, *(n[len(RISK_DIR):-5] for n in files
                                        if _is_category_file(n))})
    name = f"{RISK_DIR}{category}.yaml"
    data: dict[str, Any] = {"category": category, "label": label}
    for key in ("third_party", "past"):
        if words(form, key) in ("lower", "keep"):
            data[key] = words(form, key)
    data["rules"] = [_rule(form, {"id": f"{category}.{identifier(label, (), 'rule')}"})]
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100,
                          default_flow_style=None)
    # Every danger has a number to call: the officer chooses which offer this one.
    numbers = YamlDocument(files[RESOURCES])
    chosen = {str(n) for n in form.getlist("hotlines")}
    for i, hotline in enumerate(numbers.plain(("hotlines",)) or []):
        if hotline.get("id") in chosen:
            numbers.set(("hotlines", i, "categories"),
                        [*(hotline.get("categories") or []), category])
    problems = save_checked(request, me, {name: text, RESOURCES: numbers.text})
    if problems:
        return _list_page(request, me, problems, 422, kept)
    return RedirectResponse(f"/console/admin/risk/{category}?saved=1", status_code=303)


@router.post("/risk/{category}/remove", dependencies=[CsrfChecked])
def remove_category(request: Request, category: str, me: Admin) -> Response:
    """The danger and its file, and its name in the numbers and dangers that list it;
    refused while a combination of dangers (modifiers.yaml) still names it."""
    files = draft_files(request, me)
    name = _file_of(_categories(files), category)
    numbers = YamlDocument(files[RESOURCES])
    # A number kept for this danger alone would be left offered for nothing: the officer
    # decides about it first, in the numbers' form.
    alone = [h.get("label", h.get("id")) for h in numbers.plain(("hotlines",)) or []
             if (h.get("categories") or []) == [category]]
    if alone:
        return _category_page(request, me, category, [Explained(
            f"緊急の連絡先「{'」「'.join(alone)}」は、この危険のときだけ案内する番号です。"
            "先に「緊急の連絡先」で、その番号を消すか、ほかの危険の種類も選んでください。",
            f"numbers offered for {category} alone: {', '.join(map(str, alone))}")], 422)
    for key in ("hotlines", "dangers"):
        for i, entry in reversed(list(enumerate(numbers.plain((key,)) or []))):
            listed = entry.get("categories") or []
            if category not in listed:
                continue
            if key == "dangers" and listed == [category]:
                numbers.remove((key, i))  # a danger of this category alone goes with it
            else:
                numbers.set((key, i, "categories"), [c for c in listed if c != category])
    problems = save_checked(request, me, {name: None, RESOURCES: numbers.text})
    if problems:
        return _category_page(request, me, category, problems, 422)
    return RedirectResponse("/console/admin/risk/?saved=1", status_code=303)
