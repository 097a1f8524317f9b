"""The programmes, what each trouble suggests and the services residents are connected to, in
forms over HTTP: a programme renamed, added and (once nothing suggests it) removed; the
suggestions ticked per trouble; a service's consent words refused until every language has
them, then saved with the translations appended."""

from __future__ import annotations

import pytest
import yaml

from handoff.models import Role
from tests.handoff.test_content_forms import changed_lines, drafted, published
from tests.live import LiveApp, Staff, csrf_of, logged_in

PLACES = "places.yaml"


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("admin", "管理者", Role.ADMIN)]


def test_programmes_and_what_each_trouble_suggests(fresh_live: LiveApp) -> None:
    live = fresh_live
    admin = logged_in(live, "admin")
    page = admin.get("/console/admin/support/")
    assert page.status_code == 200 and "今夜寝る場所" in page.text
    csrf = csrf_of(admin, "/console/admin/")
    before = published(live, PLACES)
    saved = admin.post("/console/admin/support/programmes/foodbank",
                       data={"csrf": csrf, "name": "フードバンク・食料の支援"})
    assert saved.status_code == 303
    assert saved.headers["location"] == "/console/admin/support/?saved=1#programmes"
    assert changed_lines(before, drafted(live, PLACES) or "") == (
        ["  foodbank: フードバンク・食料支援"], ["  foodbank: フードバンク・食料の支援"])

    # A programme a trouble still suggests cannot go; unticked first, it can.
    refused = admin.post("/console/admin/support/programmes/foodbank",
                         data={"csrf": csrf, "remove": "1"})
    assert refused.status_code == 422
    assert "制度「foodbank」が、困りごとごとの案内（food）でまだ使われています" in refused.text
    routing = yaml.safe_load(before)["routing"]
    ticked = {f"{group}-{key}": [p for p in ids if p != "foodbank"]
              for group in ("life_areas", "urgent_needs")
              for key, ids in routing[group].items()}
    ticked["urgent_needs-shelter"] = [*ticked["urgent_needs-shelter"], "kinkyu"]
    assert admin.post("/console/admin/support/routing",
                      data={"csrf": csrf, **ticked, "always": routing["always"]}
                      ).status_code == 303
    after = yaml.safe_load(drafted(live, PLACES) or "")["routing"]
    assert after["urgent_needs"]["food"] == ["kinkyu"]
    assert after["urgent_needs"]["shelter"] == ["ichiji", "jukyo", "kinkyu"]
    assert after["life_areas"] == routing["life_areas"]
    assert admin.post("/console/admin/support/programmes/foodbank",
                      data={"csrf": csrf, "remove": "1"}).status_code == 303
    assert "foodbank" not in yaml.safe_load(drafted(live, PLACES) or "")["programmes"]

    added = admin.post("/console/admin/support/programmes",
                       data={"csrf": csrf, "name": "こども食堂", "kana": "こどもしょくどう"})
    assert added.status_code == 303
    assert yaml.safe_load(drafted(live, PLACES) or "")["programmes"]["kodomoshokudou"] == \
        "こども食堂"


def test_a_service_comes_with_its_consent_words_in_every_language(fresh_live: LiveApp) -> None:
    live = fresh_live
    admin = logged_in(live, "admin")
    csrf = csrf_of(admin, "/console/admin/")
    service = {"csrf": csrf, "kana": "こどもしょくどう", "name": "こども食堂みどり",
               "purposes": "食事をとれる場所を紹介する", "needs": "name"}
    refused = admin.post("/console/admin/support/destinations", data=service)
    assert refused.status_code == 422
    assert "訳を言語のファイルに足すまでは公開できません" in refused.text
    assert drafted(live, PLACES) is None
    codes = sorted(live.runtime.content.languages)
    translations = {f"tr-{code}-{key}": f"{key} in {code}" for code in codes
                    for key in ("name", "purpose-0")}
    saved = admin.post("/console/admin/support/destinations", data={**service, **translations})
    assert saved.status_code == 303
    destinations = yaml.safe_load(drafted(live, PLACES) or "")["referrals"]["destinations"]
    assert destinations[-1] == {"id": "kodomoshokudou", "name": "こども食堂みどり",
                                "purposes": ["食事をとれる場所を紹介する"], "needs": ["name"]}
    english = yaml.safe_load(drafted(live, "languages/en.yaml") or "")["texts"]
    assert english[-2:] == [{"ja": "こども食堂みどり", "text": "name in en"},
                            {"ja": "食事をとれる場所を紹介する", "text": "purpose-0 in en"}]
