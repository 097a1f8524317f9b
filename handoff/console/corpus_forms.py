"""The risk corpus in forms: find messages, correct a text or its level, add a message; and
the draft's evaluation figures beside the published release's before anything is published.

Messages an administrator writes go to `risk/corpus/review.yaml` (writer `review`), never into
an outside writer's file: figures are measured leaving one writer out, and a writer's file
holds that writer's words alone. Correcting an existing message (a typo, an adjudicated level)
is done in its own file, one field's lines rewritten.

The figures are leave-one-writer-out (bot/nlp/crossval.py): a model is trained for each writer
left out, so one evaluation takes tens of seconds. It runs in one background thread, its result
kept by the digest of the files it measured (the published side is measured once per release).
"""

from __future__ import annotations

import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import yaml
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.content.explain import Explained
from bot.content.yamledit import EditError, set_entry_field
from bot.nlp.corpus import load_corpus
from bot.nlp.crossval import Evaluation, Figures, leave_one_writer_out
from bot.nlp.levels import Level
from bot.releases import store as content_store
from handoff import audit
from handoff.console.admin import draft_state
from handoff.console.form_saving import (
    FAST_LOADER,
    MOVED,
    draft_files,
    form_page,
    save_checked,
    words,
)
from handoff.console.host import host
from handoff.console.security import Admin, CsrfChecked
from handoff.console.views import RISK_LABEL, _page
from handoff.models import Counsellor
from handoff.risk_review import REVIEW_FILE, append_entry

router = APIRouter(prefix="/console/admin", include_in_schema=False)

CORPUS = "risk/corpus/"
LEVELS = list(RISK_LABEL.items())  # the words the console uses for levels everywhere
PAGE = 50


@dataclass(frozen=True)
class Message:
    file: str
    id: str
    writer: str
    words: str  # the text, or its bubbles one a line
    bubbles: bool
    level: str
    labels: list[str]


# The corpus files' messages by their digest: reading ten files of 3,000 lines takes half a
# second, and every page of the list and every save asks again for the same draft.
_read: dict[str, list[Message]] = {}
_read_lock = threading.Lock()


def _messages(files: dict[str, str]) -> list[Message]:
    corpus = {n: t for n, t in files.items() if n.startswith(CORPUS) and n.endswith(".yaml")}
    key = content_store.digest(corpus)
    with _read_lock:
        known = _read.get(key)
    if known is None:
        known = _parse_messages(corpus)
        with _read_lock:
            if len(_read) >= 4:
                _read.pop(next(iter(_read)))
            _read[key] = known
    return known


def _parse_messages(corpus: dict[str, str]) -> list[Message]:
    found = []
    for name in sorted(corpus):
        data = yaml.load(corpus[name], Loader=FAST_LOADER) or {}
        for m in data.get("messages") or []:
            bubbles = m.get("bubbles") is not None
            found.append(Message(name, str(m.get("id")), str(data.get("writer", "")),
                                 "\n".join(m["bubbles"]) if bubbles else str(m.get("text", "")),
                                 bubbles, str(m.get("level")), list(m.get("labels") or [])))
    return found


def _corpus_page(request: Request, me: Counsellor, problems: list[Explained] | None = None,
                 status_code: int = 200, kept: dict[str, str] | None = None) -> HTMLResponse:
    query = request.query_params
    writer, level, text = query.get("writer", ""), query.get("level", ""), query.get("q", "")
    offset = int(query.get("offset", "0") or 0) if query.get("offset", "0").isdigit() else 0
    every = _messages(draft_files(request, me))
    shown = [m for m in every if (not writer or m.writer == writer)
             and (not level or m.level == level) and (not text or text in m.words)]
    counts = {lv: sum(m.level == lv for m in every) for lv, _ in LEVELS}
    return form_page(request, me, "admin_corpus.html", REVIEW_FILE, problems, status_code,
                     kept, messages=shown[offset:offset + PAGE], found=len(shown),
                     offset=offset, page=PAGE, writers=sorted({m.writer for m in every}),
                     writer=writer, level=level, q=text, levels=LEVELS, level_names=RISK_LABEL,
                     counts=counts, total=len(every))


@router.get("/corpus/")
def corpus(request: Request, me: Admin) -> HTMLResponse:
    return _corpus_page(request, me)


def _back(request: Request, anchor: str = "") -> str:
    """The list the officer was on (its filters), with the saved notice."""
    keep = {k: v for k, v in request.query_params.items() if k in ("writer", "level", "q",
                                                                     "offset") and v}
    query = urlencode(keep)
    return f"/console/admin/corpus/?saved=1{'&' + query if query else ''}{anchor}"


@router.post("/corpus/messages/{message_id}", dependencies=[CsrfChecked])
async def save_message(request: Request, message_id: str, me: Admin) -> Response:
    """A message's words corrected, or its level adjudicated again."""
    form = await request.form()
    files = draft_files(request, me)
    message = next((m for m in _messages(files) if m.id == message_id), None)
    if message is None:
        raise HTTPException(status_code=404)
    kept = {k: str(v) for k, v in form.items() if k != "csrf"}
    text = files[message.file]
    typed = str(form.get("words") or "").replace("\r\n", "\n").strip()
    level = words(form, "level")
    try:
        if typed and typed != message.words:
            if message.bubbles:
                text = set_entry_field(text, "messages", message.id, "bubbles",
                                       [b.strip() for b in typed.split("\n") if b.strip()])
            else:
                text = set_entry_field(text, "messages", message.id, "text", typed)
        if level and level != message.level:
            text = set_entry_field(text, "messages", message.id, "level", level)
    except (EditError, KeyError):
        return _corpus_page(request, me, [MOVED], 409, kept)
    problems = save_checked(request, me, {message.file: text})
    if problems:
        return _corpus_page(request, me, problems, 422, kept)
    return RedirectResponse(_back(request, f"#m-{message.id}"), status_code=303)


@router.post("/corpus/messages", dependencies=[CsrfChecked])
async def add_message(request: Request, me: Admin) -> Response:
    """A message an administrator wrote (a paraphrase, never a resident's own words)."""
    form = await request.form()
    kept = {k: str(v) for k, v in form.items() if k != "csrf"}
    typed, level = words(form, "words"), words(form, "level")
    if not typed:
        return _corpus_page(request, me, [NO_WORDS], 422, kept)
    files = draft_files(request, me)
    problems = save_checked(request, me, {REVIEW_FILE: append_entry(
        files[REVIEW_FILE], text=typed, level=level, kind="written in the corpus form")})
    if problems:
        return _corpus_page(request, me, problems, 422, kept)
    return RedirectResponse(_back(request), status_code=303)


NO_WORDS = Explained("例文を入れてください。", "the new message has no text")


# ---------------------------------------------------------------------- evaluation


class Evaluations:
    """Leave-one-writer-out evaluations by the digest of the files measured, computed one at
    a time in a background thread (a request never waits for one)."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evaluation")
        self._jobs: dict[str, Future[Evaluation]] = {}
        self._lock = threading.Lock()

    def start(self, files: dict[str, str]) -> str:
        key = content_store.digest(files)
        with self._lock:
            job = self._jobs.get(key)
            if job is None or (job.done() and job.exception() is not None):
                self._jobs[key] = self._pool.submit(_evaluate, dict(files))
                while len(self._jobs) > 6:  # the oldest results go
                    self._jobs.pop(next(iter(self._jobs)))
        return key

    def result(self, key: str) -> Evaluation | BaseException | None:
        """The evaluation, the error it ended with, or None while it runs (or never ran)."""
        with self._lock:
            job = self._jobs.get(key)
        if job is None or not job.done():
            return None
        return job.exception() or job.result()

    def known(self, key: str) -> bool:
        with self._lock:
            return key in self._jobs


EVALUATIONS = Evaluations()


def _evaluate(files: dict[str, str]) -> Evaluation:
    content = content_store.load_files(files)
    with tempfile.TemporaryDirectory() as tmp:
        content_store.write_directory(
            {n: t for n, t in files.items() if n.startswith(CORPUS)}, Path(tmp))
        corpus = load_corpus(Path(tmp) / CORPUS)
    return leave_one_writer_out(content.lexicon, corpus)


@dataclass(frozen=True)
class Row:
    label: str  # in an officer's words
    published: str
    draft: str
    worse: bool  # the draft is less safe (or raises more false alarms) on this figure


def compare_figures(published: Figures, draft: Figures) -> list[Row]:
    def pct(x: float) -> str:
        return f"{x:.1%}"

    rows = [Row("差し迫った危険の文を「高い」より下に見落とした数",
                f"{published.imminent_below_high} / {published.imminent_total}",
                f"{draft.imminent_below_high} / {draft.imminent_total}",
                draft.imminent_below_high > published.imminent_below_high),
            Row("「高い」以上の文を「高い」以上と見つけた割合（再現率）",
                pct(published.high_plus_recall), pct(draft.high_plus_recall),
                draft.high_plus_recall < published.high_plus_recall),
            Row("「高い」以上と判定した文のうち、本当に「高い」以上だった割合（適合率）",
                pct(published.high_plus_precision), pct(draft.high_plus_precision),
                draft.high_plus_precision < published.high_plus_precision),
            Row("危険のない文を「高い」以上にしてしまった割合",
                pct(published.false_alarms), pct(draft.false_alarms),
                draft.false_alarms > published.false_alarms)]
    names = RISK_LABEL
    for level in sorted(Level, reverse=True):
        rows.append(Row(f"「{names[level.label]}」の文をその度合いと判定した割合",
                        pct(published.recall(level)), pct(draft.recall(level)),
                        draft.recall(level) < published.recall(level)))
    return rows


def _sides(request: Request, me: Counsellor) -> tuple[dict[str, Any], dict[str, str]]:
    with host(request).sessions() as session:
        state = draft_state(session, me)
    return dict(state["current"].files), dict(state["files"])


@router.post("/corpus/evaluate", dependencies=[CsrfChecked])
def evaluate(request: Request, me: Admin) -> Response:
    published, draft = _sides(request, me)
    for files in (published, draft):
        EVALUATIONS.start(files)
    with host(request).sessions() as session, session.begin():
        audit.record(session=session, counsellor=me, action="content_evaluate", case_id=None)
    return RedirectResponse("/console/admin/corpus/evaluation", status_code=303)


@router.get("/corpus/evaluation")
def evaluation(request: Request, me: Admin) -> HTMLResponse:
    published, draft = _sides(request, me)
    keys = [content_store.digest(published), content_store.digest(draft)]
    started = all(EVALUATIONS.known(k) for k in keys)
    results = [EVALUATIONS.result(k) for k in keys]
    failed = any(isinstance(r, BaseException) for r in results)
    done = all(isinstance(r, Evaluation) for r in results)
    rows: list[Row] = []
    lost: list[Any] = []
    if done:
        old, new = results
        assert isinstance(old, Evaluation) and isinstance(new, Evaluation)
        rows = compare_figures(old.figures["combined"], new.figures["combined"])
        before = {s.id: s for s in old.scored}
        # Messages the draft newly misses or newly raises: what to look at before publishing.
        lost = [(before[s.id], s) for s in new.scored if s.id in before
                and (before[s.id].got["combined"] >= Level.HIGH) != (s.got["combined"]
                                                                     >= Level.HIGH)][:30]
    page = _page(request, "admin_corpus_evaluation.html", me=me, started=started, done=done,
                 failed=failed, rows=rows, changed=lost, same=published == draft,
                 level_names=RISK_LABEL)
    if started and not done and not failed:
        page.headers["Refresh"] = "3"  # the page asks again until the figures are there
    return page
