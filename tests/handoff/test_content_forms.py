"""Content in forms over HTTP: a card of the intake, the towns and teams, the emergency
numbers. Each saved edit changes only its own lines of the file (comments kept); an edit
that would leave a dead end or an unreachable question is refused in Japanese and not saved."""

from __future__ import annotations

import difflib
from html import unescape
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import select

from bot.db.models import ContentDraft, ContentRelease
from handoff.models import AuditEntry, Role
from tests.live import LiveApp, Staff, csrf_of, logged_in

FLOW = "flows/intake.yaml"


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("admin", "管理者", Role.ADMIN), Staff("sato", "佐藤", team_id="pref")]


def published(live: LiveApp, name: str) -> str:
    with live.session() as s:
        release = s.scalars(select(ContentRelease).order_by(ContentRelease.id.desc())).first()
        assert release is not None
        return str(release.files[name])


def drafted(live: LiveApp, name: str) -> str | None:
    with live.session() as s:
        draft = s.scalars(select(ContentDraft)).first()
        return None if draft is None else str(draft.files[name])


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    diff = list(difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0))
    return ([d[1:] for d in diff if d.startswith("-") and not d.startswith("---")],
            [d[1:] for d in diff if d.startswith("+") and not d.startswith("+++")])


def card_form(client: httpx.Client, state: str, **changes: str) -> dict[str, Any]:
    """The card's form as the page fills it, with `changes` over it."""
    page = client.get(f"/console/admin/flow/{state}")
    assert page.status_code == 200
    import re
    from html import unescape
    form: dict[str, Any] = {"csrf": csrf_of(client, "/console/admin/"), "op": "save"}
    for name, value in re.findall(r'<textarea name="([^"]+)"[^>]*>(.*?)</textarea>', page.text,
                                  re.S):
        form[name] = unescape(value)
    for name, value in re.findall(r'<input name="([^"]+)" id="[^"]+" value="([^"]*)"',
                                  page.text):
        form[name] = unescape(value)
    for name, body in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', page.text, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        form[name] = chosen.group(1) if chosen else ""
    form.update(changes)
    return form


def test_a_card_edit_changes_its_own_line_and_is_audited(fresh_live: LiveApp) -> None:
    live = fresh_live
    admin = logged_in(live, "admin")
    before = published(live, FLOW)
    cards = admin.get("/console/admin/flow/")
    assert cards.status_code == 200
    # In flow order: the welcome first, then what follows it.
    assert cards.text.index('id="card-welcome"') < cards.text.index('id="card-trouble"') \
        < cards.text.index('id="card-who"')

    form = card_form(admin, "trouble")
    assert form["ask-0-text"].startswith("どんなことでお困りですか")
    form["ask-0-text"] = "いま、いちばん気がかりなことを教えてください。"
    answer = admin.post("/console/admin/flow/trouble", data=form)
    assert answer.status_code == 303
    after = drafted(live, FLOW)
    assert after is not None
    assert changed_lines(before, after) == (
        ["        - text: どんなことでお困りですか。うまく言えなくても、ひとことでも大丈夫です。"],
        ["        - text: いま、いちばん気がかりなことを教えてください。"])
    with live.session() as s:
        assert s.scalars(select(AuditEntry.detail).where(
            AuditEntry.action == "content_edit")).all() == [f"{FLOW} (form)"]


def test_choices_are_added_reordered_and_a_dead_end_is_refused(fresh_live: LiveApp) -> None:
    live = fresh_live
    admin = logged_in(live, "admin")
    before = published(live, FLOW)

    # A new choice leading to an existing state: one line, with a value made from its reading.
    form = card_form(admin, "info", **{"choice-new-label": "はなしをきいてほしい",
                                       "choice-new-next": "trouble"})
    assert admin.post("/console/admin/flow/info", data=form).status_code == 303
    after = drafted(live, FLOW)
    assert after is not None
    assert changed_lines(before, after) == ([], [
        "        - {label: はなしをきいてほしい, value: hanashiwokiitehoshii, next: trouble}"])

    # Moving the first choice down swaps two lines and nothing else (in a diff, one line
    # moves past the other).
    form = card_form(admin, "info", op="down-0")
    assert admin.post("/console/admin/flow/info", data=form).status_code == 303
    moved = drafted(live, FLOW)
    assert moved is not None
    choices = yaml.safe_load(moved)["states"]["info"]["ask"]["choices"]
    assert [c["value"] for c in choices] == ["back", "start", "hanashiwokiitehoshii"]
    removed, added = changed_lines(after, moved)
    assert removed == added == ["        - {label: 最初の画面に戻る, value: back, next: welcome}"]

    # Removing every choice of `who` leaves a dead end: refused, in Japanese, nothing saved.
    form = card_form(admin, "who", **{f"choice-{i}-remove": "1" for i in range(5)})
    refused = admin.post("/console/admin/flow/who", data=form)
    assert refused.status_code == 422
    assert "行き止まり" in refused.text
    assert "開発者向けの説明" in refused.text and "no choices" in refused.text
    assert drafted(live, FLOW) == moved

    # 「同意しない」 sent on to the handoff: nothing would lead to `declined`.
    form = card_form(admin, "consent_counsel", **{"choice-1-next": "handoff"})
    refused = admin.post("/console/admin/flow/consent_counsel", data=form)
    assert refused.status_code == 422
    assert "どこからも進めなくなります" in refused.text
    assert '<a href="/console/admin/flow/declined">declined</a>' in refused.text
    assert drafted(live, FLOW) == moved

    # A label longer than LINE's 20 characters is shown at its row.
    form = card_form(admin, "who", **{"choice-0-label": "自分のこと" * 5})
    refused = admin.post("/console/admin/flow/who", data=form)
    assert refused.status_code == 422
    assert "LINEのボタンは20字までです" in refused.text
    assert 'id="choice-self" class="bad"' in refused.text
    assert drafted(live, FLOW) == moved


def test_a_town_with_a_new_team_and_its_hours(fresh_live: LiveApp) -> None:
    live = fresh_live
    admin = logged_in(live, "admin")
    before = published(live, "places.yaml")
    token = csrf_of(admin, "/console/admin/")
    town = {"csrf": token, "name": "さくら町", "kana": "さくらまち", "area": "east",
            "team": "__new__", "team_name": "さくら町 くらし相談", "team-day-mon": "1",
            "team-day-thu": "1", "team-open": "09:00", "team-close": "16:00"}
    # Without hours' days the team is refused, and the officer's words stay in the form.
    refused = admin.post("/console/admin/places/municipalities",
                         data={k: v for k, v in town.items() if not k.startswith("team-day")})
    assert refused.status_code == 422
    assert "ひとつ以上選んでください" in refused.text
    assert 'value="さくら町 くらし相談"' in refused.text
    assert drafted(live, "places.yaml") is None

    assert admin.post("/console/admin/places/municipalities", data=town).status_code == 303
    after = drafted(live, "places.yaml")
    assert after is not None
    removed, added = changed_lines(before, after)
    assert removed == []
    assert added == [
        "  - id: sakuramachi",
        "    name: さくら町 くらし相談",
        '    hours: {days: [mon, thu], open: "09:00", close: "16:00"}',
        "  - {id: sakuramachi, name: さくら町, kana: さくらまち, team: sakuramachi, area: east}"]
    assert [line for line in before.splitlines() if "#" in line] == \
        [line for line in after.splitlines() if "#" in line]

    # No agencies to list for a new team: no consent names them any more (each referral
    # asks for its own recipient), so the form does not ask an officer for them.
    assert 'id="team-share"' not in admin.get("/console/admin/places/").text

    # A team's hours edited in its row: one line changes.
    page = admin.get("/console/admin/places/").text
    assert "さくら町 くらし相談" in page
    answer = admin.post("/console/admin/places/teams/1", data={
        "csrf": token, "name": "かわべ市 よりそい相談窓口", "day-mon": "1", "day-tue": "1",
        "day-wed": "1", "open": "09:00", "close": "17:00"})
    assert answer.status_code == 303
    edited = drafted(live, "places.yaml")
    assert edited is not None
    assert changed_lines(after, edited) == (
        ['    hours: {days: [mon, tue, wed, thu, fri], open: "09:00", close: "17:00"}'],
        ['    hours: {days: [mon, tue, wed], open: "09:00", close: "17:00"}'])
    closed = admin.post("/console/admin/places/teams/1", data={
        "csrf": token, "name": "かわべ市 よりそい相談窓口", "day-mon": "1",
        "open": "17:00", "close": "09:00"})
    assert closed.status_code == 422 and "終わりの時刻は" in closed.text


def test_a_hotline_is_added_and_a_bad_number_refused(fresh_live: LiveApp) -> None:
    live = fresh_live
    admin = logged_in(live, "admin")
    before = published(live, "resources.yaml")
    token = csrf_of(admin, "/console/admin/")
    number = {"csrf": token, "label": "みどり市 夜間福祉ダイヤル", "tel": "0120-000-111",
              "hours": "毎日17時〜翌9時", "free": "true", "categories": ["no_food", "housing_loss"]}
    bad = admin.post("/console/admin/hotlines", data={**number, "tel": "よるの番号"})
    assert bad.status_code == 422 and "電話番号として読めません" in bad.text
    assert drafted(live, "resources.yaml") is None

    # Its name and hours are safety texts: without a translation in every language it is
    # refused (the form says so in Japanese) and nothing is saved.
    untranslated = admin.post("/console/admin/hotlines", data=number)
    assert untranslated.status_code == 422
    assert "訳を言語のファイルに足すまでは公開できません" in untranslated.text
    assert drafted(live, "resources.yaml") is None

    codes = sorted(live.runtime.content.languages)
    translations = {f"tr-{code}-{f}": f"{f} in {code}" for code in codes
                    for f in ("label", "hours")}
    assert admin.post("/console/admin/hotlines",
                      data={**number, **translations}).status_code == 303
    after = drafted(live, "resources.yaml")
    assert after is not None
    english = drafted(live, "languages/en.yaml")
    assert english is not None
    assert changed_lines(published(live, "languages/en.yaml"), english) == ([], [
        "- ja: みどり市 夜間福祉ダイヤル", "  text: label in en",
        "- ja: 毎日17時〜翌9時", "  text: hours in en"])
    removed, added = changed_lines(before, after)
    assert removed == []
    assert added == ["  - id: midori_daiyaru", "    label: みどり市 夜間福祉ダイヤル",
                     '    tel: "0120-000-111"', "    hours: 毎日17時〜翌9時", "    free: true",
                     "    categories: [no_food, housing_loss]"]
    assert "みどり市 夜間福祉ダイヤル" in admin.get("/console/admin/hotlines/").text


def test_counsellors_reach_no_form(fresh_live: LiveApp) -> None:
    sato = logged_in(fresh_live, "sato")
    for path in ("/console/admin/flow/", "/console/admin/flow/welcome",
                 "/console/admin/places/", "/console/admin/hotlines/"):
        assert sato.get(path).status_code == 403


def test_a_flow_broken_by_hand_is_explained_instead_of_carded(fresh_live: LiveApp) -> None:
    admin = logged_in(fresh_live, "admin")
    broken = published(fresh_live, FLOW).replace("states:\n", "states: [\n", 1)
    assert admin.post(f"/console/admin/files/{FLOW}", data={
        "text": broken, "csrf": csrf_of(admin, "/console/admin/")}).status_code == 303
    for path in ("/console/admin/flow/", "/console/admin/flow/welcome"):
        answer = admin.get(path)
        assert answer.status_code == 409
        assert "カードとして読めない形になっています" in answer.text
        assert f'href="/console/admin/files/{FLOW}"' in answer.text


def test_follow_ups_wait_words_and_quiet_hours(fresh_live: LiveApp) -> None:
    live = fresh_live
    admin = logged_in(live, "admin")
    before = published(live, "followups.yaml")
    page = admin.get("/console/admin/followups/").text
    assert "受付の途中で止まった人へ" in page
    token = csrf_of(admin, "/console/admin/")
    bad = admin.post("/console/admin/followups", data={
        "csrf": token, "quiet-start": "21:00", "quiet-end": "08:00", "intake_stalled-hours": "0"})
    assert bad.status_code == 422 and "0より大きい数" in bad.text
    assert drafted(live, "followups.yaml") is None
    answer = admin.post("/console/admin/followups", data={
        "csrf": token, "quiet-start": "21:00", "quiet-end": "07:30", "intake_stalled-hours": "48",
        "not_picked_up-text": "お待たせしています。あなたのご相談は、ちゃんと届いています。"})
    assert answer.status_code == 303
    after = drafted(live, "followups.yaml")
    assert after is not None
    removed, added = changed_lines(before, after)
    # The text stays a literal block (`text: |-` unchanged): its two lines become one.
    assert added == ['quiet_hours: {start: "21:00", end: "07:30"}',
                     "    after_hours: 48",
                     "      お待たせしています。あなたのご相談は、ちゃんと届いています。"]
    assert removed == ['quiet_hours: {start: "21:00", end: "08:00"}',
                       "    after_hours: 24",
                       "      お待たせしていて、ごめんなさい。"
                       "あなたのご相談は、ちゃんと届いています。",
                       "      相談員から順番にお返事します。急ぐときは「緊急」と送ると、"
                       "電話番号をお知らせします。"]
    assert [line for line in before.splitlines() if "#" in line] == \
        [line for line in after.splitlines() if "#" in line]


def test_a_question_is_added_with_its_way_in_and_removed_once_nothing_leads_there(
        fresh_live: LiveApp) -> None:
    live = fresh_live
    admin = logged_in(live, "admin")
    token = csrf_of(admin, "/console/admin/")
    question = {"csrf": token, "question": "ほかにも気になることはありますか。",
                "from_state": "info", "entry_label": "ほかのこと"}
    # Without a choice the new question would be a dead end: refused, the words kept.
    dead = admin.post("/console/admin/flow", data=question)
    assert dead.status_code == 422 and "行き止まり" in dead.text
    assert "ほかにも気になることはありますか。</textarea>" in dead.text
    assert drafted(live, FLOW) is None

    added = admin.post("/console/admin/flow", data={
        **question, "new-0-label": "はい", "new-0-next": "trouble",
        "new-1-label": "いいえ", "new-1-next": "welcome"})
    assert added.status_code == 303
    name = added.headers["location"].split("/")[-1].split("?")[0]
    flow = yaml.safe_load(drafted(live, FLOW) or "")
    assert flow["states"][name]["ask"] == {
        "text": [{"text": "ほかにも気になることはありますか。"}],
        "choices": [{"label": "はい", "value": "hai", "next": "trouble"},
                    {"label": "いいえ", "value": "iie", "next": "welcome"}]}
    assert flow["states"]["info"]["ask"]["choices"][-1] == {
        "label": "ほかのこと", "value": "hokanokoto", "next": name}

    # Removing it takes the choice that leads there with it: the flow is as it was.
    assert "info の「ほかのこと」" in admin.get(f"/console/admin/flow/{name}").text
    removed = admin.post(f"/console/admin/flow/{name}/remove", data={"csrf": token})
    assert removed.status_code == 303
    after = drafted(live, FLOW)
    assert after == published(live, FLOW)

    # Where more than a choice leads (`areas` is the `next` of the question `who`): refused,
    # and the card says why.
    page = admin.post("/console/admin/flow/areas/remove", data={"csrf": token},
                      follow_redirects=True)
    assert "消せません" in page.text
    assert drafted(live, FLOW) == after


def test_a_renamed_number_and_self_help_come_with_their_translations(fresh_live: LiveApp) -> None:
    live = fresh_live
    admin = logged_in(live, "admin")
    token = csrf_of(admin, "/console/admin/")
    codes = sorted(live.runtime.content.languages)
    page = admin.get("/console/admin/hotlines/")
    # Each number shows its words' translations as a hint (never sent as they are: a changed
    # Japanese needs its own).
    english = yaml.safe_load(published(live, "languages/en.yaml"))["texts"]
    police_en = next(t["text"] for t in english if t["ja"] == "警察")
    assert f'placeholder="{police_en}"' in unescape(page.text)
    resources = yaml.safe_load(published(live, "resources.yaml"))
    police = next(i for i, h in enumerate(resources["hotlines"]) if h["id"] == "police")
    row = {"csrf": token, **{k: v for k, v in resources["hotlines"][police].items()
                             if k in ("label", "tel", "hours", "note")},
           "categories": resources["hotlines"][police]["categories"], "general": "1"}
    renamed = {**row, "label": "警察（事件・事故・暴力）"}
    refused = admin.post(f"/console/admin/hotlines/{police}", data=renamed)
    assert refused.status_code == 422
    assert "訳を言語のファイルに足すまでは公開できません" in refused.text
    saved = admin.post(f"/console/admin/hotlines/{police}", data={
        **renamed, **{f"tr-{code}-label": f"police in {code}" for code in codes}})
    assert saved.status_code == 303, unescape(saved.text)[:2000]
    after = yaml.safe_load(drafted(live, "resources.yaml") or "")
    assert after["hotlines"][police]["label"] == "警察（事件・事故・暴力）"

    # Help to use alone: added with its translations, refused with a bad page, removed.
    help_ = {"csrf": token, "which": "help", "label": "フードバンクみどり",
             "text": "食べものを無料で受け取れます。", "url": "https://example.org/food"}
    saved = admin.post("/console/admin/self-help", data={
        **help_, **{f"tr-{code}-{f}": f"{f} in {code}" for code in codes
                    for f in ("label", "text")}})
    assert saved.status_code == 303
    assert saved.headers["location"] == "/console/admin/hotlines/?saved=1#self-help"
    helps = yaml.safe_load(drafted(live, "resources.yaml") or "")["self_help"]
    assert helps[-1] == {"label": "フードバンクみどり", "text": "食べものを無料で受け取れます。",
                         "url": "https://example.org/food"}
    english = yaml.safe_load(drafted(live, "languages/en.yaml") or "")["texts"]
    assert english[-2:] == [{"ja": "フードバンクみどり", "text": "label in en"},
                            {"ja": "食べものを無料で受け取れます。", "text": "text in en"}]
    index = len(helps) - 1
    bad = admin.post(f"/console/admin/self-help/{index}",
                     data={**help_, "url": "http://example.org/food"})
    assert bad.status_code == 422  # a page residents open is https only
    assert "https:// で始まるものだけが使えます" in bad.text
    removed = admin.post(f"/console/admin/self-help/{index}",
                         data={**help_, "remove": "1"})
    assert removed.status_code == 303
    assert len(yaml.safe_load(drafted(live, "resources.yaml") or "")["self_help"]) == index


def test_a_multi_selects_done_button_is_edited_on_its_card(fresh_live: LiveApp) -> None:
    live = fresh_live
    admin = logged_in(live, "admin")
    form = card_form(admin, "areas")
    assert form["done-label"] == "選び終わった" and form["done-next"] == "urgency"
    too_long = "ぜんぶ選んだので、つぎの質問へ進みます。おねがいします"
    refused = admin.post("/console/admin/flow/areas", data={**form, "done-label": too_long})
    assert refused.status_code == 422
    assert f"ボタンの文字「{too_long}」が長すぎます" in refused.text
    assert admin.post("/console/admin/flow/areas",
                      data={**form, "done-label": "これで全部"}).status_code == 303
    flow = yaml.safe_load(drafted(live, FLOW) or "")
    assert flow["states"]["areas"]["ask"]["done"]["label"] == "これで全部"


def test_a_team_closes_for_the_new_year_and_opens_on_holidays(fresh_live: LiveApp) -> None:
    live = fresh_live
    admin = logged_in(live, "admin")
    token = csrf_of(admin, "/console/admin/")
    places = yaml.safe_load(published(live, "places.yaml"))
    team = places["teams"][0]
    row = {"csrf": token, "name": team["name"], "open": team["hours"]["open"],
           "close": team["hours"]["close"], **{f"day-{d}": "1" for d in team["hours"]["days"]},
           "holidays-shown": "1"}
    saved = admin.post("/console/admin/places/teams/0", data={
        **row, "open_on_holidays": "1", "closure-new-from": "2026-12-29",
        "closure-new-to": "2027-01-03", "closure-new-note": "年末年始"})
    assert saved.status_code == 303
    after = yaml.safe_load(drafted(live, "places.yaml") or "")["teams"][0]
    assert after["open_on_holidays"] is True
    assert [{k: str(v) for k, v in c.items()} for c in after["closures"]] == [
        {"from": "2026-12-29", "to": "2027-01-03", "note": "年末年始"}]
    # Backwards: refused in Japanese, nothing saved.
    refused = admin.post("/console/admin/places/teams/0", data={
        **row, "closure-0-from": "2026-12-29", "closure-0-to": "2027-01-03",
        "closure-new-from": "2027-05-06", "closure-new-to": "2027-05-03"})
    assert refused.status_code == 422
    assert "休みの終わりの日は、始まりの日より後にしてください" in refused.text
    # Removed again, and holidays closed: the team is as published.
    assert admin.post("/console/admin/places/teams/0", data={
        **row, "closure-0-from": "2026-12-29", "closure-0-to": "2027-01-03",
        "closure-0-remove": "1"}).status_code == 303
    assert drafted(live, "places.yaml") == published(live, "places.yaml")
