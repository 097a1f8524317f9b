"""Content is validated on load, and errors name the file and the field."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.content.files import ContentError
from bot.releases.load import load_content
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
        ("resources.yaml", lambda d: d["hotlines"].append(dict(d["hotlines"][0])),
         "hotlines.12.id: 'ambulance' is used by another number"),
        ("resources.yaml", lambda d: d.update(hotlines=[
            dict(d["hotlines"][0], id=f"n{i}") for i in range(16)]), "hotlines: List should"),
        ("places.yaml", lambda d: d["municipalities"][0].update(team="nowhere"),
         "unknown team nowhere"),
        ("places.yaml", lambda d: d["municipalities"][0].update(area="nowhere"),
         "municipality midori: unknown area nowhere"),
        ("places.yaml", lambda d: d["municipalities"][0].pop("area"),
         "municipality midori: give its area"),
        ("places.yaml", lambda d: d["municipalities"][0].pop("team"),
         "municipality midori: give its `team`, or the `office`"),
        ("places.yaml", lambda d: d["municipalities"].append(
            dict(d["municipalities"][0], name="べつの市")), "municipality ids twice: midori"),
        ("places.yaml", lambda d: d["municipalities"].append(
            dict(d["municipalities"][0], id="midori2")), "municipality names twice: みどり市"),
        ("places.yaml", lambda d: d["areas"].append({"id": "south", "name": "東部"}),
         "area south: no municipality of ours in it; area names twice: 東部"),
        ("places.yaml", lambda d: d["municipalities"][0].update(tel="call me"),
         "municipalities.0.tel"),
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


def hotline_index(data: Any, hotline_id: str) -> int:
    return next(i for i, h in enumerate(data["hotlines"]) if h["id"] == hotline_id)


def drop_category(data: Any, category: str) -> None:
    """No number serves `category` any more (one that served only it serves violence)."""
    for h in data["hotlines"]:
        h["categories"] = [c for c in h["categories"] if c != category] or ["violence"]


@pytest.mark.parametrize("tel", [
    "0120-279-33",  # a digit short
    "0120--279338",  # an empty group
    "-0120279338",
    "0120 279 338",
    "#80-08",  # a # number is dialled as one group
    "8008",
    "tel:119",
    "+81-120-279-338",
    "０１２０２７９３３８",  # full-width digits
])
def test_a_malformed_number_is_refused(content_dir: Path, tel: str) -> None:
    edit(content_dir / "resources.yaml", lambda d: d["hotlines"][2].update(tel=tel))
    with pytest.raises(ContentError) as error:
        load_content(content_dir)
    assert "resources.yaml: hotlines.2.tel" in str(error.value)
    assert "is not a phone number" in str(error.value)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: drop_category(d, "child_abuse"),
         "hotlines: no number for the risk category 'child_abuse' (児童虐待)"),
        (lambda d: d["hotlines"][0]["categories"].append("sadness"),
         "hotlines.0.categories.11: unknown risk category 'sadness'"),
        (lambda d: [h.update(general=False) for h in d["hotlines"]],
         "hotlines: no number has `general: true`"),
        (lambda d: d["hotlines"][0].update(categorys=["no_food"]),
         "hotlines.0.categorys: Extra inputs are not permitted"),
        (lambda d: d["hotlines"][0].update(categories=[]), "hotlines.0.categories"),
    ],
)
def test_numbers_that_cannot_serve_the_risk_categories_are_refused(
    content_dir: Path, change: Callable[[Any], object], expected: str
) -> None:
    assert_refused(content_dir, "resources.yaml", change, expected)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["dangers"][1].update(first=["police", "childline"]),
         "dangers.1.first.1: unknown number 'childline'"),
        (lambda d: d["dangers"][2]["categories"].append("tonight"),
         "dangers.2.categories.1: unknown risk category 'tonight'"),
        (lambda d: d["dangers"][2]["categories"].append("child_abuse"),
         "dangers.2.categories.1: 'child_abuse' is already in the danger 'child'"),
        (lambda d: d["dangers"][2].update(id="child"),
         "dangers.2.id: 'child' is used by another danger"),
        (lambda d: d["dangers"][0].update(first=[]), "dangers.0.first"),
        (lambda d: d["dangers"][0].update(numbers=["ambulance"]),
         "dangers.0.numbers: Extra inputs are not permitted"),
    ],
)
def test_a_danger_naming_an_unknown_number_or_category_is_refused(
    content_dir: Path, change: Callable[[Any], object], expected: str
) -> None:
    assert_refused(content_dir, "resources.yaml", change, expected)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["risk_imminent_by_danger"].update(overdose=["119に電話してください。"]),
         "risk_imminent_by_danger.overdose: no danger 'overdose'"),
        (lambda d: d["risk_imminent_by_danger"]["injury"].append("{on_duty_now}"),
         "risk_imminent_by_danger.injury: unknown placeholder {on_duty_now}"),
        (lambda d: d["risk_imminent"].append("{on_duty"), "risk_imminent: a lone '{' or '}'"),
        (lambda d: d["risk_imminent_by_danger"]["injury"].extend(["a", "b"]),
         "risk_imminent_by_danger: Value error, 1 to 3 bubbles"),
    ],
)
def test_first_words_that_cannot_be_served_are_refused(
    content_dir: Path, change: Callable[[Any], object], expected: str
) -> None:
    assert_refused(content_dir, "messages.yaml", change, expected)


def assert_refused(content_dir: Path, name: str, change: Callable[[Any], object],
                   expected: str) -> None:
    """The content with `change` made to file `name` is refused, naming the file and place."""
    edit(content_dir / name, change)
    with pytest.raises(ContentError) as error:
        load_content(content_dir)
    assert f"{name}: {expected}" in str(error.value)


def test_every_refusal_is_listed_at_once(content_dir: Path) -> None:
    def break_twice(d: Any) -> None:
        d["hotlines"][0]["categories"].append("sadness")
        d["hotlines"][hotline_index(d, "dv_navi")]["categories"] = ["violense"]

    edit(content_dir / "resources.yaml", break_twice)
    with pytest.raises(ContentError) as error:
        load_content(content_dir)
    lines = str(error.value).splitlines()
    assert any("hotlines.0.categories.11: unknown risk category 'sadness'" in line
               for line in lines)
    assert any("hotlines.8.categories.0: unknown risk category 'violense'" in line
               for line in lines)


def test_the_admin_editor_points_at_the_line_of_a_contact_problem() -> None:
    from bot.releases import store as content_store

    files = content_store.read_directory(DEFAULT_CONTENT_DIR)
    text = files["resources.yaml"]
    files["resources.yaml"] = text.replace("categories: [child_abuse]",
                                           "categories: [child_abuses]")
    problems = content_store.problems_of(files)
    [problem] = [p for p in problems if p.message.startswith("hotlines.")]
    assert "unknown risk category 'child_abuses'" in problem.message
    assert problem.file == "resources.yaml" and problem.line is not None
    assert "child_abuses" in files["resources.yaml"].splitlines()[problem.line - 1]


def test_the_admin_editor_points_at_the_line_of_a_danger_problem() -> None:
    from bot.releases import store as content_store

    files = content_store.read_directory(DEFAULT_CONTENT_DIR)
    text = files["resources.yaml"]
    files["resources.yaml"] = text.replace("first: [police, dv_navi, dv_plus]",
                                           "first: [police, dv_nav, dv_plus]")
    [problem] = content_store.problems_of(files)
    assert problem.file == "resources.yaml" and "unknown number 'dv_nav'" in problem.message
    assert problem.line is not None
    assert "dv_nav," in files["resources.yaml"].splitlines()[problem.line - 1]


def test_problems_are_data_with_their_place(content_dir: Path) -> None:
    """Each problem says its file and where in it as keys, not only as words: an editor finds
    the line without reading the message back."""
    def misroute(flow: Any) -> None:
        state = next(s for s in flow["states"].values() if (s.get("ask") or {}).get("choices"))
        state["ask"]["choices"][0]["next"] = "nowhere"

    edit(content_dir / "flows" / "intake.yaml", misroute)
    edit(content_dir / "places.yaml", lambda d: d.update(retention_days=-1))
    with pytest.raises(ContentError) as places_error:
        load_content(content_dir)
    [bad_days] = places_error.value.problems
    assert bad_days.file == str(content_dir / "places.yaml")
    assert bad_days.at == ("retention_days",) and bad_days.line is None

    edit(content_dir / "places.yaml", lambda d: d.update(retention_days=30))
    with pytest.raises(ContentError) as flow_error:
        load_content(content_dir)
    [nowhere] = flow_error.value.problems
    assert nowhere.file == "content/flows/intake.yaml"
    assert nowhere.at[0] == "states" and nowhere.find is not None and nowhere.find[0] == "value"
    assert "unknown target state 'nowhere'" in nowhere.message
    assert str(flow_error.value) == str(nowhere)
