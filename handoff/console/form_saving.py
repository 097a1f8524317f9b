"""Saving a form's edit to the administrator's draft, checked first (content_forms.py and
risk_forms.py): the loader's problems the edit would bring are explained in Japanese and
nothing is saved; the officer's words are kept for the page that shows the refusal."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import yaml
from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from bot.content.explain import Explained, explain
from bot.content.files import ContentError
from bot.content.languages import LanguagePack
from bot.content.yamledit import EditError, YamlDocument, append_to_last_list
from bot.releases import store as content_store
from handoff import audit
from handoff.console.admin import draft_state
from handoff.console.host import host
from handoff.console.views import _page
from handoff.models import Counsellor

FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # for long files read, not edited


def draft_files(request: Request, me: Counsellor) -> dict[str, str]:
    """The administrator's draft (or the release), read once a request: a form's page, its
    edit and its translations all read the same files (megabytes, with the corpus); a save
    forgets them (save_checked). Read only: never changed in place."""
    files: dict[str, str] | None = getattr(request.state, "draft_files", None)
    if files is None:
        with host(request).sessions() as session:
            files = draft_state(session, me)["files"]
        request.state.draft_files = files
    return files


def draft_problems(files: dict[str, str]) -> list[tuple[str | None, str]]:
    try:
        content_store.load_files(files)
    except ContentError as e:
        return [(p.file, p.message) for p in e.problems]
    return []


def explained(problem: tuple[str | None, str]) -> Explained:
    file, message = problem
    if file and file.startswith("languages/"):
        file = "languages/*.yaml"  # the same gap in each language reads as one problem
    return replace(explain(message), english=f"{file}: {message}" if file else message)


def save_checked(request: Request, me: Counsellor,
                 edits: dict[str, str | None]) -> list[Explained]:
    """Save the edited files in the draft (None: the file is removed; a new name: added)
    unless they bring a problem the draft did not have; else the new problems, explained, and
    nothing saved."""
    with host(request).sessions() as session, session.begin():
        files: dict[str, str] = draft_state(session, me)["files"]
        edits = {name: text for name, text in edits.items() if files.get(name) != text}
        if not edits:
            return []
        edited = {name: text for name, text in {**files, **edits}.items() if text is not None}
        before = set(draft_problems(files))
        new = list(dict.fromkeys(  # one sentence for the same gap in eight languages
            explained(p) for p in draft_problems(edited) if p not in before))
        if new:
            return new
        for name, text in edits.items():
            if text is None:
                content_store.remove_from_draft(session, me.id, name)
                how = "form, removed"
            else:
                content_store.save_to_draft(session, me.id, name, text,
                                            new_file=name not in files)
                how = "form" if name in files else "form, added"
            audit.record(session=session, counsellor=me, action="content_edit", case_id=None,
                         detail=f"{name} ({how})")
    request.state.draft_files = None  # saved: the next read sees the edit
    return []


# The file changed under the form (another tab, another administrator): nothing is saved.
MOVED = Explained("この画面を開いたあとに、同じところが変わったようです。画面を開きなおしてから、"
                  "もう一度入力してください。", "the form does not fit the file any more")


def form_page(request: Request, me: Counsellor, template: str, file: str,
               problems: list[Explained] | None, status_code: int, kept: dict[str, str] | None,
               **context: Any) -> HTMLResponse:
    """A table form's page: its file's problems (refused edits), the saved notice and the
    officer's words kept after a refusal."""
    page = _page(request, template, me=me, file=file, problems=problems or [], kept=kept or {},
                 saved=request.query_params.get("saved") == "1", **context)
    page.status_code = status_code
    return page


def words(form: FormData, key: str) -> str:
    return str(form.get(key) or "").strip()


def lines(form: FormData, key: str) -> list[str]:
    return [line.strip() for line in words(form, key).splitlines() if line.strip()]


Page = Callable[..., HTMLResponse]


async def table_edit(request: Request, me: Counsellor, name: str, where: str, page: Page,
                      edit: Callable[[YamlDocument, FormData], dict[str, str] | None]
                      ) -> Response:
    """One row's form applied to the draft's `name` (and the files `edit` returns, such as
    translations), checked, and saved or shown refused with the officer's words kept."""
    form = await request.form()
    doc = YamlDocument(draft_files(request, me)[name])
    kept = {k: str(v) for k, v in form.items() if k != "csrf"}
    try:
        others = edit(doc, form) or {}
    except EditError:
        return page(request, me, [MOVED], 409, kept)
    problems = save_checked(request, me, {name: doc.text, **others})
    if problems:
        return page(request, me, problems, 422, kept)
    path, _, anchor = where.partition("#")
    saved = f"{path}{'&' if '?' in path else '?'}saved=1{'#' + anchor if anchor else ''}"
    return RedirectResponse(saved, status_code=303)


def row_of(doc: YamlDocument, key: str | tuple[str, ...], index: int) -> dict[str, Any]:
    """Row `index` of the list at `key` (a top-level key or a path); 404 if there is none."""
    rows = doc.plain((key,) if isinstance(key, str) else key) or []
    if not 0 <= index < len(rows):
        raise HTTPException(status_code=404)
    row: dict[str, Any] = rows[index]
    return row


def translations_added(request: Request, me: Counsellor, form: FormData,
                  japanese: dict[str, str]) -> dict[str, str]:
    """The language files with the form's translations (`tr-<code>-<key>`) of the new
    Japanese words (`japanese`, by key) added: the safety texts are served in every language
    or not at all."""
    files = draft_files(request, me)
    edited = {}
    for code in host(request).content.languages:
        name = f"languages/{code}.yaml"
        if name not in files:
            continue
        pack = yaml.load(files[name], Loader=FAST_LOADER) or {}
        known = {t.get("ja") for t in pack.get("texts") or []}
        new = [{"ja": source, "text": words(form, f"tr-{code}-{key}")}
               for key, source in japanese.items()
               if source and source not in known and words(form, f"tr-{code}-{key}")]
        if new:
            edited[name] = append_to_last_list(files[name], "texts", new)
    return edited


def draft_languages(request: Request, files: dict[str, str]) -> dict[str, LanguagePack]:
    """The language packs of the draft's `files` (so translations added a moment ago count),
    or the served ones while the draft has problems."""
    with contextlib.suppress(ContentError):
        return content_store.load_files(files).languages
    return host(request).content.languages

