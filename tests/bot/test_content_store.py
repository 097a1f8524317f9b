"""Content releases: seeded from the folder, published only when valid, never rewritten,
rolled back by a new release; problems located by line; export/import round-trips."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from bot.content.files import ContentError
from bot.db.engine import make_engine, make_session_factory, transaction
from bot.db.models import ContentRelease
from bot.platform.cli import app as cli
from bot.releases import store as content_store
from bot.settings import DEFAULT_CONTENT_DIR

FILES = content_store.read_directory(DEFAULT_CONTENT_DIR)
FLOW = "flows/intake.yaml"


def edited(name: str, old: str, new: str) -> dict[str, str]:
    assert old in FILES[name]
    return {**FILES, name: FILES[name].replace(old, new, 1)}


def line_with(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.split("\n"), 1) if needle in line)


def test_the_shipped_content_has_no_problems() -> None:
    assert content_store.problems_of(FILES) == []
    assert FLOW in FILES and "risk/modifiers.yaml" in FILES


@pytest.mark.parametrize(("name", "old", "new", "needle", "says"), [
    (FLOW, "next: trouble}", "next: nowhere}", "next: nowhere}", "unknown target state"),
    ("places.yaml", "retention_days:", "retention_days: -1 #", "retention_days",
     "greater than or equal to 1"),
    ("resources.yaml", "hotlines:", "hotlines: [", "hotlines: [", "not valid YAML"),
])
def test_problems_point_at_their_line(name: str, old: str, new: str, needle: str,
                                      says: str) -> None:
    files = edited(name, old, new)
    problems = content_store.problems_of(files)
    assert problems, "a broken file must be reported"
    first = problems[0]
    assert first.file == name and says in first.message
    expected = line_with(files[name], needle)
    assert first.line is not None and abs(first.line - expected) <= 1, (first, expected)


def test_a_lexicon_problem_points_at_its_rule() -> None:
    name = next(n for n in FILES if n.startswith("risk/") and "lemmas:" in FILES[n]
                and "modifiers" not in n)
    files = edited(name, "lemmas:", "lemmaz:")
    [problem] = content_store.problems_of(files)
    assert problem.file == name and "lemmaz" in problem.message
    assert problem.line is not None
    assert "id:" in files[name].split("\n")[problem.line - 1]  # the rule's own first line


@pytest.fixture
def sessions(fresh_database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(fresh_database_url)
    yield make_session_factory(engine)
    engine.dispose()


def test_releases_are_appended_and_rollback_restores_by_a_new_one(
        sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as s:
        first = content_store.ensure_release(s, DEFAULT_CONTENT_DIR)
        assert first.id == 1 and first.author_id is None
        assert content_store.ensure_release(s, DEFAULT_CONTENT_DIR).id == 1  # seeded once
    with transaction(sessions) as s, pytest.raises(ContentError):
        content_store.publish(s, edited(FLOW, "next: trouble}", "next: nowhere}"),
                              author_id=None, reason="broken")
    with transaction(sessions) as s:
        second = content_store.publish(s, edited(FLOW, "はじめる", "始める"), author_id=None,
                                       reason="wording", base_release_id=1)
        assert second.id == 2
    with transaction(sessions) as s, pytest.raises(content_store.StaleDraft):
        content_store.publish(s, FILES, author_id=None, reason="late", base_release_id=1)
    with transaction(sessions) as s:
        third = content_store.rollback(s, 1, author_id=None, reason="back")
        assert (third.id, third.restored_from, third.digest) == (3, 1, first.digest)
    with sessions() as s:
        assert [r.id for r in content_store.releases(s)] == [3, 2, 1]
        assert s.scalar(select(ContentRelease.reason).where(ContentRelease.id == 2)) == "wording"


def test_export_then_import_round_trips_through_a_folder(
        fresh_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TSUNAGU_DATABASE_URL", fresh_database_url)
    runner = CliRunner()
    refused = runner.invoke(cli, ["content", "export", str(tmp_path / "out")])
    assert refused.exit_code == 1  # nothing published yet

    engine = make_engine(fresh_database_url)
    with transaction(make_session_factory(engine)) as s:
        content_store.ensure_release(s, DEFAULT_CONTENT_DIR)
    out = tmp_path / "out"
    done = runner.invoke(cli, ["content", "export", str(out)])
    assert done.exit_code == 0, done.output
    assert content_store.read_directory(out) == FILES

    (out / FLOW).write_text(FILES[FLOW].replace("はじめる", "始める", 1), encoding="utf-8")
    done = runner.invoke(cli, ["content", "import", str(out), "--reason", "git から"])
    assert done.exit_code == 0 and "release 2" in done.output, done.output
    same = runner.invoke(cli, ["content", "import", str(out)])
    assert "already has exactly these files" in same.output

    (out / FLOW).write_text(FILES[FLOW].replace("next: trouble}", "next: x}", 1),
                            encoding="utf-8")
    bad = runner.invoke(cli, ["content", "import", str(out)])
    assert bad.exit_code == 1 and "nothing was published" in bad.output
    with make_session_factory(engine)() as s:
        newest = content_store.current_release(s)
        assert newest is not None and newest.id == 2 and newest.reason == "git から"
        assert "始める" in newest.files[FLOW]
    engine.dispose()
