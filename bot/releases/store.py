"""Published content lives in the database as immutable releases; drafts are edited beside them.

A release is the whole set of content files as text. The newest release is what every process
serves; publishing and rolling back both append one, so nothing is ever lost and the history says
who changed what, when and why. `content/` on disk seeds the first release and stays the way to
keep content in git (`tsunagu content export/import`).
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.content.files import ContentError
from bot.content.files import Problem as FileProblem
from bot.db.models import ContentDraft, ContentRelease
from bot.releases.load import Content, load_content

ContentFiles = dict[str, str]  # relative POSIX path -> YAML text

SEED_REASON = "初期内容（content/ フォルダから）"


class StaleDraft(Exception):
    """The draft was made against a release that is no longer the newest."""


def read_directory(directory: Path) -> ContentFiles:
    return {p.relative_to(directory).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(directory.rglob("*.yaml"))}


def write_directory(files: ContentFiles, directory: Path) -> None:
    for name, text in files.items():
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def digest(files: ContentFiles) -> str:
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return h.hexdigest()


_loaded: OrderedDict[str, Content | ContentError] = OrderedDict()
_loaded_lock = threading.Lock()


def load_files(files: ContentFiles) -> Content:
    """The files as served content; a ContentError names files relative to the content root.
    Checking takes most of a second (the lexicon's examples are parsed), and editor pages ask
    again and again for the same draft, so recent results are kept by digest."""
    key = digest(files)
    with _loaded_lock:
        known = _loaded.get(key)
    if known is None:
        try:
            known = _load(files)
        except ContentError as e:
            known = e
        with _loaded_lock:
            _loaded[key] = known
            while len(_loaded) > 8:
                _loaded.popitem(last=False)
    if isinstance(known, ContentError):
        raise ContentError(known.problems)
    return known


def _load(files: ContentFiles) -> Content:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "content"
        write_directory(files, root)
        try:
            return load_content(root)
        except ContentError as e:
            raise ContentError([p.relative_to(root) for p in e.problems]) from e


# ------------------------------------------------------------------ problems, by line


@dataclass(frozen=True)
class Problem:
    file: str | None
    line: int | None
    message: str


def problems_of(files: ContentFiles) -> list[Problem]:
    try:
        load_files(files)
    except ContentError as e:
        return [_locate(p, files) for p in e.problems]
    return []


def _locate(problem: FileProblem, files: ContentFiles) -> Problem:
    """The line a problem is about, so the editor can show it there."""
    if problem.file is None or problem.file not in files:
        return Problem(None, None, str(problem))
    line = problem.line
    if line is None and problem.at:
        key, value = problem.find or ("value", None)
        line = _line_of(files[problem.file], list(problem.at), key=key, value=value)
    return Problem(problem.file, line, problem.message)


def _line_of(text: str, path: list[str], *, key: str = "value",
             value: str | None = None) -> int | None:
    """1-based line of `path` in the YAML text; then, if `value` is given, of the mapping
    below it whose `key` is `value` (a choice, a rule)."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == part), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and \
                int(part) < len(node.value):
            node = node.value[int(part)]
            line = node.start_mark.line + 1
        else:
            break
    if value is not None and node is not None:
        inner = _find_mapping(node, key, value)
        if inner is not None:
            line = inner
    return line


def _find_mapping(node: yaml.Node, key: str, value: str) -> int | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if k.value == key and isinstance(v, yaml.ScalarNode) and v.value == value:
                return int(node.start_mark.line) + 1
        children = [v for _, v in node.value]
    elif isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    else:
        return None
    for child in children:
        found = _find_mapping(child, key, value)
        if found is not None:
            return found
    return None


# ------------------------------------------------------------------ releases


def current_release(session: Session, *, lock: bool = False) -> ContentRelease | None:
    stmt = select(ContentRelease).order_by(ContentRelease.id.desc()).limit(1)
    if lock and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()  # two publishers in a race: the second sees the first
    return session.scalars(stmt).first()


def newest_release_id(session: Session) -> int | None:
    return session.scalar(select(func.max(ContentRelease.id)))


def releases(session: Session, limit: int = 50) -> list[ContentRelease]:
    return list(session.scalars(select(ContentRelease).order_by(ContentRelease.id.desc())
                                .limit(limit)))


def publish(session: Session, files: ContentFiles, *, author_id: int | None, reason: str,
            base_release_id: int | None = None,
            restored_from: int | None = None) -> ContentRelease:
    """Append a release; raises ContentError for content that cannot be served and StaleDraft
    when someone else published after the draft was started."""
    if not reason.strip():
        raise ValueError("a release needs a reason")
    content = load_files(files)  # a bad draft can never be published
    current = current_release(session, lock=True)
    if base_release_id is not None and current is not None and current.id != base_release_id:
        raise StaleDraft(f"release {current.id} was published after this draft was started")
    model = content.risk_model.to_data() if content.risk_model is not None else None
    release = ContentRelease(files=dict(files), digest=digest(files), author_id=author_id,
                             reason=reason.strip(), restored_from=restored_from,
                             risk_model=model)
    session.add(release)
    session.flush()
    return release


def rollback(session: Session, release_id: int, *, author_id: int | None,
             reason: str) -> ContentRelease:
    """Serve an earlier release again, as a new release (history is never rewritten)."""
    earlier = session.get(ContentRelease, release_id)
    if earlier is None:
        raise LookupError(f"no release {release_id}")
    return publish(session, earlier.files, author_id=author_id, reason=reason,
                   restored_from=earlier.id)


def ensure_release(session: Session, directory: Path) -> ContentRelease:
    """The newest release; on a new database, the content folder becomes release 1."""
    current = current_release(session)
    if current is not None:
        return current
    return publish(session, read_directory(directory), author_id=None, reason=SEED_REASON)


# ------------------------------------------------------------------ drafts


def draft_of(session: Session, author_id: int) -> ContentDraft | None:
    return session.scalars(select(ContentDraft).where(ContentDraft.author_id == author_id)).first()


def _started_draft(session: Session, author_id: int) -> ContentDraft:
    """The author's draft, started from the newest release if they have none."""
    draft = draft_of(session, author_id)
    if draft is None:
        current = current_release(session)
        if current is None:
            raise LookupError("nothing is published yet")
        draft = ContentDraft(author_id=author_id, base_release_id=current.id,
                             files=dict(current.files))
        session.add(draft)
    return draft


def save_to_draft(session: Session, author_id: int, name: str, text: str, *,
                  new_file: bool = False) -> ContentDraft:
    """Keep one edited file in the author's draft (started from the newest release); with
    `new_file`, one the release did not have (whether content may have it is the loader's
    to say)."""
    draft = _started_draft(session, author_id)
    if name not in draft.files and not new_file:
        raise KeyError(name)
    # Browsers send CRLF from a textarea; keep the files as they are in git.
    draft.files = {**draft.files, name: text.replace("\r\n", "\n")}
    session.flush()
    return draft


def remove_from_draft(session: Session, author_id: int, name: str) -> ContentDraft:
    """Leave a file out of the author's draft (published, it is gone from the release)."""
    draft = _started_draft(session, author_id)
    if name not in draft.files:
        raise KeyError(name)
    draft.files = {n: text for n, text in draft.files.items() if n != name}
    session.flush()
    return draft


def discard_draft(session: Session, author_id: int) -> None:
    draft = draft_of(session, author_id)
    if draft is not None:
        session.delete(draft)
