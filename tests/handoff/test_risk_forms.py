"""The risk lexicon in forms over HTTP: a rule is saved only when its own examples agree with
it (refused in Japanese at the rule otherwise), the test box reads with the draft, and a
danger can be added as a new file (with the numbers it offers) and removed with its file."""

from __future__ import annotations

import re
from html import unescape

import httpx
import pytest
import yaml
from sqlalchemy import select

from bot.db.models import ContentDraft
from handoff.models import AuditEntry, Role
from tests.handoff.test_content_forms import changed_lines, published
from tests.live import LiveApp, Staff, csrf_of, logged_in

NO_FOOD = "risk/no_food.yaml"


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("admin", "管理者", Role.ADMIN)]


def draft_files(live: LiveApp) -> dict[str, str] | None:
    with live.session() as s:
        draft = s.scalars(select(ContentDraft)).first()
        return None if draft is None else dict(draft.files)


def rule_form(client: httpx.Client, category: str, index: int, **changes: str) -> dict[str, str]:
    """A rule's form as its card fills it, with `changes` over it."""
    page = client.get(f"/console/admin/risk/{category}")
    assert page.status_code == 200
    card = page.text.split(f'id="rule-{index}"', 1)[1].split("</form>", 1)[0]
    form = {"csrf": csrf_of(client, "/console/admin/")}
    for name, value in re.findall(r'<textarea name="([^"]+)"[^>]*>(.*?)</textarea>', card, re.S):
        form[name] = unescape(value)
    form["gap"] = re.search(r'name="gap"[^>]*value="([^"]*)"', card).group(1)  # type: ignore[union-attr]
    form["level"] = re.search(  # type: ignore[union-attr]
        r'<option value="([^"]*)" selected', card.split('name="level"', 1)[1]).group(1)
    form.update(changes)
    return form


def test_a_rule_is_saved_only_when_its_examples_agree(fresh_live: LiveApp) -> None:
    live = fresh_live
    admin = logged_in(live, "admin")
    listing = admin.get("/console/admin/risk/")
    assert listing.status_code == 200 and "食料がない" in listing.text
    form = rule_form(admin, "no_food", 0)
    assert form["lemmas"].splitlines() == ["食べる、食う", "物、もの", "が、も", "無い、ない"]
    assert form["positive"].splitlines() == ["今日食べるものがない", "食べるものが何もない"]

    # An example the rule cannot find: refused at the rule, in Japanese; nothing saved.
    refused = admin.post("/console/admin/risk/no_food/rules/0", data={
        **form, "positive": form["positive"] + "\nお腹がすいて眠れない"})
    assert refused.status_code == 422
    assert "例文「お腹がすいて眠れない」は、この決まりで見つけたい言い方のはずですが" in \
        refused.text
    card = refused.text.split('id="rule-0"', 1)[1].split("</form>", 1)[0]
    assert "refused" in refused.text.split('id="rule-0"', 1)[0].rsplit("<details", 1)[1]
    assert "お腹がすいて眠れない" in card  # the officer's words are kept where they were typed
    # With how the analyser reads the example, in the words a rule is written in.
    assert "「お腹がすいて眠れない」→ 御腹・が・空く・て・眠る・ない" in unescape(card)
    assert draft_files(live) is None
    # And one the rule must not find, but does.
    refused = admin.post("/console/admin/risk/no_food/rules/0", data={
        **form, "negative": form["negative"] + "\n食べるものがない"})
    assert refused.status_code == 422 and "見つけてはいけない言い方のはず" in refused.text

    # A word added in its place, with an example it now finds: saved, as a small diff.
    saved = admin.post("/console/admin/risk/no_food/rules/0", data={
        **form, "lemmas": "食べる、食う、食える\n物、もの\nが、も\n無い、ない",
        "positive": form["positive"] + "\n食えるものがない"})
    assert saved.status_code == 303 and saved.headers["location"].endswith("open=rule-0#rule-0")
    assert 'id="rule-0" open' in admin.get(saved.headers["location"]).text  # opened again
    files = draft_files(live)
    assert files is not None
    removed, added = changed_lines(published(live, NO_FOOD), files[NO_FOOD])
    assert removed == ["    lemmas: [[食べる, 食う], [物, もの], [が, も], [無い, ない]]",
                       "      positive: [今日食べるものがない, 食べるものが何もない]"]
    assert added == ["    lemmas: [[食べる, 食う, 食える], [物, もの], [が, も], [無い, ない]]",
                     "      positive: [今日食べるものがない, 食べるものが何もない, "
                     "食えるものがない]"]
    assert "# The negator is part of the risk" in files[NO_FOOD]  # comments kept

    # The test box reads with the draft, and says which rule found what.
    tried = admin.get("/console/admin/risk/no_food", params={"text": "もう食えるものがない"})
    assert "下書き" in tried.text and "nf.nothing_to_eat" in tried.text


def test_a_rule_is_added_and_removed(fresh_live: LiveApp) -> None:
    live = fresh_live
    admin = logged_in(live, "admin")
    csrf = csrf_of(admin, "/console/admin/")
    added = admin.post("/console/admin/risk/no_food/rules", data={
        "csrf": csrf, "name": "こめびつ", "level": "high", "lemmas": "米びつ\n空",
        "gap": "2", "pattern": "", "positive": "米びつが空です\n米びつがもう空", "negative":
        "米びつを買った"})
    assert added.status_code == 303, added.text
    files = draft_files(live)
    assert files is not None
    rules = yaml.safe_load(files[NO_FOOD])["rules"]
    # 米びつ is also looked for as the analyser reads it (米櫃): the officer needs not know.
    assert rules[-1] == {"id": "no_food.komebitsu", "level": "high",
                         "lemmas": [["米びつ", "米櫃"], ["空"]], "gap": 2,
                         "examples": {"positive": ["米びつが空です", "米びつがもう空"],
                                      "negative": ["米びつを買った"]}}
    index = len(rules) - 1
    form = rule_form(admin, "no_food", index)
    removed = admin.post(f"/console/admin/risk/no_food/rules/{index}",
                         data={**form, "remove": "1"})
    assert removed.status_code == 303
    files = draft_files(live)
    assert files is not None and "komebitsu" not in files[NO_FOOD]


def test_a_danger_is_added_as_a_file_and_removed_with_it(fresh_live: LiveApp) -> None:
    live = fresh_live
    admin = logged_in(live, "admin")
    csrf = csrf_of(admin, "/console/admin/")
    new = {"csrf": csrf, "label": "ギャンブルの借金", "name": "ぎゃんぶる", "third_party": "lower",
           "level": "concern", "lemmas": "パチンコ、ギャンブル、競馬\n借金", "gap": "3",
           "pattern": "", "positive": "パチンコで借金がある\n競馬の借金が返せない",
           "negative": "パチンコに行った"}
    # Without a number to offer, refused: every danger has someone to call.
    refused = admin.post("/console/admin/risk", data=new)
    assert refused.status_code == 422
    assert "「ギャンブルの借金」のときに案内する緊急の連絡先がありません" in refused.text
    assert draft_files(live) is None

    done = admin.post("/console/admin/risk", data={**new, "hotlines": "yorisoi"})
    assert done.status_code == 303 and done.headers["location"].startswith(
        "/console/admin/risk/gyanburu")
    files = draft_files(live)
    assert files is not None and "risk/gyanburu.yaml" in files
    resources = yaml.safe_load(files["resources.yaml"])
    assert [h["id"] for h in resources["hotlines"] if "gyanburu" in h["categories"]] == ["yorisoi"]
    # The overview and the diff show the new file; its page tries the draft's rule.
    assert "risk/gyanburu.yaml" in admin.get("/console/admin/").text
    assert "+category: gyanburu" in unescape(admin.get("/console/admin/diff").text)
    tried = admin.get("/console/admin/risk/gyanburu", params={"text": "競馬で借金をした"})
    assert "ギャンブルの借金" in tried.text.split('id="result"', 1)[1]

    # Removed: the file and its name in the numbers go; the draft is as published again.
    gone = admin.post("/console/admin/risk/gyanburu/remove", data={"csrf": csrf})
    assert gone.status_code == 303
    files = draft_files(live)
    assert files is not None and "risk/gyanburu.yaml" not in files
    assert files["resources.yaml"] == published(live, "resources.yaml")
    with live.session() as s:
        assert s.scalars(select(AuditEntry.detail).where(
            AuditEntry.action == "content_edit")).all() == [
            "risk/gyanburu.yaml (form, added)", "resources.yaml (form)",
            "risk/gyanburu.yaml (form, removed)", "resources.yaml (form)"]


def test_a_danger_goes_from_the_numbers_and_dangers_that_list_it(fresh_live: LiveApp) -> None:
    live = fresh_live
    admin = logged_in(live, "admin")
    csrf = csrf_of(admin, "/console/admin/")
    # 189 is offered for child abuse alone: the officer decides about the number first.
    refused = admin.post("/console/admin/risk/child_abuse/remove", data={"csrf": csrf})
    assert refused.status_code == 422
    assert "「児童相談所 虐待対応ダイヤル」は、この危険のときだけ案内する番号です" in \
        unescape(refused.text)
    # A danger that a combination needs (an intention with its means is imminent) stays.
    refused = admin.post("/console/admin/risk/plan_means/remove", data={"csrf": csrf})
    assert refused.status_code == 422
    assert "組み合わせ「combo.ideation_with_plan」が、危険の種類「plan_means」を使っています" in \
        refused.text
    assert draft_files(live) is None

    gone = admin.post("/console/admin/risk/utilities_cut/remove", data={"csrf": csrf})
    assert gone.status_code == 303, gone.text
    files = draft_files(live)
    assert files is not None and "risk/utilities_cut.yaml" not in files
    resources = yaml.safe_load(files["resources.yaml"])
    assert all("utilities_cut" not in h["categories"] for h in resources["hotlines"])
    assert {d["id"]: d["categories"] for d in resources["dangers"]}["livelihood"] == [
        "no_food", "housing_loss"]
    # The overview and the diff show the file going.
    assert "<del>risk/utilities_cut.yaml</del>" in admin.get("/console/admin/").text
    assert "-category: utilities_cut" in unescape(admin.get("/console/admin/diff").text)
