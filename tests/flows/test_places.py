"""A prefecture's many towns in the intake: areas first when the towns do not fit in one quick
reply, a town's name typed (its reading, a typo, several alike asked which), towns served
elsewhere named with their own office, and a 町村's own first-contact office named first."""

from __future__ import annotations

from typing import Any

import pytest

from bot.content.schema import Places
from bot.flows.engine import FlowRunner
from bot.flows.render import CANDIDATES
from bot.flows.respond import context_for
from bot.flows.routing import option_counts, option_groups, option_sets, route, variables
from bot.flows.validate import check_flow
from bot.line import MAX_QUICK_REPLY_ITEMS
from bot.releases.load import Content

from .helpers import FIXED_NOW, URGENCY, Chat, Dialogue, labels, language_runner, texts_of

# ----------------------------------------------------------------- a prefecture of 40 towns

# (id, name, reading): fictional towns. 山田町 and 山田村 are both there, as in real prefectures.
STEMS = [
    ("sakuragi", "桜木", "さくらぎ"), ("matsukawa", "松川", "まつかわ"),
    ("takehara", "竹原", "たけはら"), ("umeda", "梅田", "うめだ"),
    ("takamori", "高森", "たかもり"), ("ogawa", "小川", "おがわ"),
    ("osawa", "大沢", "おおさわ"), ("nakayama", "中山", "なかやま"),
    ("kitano", "北野", "きたの"), ("minamihara", "南原", "みなみはら"),
    ("higashihama", "東浜", "ひがしはま"), ("nishitani", "西谷", "にしたに"),
    ("kawaguchi", "川口", "かわぐち"), ("yamada", "山田", "やまだ"),
    ("ishibashi", "石橋", "いしばし"), ("iwai", "岩井", "いわい"),
    ("morishita", "森下", "もりした"), ("izumi", "泉", "いずみ"),
    ("shiroishi", "白石", "しろいし"), ("kuroki", "黒木", "くろき"),
    ("akasaka", "赤坂", "あかさか"), ("kanayama", "金山", "かなやま"),
    ("hanaoka", "花岡", "はなおか"), ("tsurumi", "鶴見", "つるみ"),
    ("kameyama", "亀山", "かめやま"), ("takanosu", "鷹巣", "たかのす"),
    ("kumoi", "雲井", "くもい"), ("hoshino", "星野", "ほしの"),
    ("tsukioka", "月岡", "つきおか"), ("hino", "日野", "ひの"),
    ("kazama", "風間", "かざま"), ("yukigaya", "雪谷", "ゆきがや"),
    ("kirishima", "霧島", "きりしま"), ("miyada", "宮田", "みやだ"),
    ("nozawa", "野沢", "のざわ"), ("furukawa", "古川", "ふるかわ"),
    ("nitta", "新田", "にった"), ("sekido", "関戸", "せきど"),
    ("hatano", "秦野", "はたの"),
]
AREAS = [("north", "北部"), ("south", "南部"), ("east", "東部"), ("west", "西部"),
         ("centre", "中部")]
ENDINGS = [("町", "まち"), ("村", "むら"), ("町", "まち"), ("市", "し")]


def prefecture_towns() -> list[dict[str, Any]]:
    towns = []
    for i, (tid, stem, reading) in enumerate(STEMS):
        ending, read = ENDINGS[i % len(ENDINGS)] if tid != "yamada" else ("町", "まち")
        town: dict[str, Any] = {"id": tid, "name": stem + ending, "kana": reading + read,
                                "team": "pref", "area": AREAS[i // 8][0]}
        if ending != "市":  # a 町村: its own office first
            town["first_contact"] = f"{stem}{ending}役場 福祉係"
        towns.append(town)
    towns.append({"id": "yamada_mura", "name": "山田村", "kana": "やまだむら", "team": "pref",
                  "area": "centre", "first_contact": "山田村役場 住民課"})
    # A city in the prefecture with its own welfare office, not on this account.
    towns.append({"id": "minato", "name": "港市", "kana": "みなとし", "area": "east",
                  "office": "港市 福祉事務所 生活支援係", "tel": "0120-000-111"})
    return towns


@pytest.fixture(scope="module")
def prefecture(content: Content) -> Places:
    data = content.places.model_dump()
    data["municipalities"] = prefecture_towns()
    data["areas"] = [{"id": a, "name": n} for a, n in AREAS]
    return Places.model_validate(data)


@pytest.fixture(scope="module")
def big(content: Content, prefecture: Places) -> FlowRunner:
    return FlowRunner(content.flows["intake"].flow,
                      context_for(content.resources, prefecture, lambda: FIXED_NOW))


def at_municipality(runner: FlowRunner) -> Chat:
    return Chat(runner, Dialogue("municipality", dict(URGENCY)))


def test_the_prefecture_has_forty_towns_of_ours(prefecture: Places) -> None:
    assert len([m for m in prefecture.municipalities if m.team]) == 40
    assert {len(g) for g in option_groups(prefecture)["municipalities"].values()} == {8}


def test_the_intake_still_validates_with_forty_towns(content: Content,
                                                     prefecture: Places) -> None:
    from bot.flows.routing import COPY_VARIABLES
    flow = content.flows["intake"].flow
    assert check_flow(flow, file="intake.yaml", option_sets=option_counts(prefecture),
                      variables=COPY_VARIABLES) == []


def test_too_many_towns_are_offered_by_area_first(big: FlowRunner) -> None:
    chat = at_municipality(big)
    offered = big.question("municipality", chat.answers)[-1]["quickReply"]["items"]
    names = [i["action"]["label"] for i in offered]
    assert names[:7] == ["答えたくない", "この中にない", "北部", "南部", "東部", "西部", "中部"]
    assert "桜木町" not in names and len(names) <= MAX_QUICK_REPLY_ITEMS
    assert "人と話したい" in names and "緊急の連絡先" in names  # one tap away, as everywhere


def test_two_steps_area_then_town_then_its_own_office_first(big: FlowRunner) -> None:
    chat = at_municipality(big)
    chat.tap("中部")
    assert chat.state == "municipality_area" and chat.answers["area"] == "centre"
    offered = labels(chat.last)
    assert offered[:3] == ["答えたくない", "ほかの地域を選ぶ", "この中にない"]
    assert {"秦野町", "山田村", "野沢町"} <= set(offered) and "桜木町" not in offered
    assert len(offered) <= MAX_QUICK_REPLY_ITEMS
    chat.tap("山田村")
    assert chat.state == "centre" and chat.answers["municipality"] == "yamada_mura"
    said = "".join(texts_of(chat.last))
    # The town's own office first, then the prefecture's desk.
    assert said.index("山田村役場 住民課") < said.index("県社協 くらしサポート")
    assert "相談先は" not in said


def test_another_area_can_be_chosen_and_every_step_keeps_a_way_out(
        big: FlowRunner, prefecture: Places) -> None:
    chat = at_municipality(big)
    chat.tap("北部")
    chat.tap("ほかの地域を選ぶ")
    assert chat.state == "municipality"
    chat.tap("南部")
    chat.tap("答えたくない")
    assert chat.state == "centre" and chat.answers["municipality"] == "no_answer"
    assert route(prefecture, chat.answers).team.id == "pref"


@pytest.mark.parametrize(("typed", "town"), [
    ("さくらぎまち", "sakuragi"),  # the kana reading
    ("サクラギ", "sakuragi"),  # katakana, no ending
    ("桜木", "sakuragi"),  # without 町
    ("高盛町", "takamori"),  # a typo (the phone's wrong kanji)
    ("まつかわむら", "matsukawa"),
    ("ｷﾀﾉ", "kitano"),  # half width
])
def test_a_typed_town_is_chosen_from_the_first_question(big: FlowRunner, typed: str,
                                                       town: str) -> None:
    chat = at_municipality(big)
    chat.say(typed)
    assert chat.state == "centre" and chat.answers["municipality"] == town


def test_a_typed_town_in_an_area_is_chosen_too(big: FlowRunner) -> None:
    chat = at_municipality(big)
    chat.tap("東部")
    chat.say("いわいまち")
    assert chat.state == "centre" and chat.answers["municipality"] == "iwai"


def test_a_name_that_fits_two_towns_asks_which(big: FlowRunner) -> None:
    chat = at_municipality(big)
    chat.say("やまだ")
    assert chat.state == "municipality_which"
    assert chat.answers[CANDIDATES] == ["yamada", "yamada_mura"]
    offered = labels(chat.last)
    assert offered[:4] == ["この中にない", "答えたくない", "山田町", "山田村"]
    chat.tap("山田村")
    assert chat.state == "centre" and chat.answers["municipality"] == "yamada_mura"
    assert CANDIDATES not in chat.answers  # asked only while asking


def test_neither_of_the_two_is_never_a_dead_end(big: FlowRunner) -> None:
    chat = at_municipality(big)
    chat.say("やまだ")
    chat.tap("この中にない")
    assert chat.state == "municipality_name"
    chat.say("みなと")
    assert chat.state == "centre" and chat.answers["municipality"] == "minato"


def test_not_in_the_list_names_the_own_towns_office(big: FlowRunner,
                                                     prefecture: Places) -> None:
    chat = at_municipality(big)
    chat.tap("この中にない")
    assert chat.state == "municipality_name"
    assert "名前を、書いて送って" in texts_of(chat.last)[-1]
    assert "見つかりませんでした" not in "".join(texts_of(chat.last))
    chat.say("港市です")
    assert chat.state == "centre" and chat.answers["municipality"] == "minato"
    said = "".join(texts_of(chat.last))
    assert "港市の窓口は「港市 福祉事務所 生活支援係（電話 0120-000-111）」です" in said
    assert "「県社協 くらしサポート（町村の相談窓口）」の相談員" in said
    r = route(prefecture, chat.answers)
    assert r.team.id == prefecture.default_team and r.municipality == "minato"


def test_an_unknown_name_is_asked_once_more_then_taken_gently(big: FlowRunner) -> None:
    chat = at_municipality(big)
    chat.say("ぜんぜん知らないところ")
    assert chat.state == "municipality_name" and chat.answers["municipality"] == "not_found"
    assert "見つかりませんでした" in "".join(texts_of(chat.last))
    chat.say("どこだろう")
    assert chat.state == "centre" and chat.answers["municipality"] == "elsewhere"
    said = "".join(texts_of(chat.last))
    assert "相談先は「県社協 くらしサポート（町村の相談窓口）」になります。" in said
    assert "一覧になくても大丈夫です" in said
    # What was written is kept for the counsellor.
    assert chat.answers["_notes"] == ["ぜんぜん知らないところ", "どこだろう"]


def test_the_list_can_be_reached_again_from_the_name_question(big: FlowRunner) -> None:
    chat = at_municipality(big)
    chat.tap("この中にない")
    chat.tap("一覧から選ぶ")
    assert chat.state == "municipality" and "北部" in labels(chat.last)


def test_every_question_fits_one_quick_reply(big: FlowRunner) -> None:
    for area, _ in AREAS:
        answers = {**URGENCY, "area": area}
        assert len(big.quick_replies("municipality_area", answers)) <= MAX_QUICK_REPLY_ITEMS
    assert len(big.quick_replies("municipality", URGENCY)) <= MAX_QUICK_REPLY_ITEMS


def test_an_area_too_big_for_a_quick_reply_is_refused(content: Content,
                                                      prefecture: Places) -> None:
    from bot.flows.routing import COPY_VARIABLES
    data = prefecture.model_dump()
    for m in data["municipalities"][:12]:
        m["area"] = "north"
    places = Places.model_validate(data)
    found = check_flow(content.flows["intake"].flow, file="intake.yaml",
                       option_sets=option_counts(places), variables=COPY_VARIABLES)
    assert [p.state for p in found] == ["municipality_area"]
    assert "quick replies" in found[0].message


# ----------------------------------------------------------------- the demo content


def test_the_demo_towns_fit_one_quick_reply_without_areas(runner: FlowRunner) -> None:
    chat = at_municipality(runner)
    offered = labels(chat.last)
    assert {"みどり市", "かわべ市", "あおば町", "やまね町", "うみべ村"} <= set(offered)
    assert "東部" not in offered and "はなさき市" not in offered


def test_the_first_question_says_a_name_can_be_written(runner: FlowRunner) -> None:
    chat = Chat(runner, Dialogue("urgency", dict(URGENCY)))
    chat.tap("選び終わった")
    assert "市町村の名前を書いて送ってください" in "".join(texts_of(chat.last))


def test_a_town_names_its_own_office_first(runner: FlowRunner) -> None:
    chat = at_municipality(runner)
    chat.tap("あおば町")
    said = texts_of(chat.last)
    assert said[0] == ("まずは「あおば町役場 福祉係」が相談の窓口になります。"
                       "「県社協 くらしサポート（町村の相談窓口）」の相談員も、"
                       "いっしょにお手伝いします。")


def test_a_city_with_its_own_desk_is_told_as_before(runner: FlowRunner) -> None:
    chat = at_municipality(runner)
    chat.tap("かわべ市")
    assert texts_of(chat.last)[0] == "相談先は「かわべ市 よりそい相談窓口」になります。"


def test_another_desk_chosen_does_not_name_the_towns_office(runner: FlowRunner,
                                                            content: Content) -> None:
    answers = {**URGENCY, "municipality": "aoba", "centre": "midori"}
    assert variables(content.places, answers, FIXED_NOW)["first_contact"] == ""
    answers["centre"] = "own"
    assert variables(content.places, answers, FIXED_NOW)["first_contact"] == "あおば町役場 福祉係"


def test_a_demo_town_served_elsewhere_is_named_with_its_office(runner: FlowRunner,
                                                             content: Content) -> None:
    chat = at_municipality(runner)
    chat.tap("この中にない")
    chat.say("ハナサキ")
    assert chat.state == "centre" and chat.answers["municipality"] == "hanasaki"
    assert "はなさき市の窓口は「はなさき市 生活支援課」です。" in texts_of(chat.last)[0]
    assert route(content.places, chat.answers).team.id == "pref"


def test_a_typed_japanese_name_works_in_another_language(content: Content) -> None:
    en = language_runner(content, "en")
    chat = at_municipality(en)
    chat.say("あおば")
    assert chat.state == "centre" and chat.answers["municipality"] == "aoba"
    assert "Aoba Town Hall" in texts_of(chat.last)[0]


def test_option_sets_keep_towns_served_elsewhere_off_the_buttons(content: Content) -> None:
    sets = option_sets(content.places)
    assert "hanasaki" not in dict(sets["municipalities"])
    assert dict(sets["known_municipalities"])["hanasaki"] == "はなさき市"
    assert sets["areas"] == [("east", "東部"), ("west", "西部")]
    counts = option_counts(content.places)
    assert counts["municipalities"] == 5 and counts["known_municipalities"] == 6


def test_too_many_towns_without_areas_are_refused(content: Content, prefecture: Places) -> None:
    from bot.flows.routing import COPY_VARIABLES
    data = prefecture.model_dump()
    data["areas"] = []
    for m in data["municipalities"]:
        m["area"] = None
    places = Places.model_validate(data)  # the places alone are fine: the flow decides
    found = check_flow(content.flows["intake"].flow, file="intake.yaml",
                       option_sets=option_counts(places), variables=COPY_VARIABLES)
    assert [p.state for p in found] == ["municipality"]
    assert "give each an area" in found[0].message


@pytest.mark.parametrize(("code", "typed"), [("en", "Aoba"), ("pt_br", "aoba"),
                                             ("vi", "AOBA")])
def test_a_name_typed_in_latin_letters_matches_its_translated_label(content: Content, code: str,
                                                                    typed: str) -> None:
    chat = at_municipality(language_runner(content, code))
    chat.say(typed)
    assert chat.state == "centre" and chat.answers["municipality"] == "aoba"
