"""The lexicon is refused, with file, rule and problem, when it is broken or its rules
contradict their own examples."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.nlp import LexiconError, load_lexicon
from bot.settings import DEFAULT_CONTENT_DIR

SHIPPED = DEFAULT_CONTENT_DIR / "risk"


@pytest.fixture
def risk_dir(tmp_path: Path) -> Path:
    target = tmp_path / "risk"
    shutil.copytree(SHIPPED, target)
    return target


def edit(path: Path, change: Callable[[Any], object]) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True))


def first_rule(d: Any) -> Any:
    return d["rules"][0]


def test_the_shipped_lexicon_loads_with_a_version() -> None:
    lexicon = load_lexicon(SHIPPED)
    assert len(lexicon.version) == 12
    assert {c.category for c in lexicon.categories} >= {
        "suicidal_ideation", "self_harm", "plan_means", "no_food", "housing_loss",
        "utilities_cut", "violence", "child_abuse", "debt_collection", "isolation"}


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: first_rule(d)["examples"]["positive"].append("今日はいい天気"),
     "positive example '今日はいい天気' does not match"),
    (lambda d: first_rule(d)["examples"]["negative"].append("死にたい"),
     "negative example '死にたい' matches"),
    (lambda d: first_rule(d)["examples"].update(negative=[]), "negative"),
    (lambda d: first_rule(d).update(level="severe"), "level"),
    (lambda d: first_rule(d).update(pattern="(unclosed"), "pattern does not compile"),
    (lambda d: first_rule(d).update(lemmas=[], pattern=None), "give `lemmas` or `pattern`"),
    (lambda d: d["rules"].append(dict(first_rule(d))), "id already used"),
    (lambda d: first_rule(d).update(unknown_key=1), "unknown_key"),
])
def test_broken_rules_are_refused(risk_dir: Path, change: Callable[[Any], object],
                                  expected: str) -> None:
    edit(risk_dir / "suicidal_ideation.yaml", change)
    with pytest.raises(LexiconError) as error:
        load_lexicon(risk_dir)
    assert "suicidal_ideation.yaml" in str(error.value) and expected in str(error.value)
    assert "rule si.want_to_die" in str(error.value)


def test_a_combination_of_unknown_categories_is_refused(risk_dir: Path) -> None:
    edit(risk_dir / "modifiers.yaml",
         lambda d: d["combinations"].append({"id": "x", "all": ["nope", "isolation"],
                                             "level": "imminent"}))
    with pytest.raises(LexiconError, match="combination x: unknown category nope"):
        load_lexicon(risk_dir)


def test_a_broken_lexicon_stops_the_content_from_loading(tmp_path: Path) -> None:
    from bot.content.files import ContentError
    from bot.releases.load import load_content

    content = tmp_path / "content"
    shutil.copytree(DEFAULT_CONTENT_DIR, content)
    edit(content / "risk" / "violence.yaml",
         lambda d: first_rule(d)["examples"]["positive"].append("平和な一日"))
    with pytest.raises(ContentError, match=r"violence\.yaml: rule vi"):
        load_content(content)
