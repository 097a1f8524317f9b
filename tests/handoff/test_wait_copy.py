"""What a waiting resident reads, on its own (handoff/wait_copy.py is pure): the place and the
range in hours, and the safety net's offers in their order otherwise."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.content.schema import Contact, Team
from bot.releases.load import Content, load_content
from bot.settings import DEFAULT_CONTENT_DIR
from handoff.estimate import QueueView, estimate
from handoff.wait_copy import Situation, wait_messages
from tests.flows.helpers import tel_links

TOKYO = ZoneInfo("Asia/Tokyo")
TUESDAY_MORNING = datetime(2026, 12, 1, 10, 0, tzinfo=TOKYO)
FRIDAY_NIGHT = datetime(2026, 12, 4, 22, 0, tzinfo=TOKYO)


@pytest.fixture(scope="module")
def content() -> Content:
    return load_content(DEFAULT_CONTENT_DIR)


def night_team(content: Content) -> Team:
    """みどり市's desk with a night and holiday welfare line of its own."""
    team = content.places.team("midori")
    night = Contact(label="みどり市 夜間休日福祉ダイヤル", tel="0120-000-111", hours="夜間・休日")
    return team.model_copy(update={"after_hours": team.after_hours.model_copy(
        update={"contacts": [night, *team.after_hours.contacts]})})


def told(content: Content, *, ahead: int, available: int = 1, open_now: bool = True,
         needs: tuple[str, ...] = (), callback_asked: bool = False, team: Team | None = None,
         now: datetime = TUESDAY_MORNING, **options: Any) -> list[dict[str, Any]]:
    rules = content.places.desk.waiting
    view = QueueView(place=ahead + 1, ahead=ahead, available=available, pickups=0,
                     pace_window=timedelta(minutes=rules.pace_window_minutes),
                     open_now=open_now)
    situation = Situation(view=view, found=estimate(view, rules), callback_asked=callback_asked,
                          urgent_needs=needs)
    return wait_messages(situation, team=team or content.places.team("midori"), now=now,
                         messages=content.messages, resources=content.resources, rules=rules,
                         **options)


def kinds(messages: list[dict[str, Any]]) -> list[str]:
    return [m["type"] for m in messages]


def test_in_hours_one_bubble_tells_the_place_and_an_honest_range(content: Content) -> None:
    [bubble] = told(content, ahead=2)  # one counsellor, 20 minutes a case: about an hour
    assert bubble["text"].splitlines() == [
        "あなたの前に、2人の方がお待ちです。",
        "お返事まで、およそ45〜90分の見込みです。目安なので、急ぎのご相談が先になるなどして、"
        "前後することがあります。",
        "待っているあいだも、伝えたいことがあれば、このトークに送ってください。相談員にそのまま届きます。",
    ]


def test_first_in_line_hears_they_are_next(content: Content) -> None:
    [bubble] = told(content, ahead=0, available=3)
    assert bubble["text"].startswith("次に、あなたのご相談をお読みします。\n"
                                     "お返事まで、長くてもおよそ15分の見込みです。")


def test_an_update_says_so_first(content: Content) -> None:
    [bubble] = told(content, ahead=1, update=True)
    assert bubble["text"].startswith("順番のお知らせです。\nあなたの前に、1人の方がお待ちです。")


def net_in_order(messages: list[dict[str, Any]]) -> None:
    """when (text) · call-back (buttons) · numbers (Flex) · self-help (text) · keep writing."""
    assert kinds(messages) == ["text", "template", "flex", "text", "text"]
    offer = messages[1]["template"]
    assert offer["actions"][0]["data"] == "g=callback"
    assert offer["actions"][0]["label"] == "折り返しの電話を頼む"
    assert messages[3]["text"].startswith("待つあいだに、ひとりで見られる情報です。")
    assert "https://www.mhlw.go.jp/mamorouyokokoro/" in messages[3]["text"]
    assert messages[4]["text"] == "このトークには、いつでも書いてください。相談員が読みます。"


def test_friday_night_without_a_bed_gets_tonights_answer_and_the_night_line_first(
        content: Content) -> None:
    messages = told(content, ahead=4, open_now=False, needs=("shelter",),
                    team=night_team(content), now=FRIDAY_NIGHT)
    net_in_order(messages)
    first = messages[0]["text"]
    assert first.startswith("いまは相談員がいない時間です。12月7日（月）8:30以降に、"
                            "順番にお返事します。\nあなたの前に、4人の方がお待ちです。")
    assert "【今夜寝る場所がないとき】" in first and "交番や警察署" in first
    assert "【今日の食事がないとき】" not in first  # only what they answered
    numbers = tel_links(messages)
    assert numbers[:2] == ["tel:0120000111", "tel:0120279338"]  # the desk's own lines first
    assert numbers[2:4] == ["tel:119", "tel:110"]  # then the general hotlines
    assert numbers.count("tel:0120279338") == 1  # a number offered twice is shown once


def test_no_food_gets_the_food_route(content: Content) -> None:
    first = told(content, ahead=0, open_now=False, needs=("food", "shelter"),
                 now=FRIDAY_NIGHT)[0]["text"]
    assert first.index("【今日の食事がないとき】") < first.index("【今夜寝る場所がないとき】")
    assert "フードバンク" in first


def test_a_long_wait_offers_the_net_with_the_long_range(content: Content) -> None:
    messages = told(content, ahead=8, available=1)  # nine cases of 20 minutes: three hours
    net_in_order(messages)
    assert messages[0]["text"].splitlines()[:2] == [
        "あなたの前に、8人の方がお待ちです。",
        "お待たせしていて、ごめんなさい。いまは混み合っていて、お返事まで、およそ135〜250分かかりそうです。"]


def test_nobody_on_duty_says_so_rather_than_guess(content: Content) -> None:
    messages = told(content, ahead=1, available=0)
    net_in_order(messages)
    assert "相談員が戻りしだい、順番にお返事します" in messages[0]["text"]
    assert "分の見込み" not in messages[0]["text"]


def test_a_call_back_already_asked_for_is_not_offered_again(content: Content) -> None:
    messages = told(content, ahead=1, open_now=False, callback_asked=True, now=FRIDAY_NIGHT)
    assert kinds(messages) == ["text", "flex", "text", "text"]
    assert "折り返しのお電話のご希望は、相談員に伝わっています。" in messages[0]["text"]


def test_an_update_after_the_net_does_not_repeat_the_offers(content: Content) -> None:
    messages = told(content, ahead=8, update=True, offers=False)
    assert kinds(messages) == ["text", "text"]
    assert messages[0]["text"].startswith("順番のお知らせです。")
