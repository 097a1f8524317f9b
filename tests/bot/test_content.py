"""Content is validated on load, and errors name the file and the field."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.content import ContentError, load_content
from bot.settings import DEFAULT_CONTENT_DIR


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(DEFAULT_CONTENT_DIR, target)
    return target


def edit(path: Path, change: Callable[[Any], object]) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True))


def test_shipped_content_loads() -> None:
    content = load_content(DEFAULT_CONTENT_DIR)
    assert content.messages.trouble and content.resources.hotlines
    assert "intake" in content.flows and len(content.flows["intake"].version) == 12


@pytest.mark.parametrize(
    ("file", "change", "expected"),
    [
        ("messages.yaml", lambda d: d.pop("trouble"), "trouble"),
        ("messages.yaml", lambda d: d.update(trouble=["   "]), "trouble"),
        ("messages.yaml", lambda d: d.update(trouble=["a"] * 5), "trouble"),
        ("resources.yaml", lambda d: d["hotlines"][0].update(tel="call me"), "hotlines.0.tel"),
        ("resources.yaml", lambda d: d.update(hotlines=d["hotlines"] * 2), "hotlines"),
        ("places.yaml", lambda d: d["municipalities"][0].update(team="nowhere"),
         "unknown team nowhere"),
        ("places.yaml", lambda d: d["routing"]["life_areas"].update(money=["magic"]),
         "unknown programme magic"),
        ("places.yaml", lambda d: d["teams"][0]["hours"].update(close="08:00"),
         "close must be after open"),
    ],
)
def test_broken_content_is_refused_with_a_precise_message(
    content_dir: Path, file: str, change: Callable[[Any], object], expected: str
) -> None:
    edit(content_dir / file, change)
    with pytest.raises(ContentError) as error:
        load_content(content_dir)
    assert file in str(error.value) and expected in str(error.value)


def test_missing_and_unparseable_files_are_named(content_dir: Path) -> None:
    (content_dir / "resources.yaml").unlink()
    with pytest.raises(ContentError, match=r"resources\.yaml: file is missing"):
        load_content(content_dir)
    (content_dir / "resources.yaml").write_text("hotlines: [unclosed")
    with pytest.raises(ContentError, match=r"resources\.yaml: not valid YAML"):
        load_content(content_dir)


def test_a_deployment_without_an_intake_flow_is_refused(content_dir: Path) -> None:
    (content_dir / "flows" / "intake.yaml").unlink()
    with pytest.raises(ContentError, match="intake flow"):
        load_content(content_dir)
