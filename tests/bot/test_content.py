"""Content is validated on load, and errors name the file and the field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bot.content import ContentError, load_content
from bot.settings import DEFAULT_CONTENT_DIR


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(DEFAULT_CONTENT_DIR, target)
    return target


def edit(path: Path, change: object) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)  # type: ignore[operator]
    path.write_text(yaml.safe_dump(data, allow_unicode=True))


def test_shipped_content_loads() -> None:
    content = load_content(DEFAULT_CONTENT_DIR)
    assert content.messages.greeting and content.resources.hotlines


@pytest.mark.parametrize(
    ("file", "change", "expected"),
    [
        ("messages.yaml", lambda d: d["choices"][0].update(label="あ" * 21), "choices.0.label"),
        ("messages.yaml", lambda d: d.update(choices=d["choices"] * 5), "choices"),
        ("messages.yaml", lambda d: d.pop("greeting"), "greeting"),
        ("messages.yaml", lambda d: d.update(greeting=["   "]), "greeting"),
        ("messages.yaml", lambda d: d.update(greeting=["a"] * 5), "greeting"),
        ("messages.yaml", lambda d: d.update(emergency=["あ" * 161]), "emergency"),
        ("resources.yaml", lambda d: d["hotlines"][0].update(tel="call me"), "hotlines.0.tel"),
        ("resources.yaml", lambda d: d.update(hotlines=d["hotlines"] * 2), "hotlines"),
    ],
)
def test_broken_content_is_refused_with_a_precise_message(
    content_dir: Path, file: str, change: object, expected: str
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
