"""Residents in their own language, through the webhook and the LINE emulator: the choice from
any state, a whole intake with consent and handoff in やさしい日本語, English and Portuguese, the
offer for a first message plainly in another language, and danger in English, Vietnamese,
Tagalog and Nepali answered at once in that language."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select

from bot.content.languages import Translator
from bot.db.engine import transaction
from bot.db.models import Conversation, RichMenuLink, utcnow
from bot.edge import richmenu_links
from bot.edge.line_client import RichMenuClient
from bot.platform import richmenu
from bot.releases.load import load_content
from handoff.models import Case
from handoff.retention import erase
from tests.live import LiveApp, Resident, texts, wait_for

CONTENT = load_content(Path(__file__).resolve().parents[2] / "content")
FLOW = CONTENT.flows["intake"].flow


def tr(code: str) -> Translator:
    return Translator(CONTENT.languages[code])


def said(flow_text: str, code: str) -> str:
    """What the resident reads for this Japanese text, in their language."""
    return tr(code)(flow_text)


def tap_value(r: Resident, value: str) -> list[dict[str, Any]]:
    """Tap the button whose postback carries this choice value (or global, `g=...`)."""
    for m in reversed(r.bot_messages()[-6:]):
        for item in (m.get("quickReply") or {}).get("items", []):
            action = item["action"]
            fields = {k: v[0] for k, v in parse_qs(action.get("data", "")).items()}
            if fields.get("v") == value or f"g={fields.get('g')}" == value:
                return r.say_event(r.postback(action["data"]))
    raise AssertionError(f"no button for {value!r} in {r.bot_messages()[-2:]}")


def state_of(live: LiveApp, r: Resident) -> Conversation:
    with live.session() as s:
        return s.scalars(select(Conversation).where(
            Conversation.line_user_id == r.user_id)).one()


def bubble(state: str, index: int = 0) -> str:
    return FLOW.states[state].say[index].text


def question(state: str) -> str:
    ask = FLOW.states[state].ask
    assert ask is not None
    return ask.text[-1].text


@pytest.mark.parametrize("code", ["ja_easy", "en", "pt_br"])
def test_a_whole_intake_in_the_residents_language(live: LiveApp, code: str) -> None:
    r = Resident(live)
    r.send(r.follow())
    r.wait_messages(4)
    chosen = tap_value(r, "language")
    assert question("language") in texts(chosen)
    welcome = tap_value(r, code)
    assert said(CONTENT.messages.language_chosen[0], code) in texts(welcome)
    assert said(question("welcome"), code) in texts(welcome)  # shown again, in it
    assert state_of(live, r).language == code

    assert said(question("trouble"), code) in texts(tap_value(r, "start"))
    assert said(question("who"), code) in texts(r.say("家賃のことで困っています"))
    tap_value(r, "self")
    tap_value(r, "housing")
    tap_value(r, "done")  # areas
    tap_value(r, "none")  # urgency
    tap_value(r, "midori")
    tap_value(r, "keep")
    tap_value(r, "no_answer")  # age
    tap_value(r, "line")
    consent = tap_value(r, "any")
    assert said(bubble("consent_counsel"), code) in texts(consent)
    assert said(bubble("consent_counsel", 1), code) in texts(consent)  # sharing: each time
    handed = tap_value(r, "agree")
    words = texts(handed)
    assert said(bubble("handoff"), code).split("{")[0] in words
    with live.session() as s:
        case = s.scalars(select(Case).join(Conversation, Conversation.id == Case.conversation_id)
                         .where(Conversation.line_user_id == r.user_id)).one()
        assert case.consent["counsellor"]["granted"] and case.life_areas == ["housing"]
    # The wait is told in the language too, whoever's desk it is.
    assert said(CONTENT.messages.wait_keep_writing, code) in words or \
        said(CONTENT.messages.net_keep_writing, code) in words


@pytest.mark.parametrize("state", ["areas", "consent_counsel", "handoff"])
def test_the_language_can_be_changed_from_any_state(live: LiveApp, state: str) -> None:
    r = Resident(live)
    r.send(r.follow())
    r.wait_messages(4)
    if state == "areas":
        tap_value(r, "start")
        r.say("仕事がなくなりました")
        tap_value(r, "self")
    else:
        r.say("人と話したい")
        if state == "handoff":
            tap_value(r, "agree")
    at = state_of(live, r).state
    r.say("Language")
    back = tap_value(r, "en")
    assert state_of(live, r).state == at
    assert state_of(live, r).language == "en"
    assert said(CONTENT.messages.language_chosen[0], "en") in texts(back)
    # And back to standard Japanese the same way.
    r.say("Language")
    tap_value(r, "ja")
    assert state_of(live, r).language is None


def test_a_first_message_in_english_is_offered_english(live: LiveApp) -> None:
    r = Resident(live)
    offer = r.say("Hello, I lost my job and I need help with my rent")
    pack = CONTENT.languages["en"]
    assert texts(offer) == pack.offer
    assert [i["action"]["label"] for i in offer[-1]["quickReply"]["items"]][:2] == \
        [pack.offer_yes, pack.offer_no]
    welcome = r.tap(str(pack.offer_yes))
    assert said(question("welcome"), "en") in texts(welcome)
    conversation = state_of(live, r)
    assert conversation.language == "en"
    assert "Hello, I lost my job" in " ".join(conversation.answers.get("_notes", []))


def test_a_first_message_in_japanese_is_offered_nothing(live: LiveApp) -> None:
    r = Resident(live)
    answer = r.say("仕事をなくして、家賃が払えません")
    assert CONTENT.languages["en"].offer not in texts(answer)
    assert state_of(live, r).language is None


@pytest.mark.parametrize(("code", "words"), [
    ("en", "I am going to kill myself tonight"),
    ("vi", "Tôi sẽ tự tử tối nay, tôi đã chuẩn bị thuốc rồi"),
    ("tl", "Papatayin ko na ang sarili ko ngayong gabi, handa na ang mga gamot"),
    ("ne", "म आज राति आत्महत्या गर्छु, औषधि तयार छ"),
])
def test_danger_in_another_language_interrupts_in_it(live: LiveApp, code: str,
                                                     words: str) -> None:
    r = Resident(live)
    answer = r.say(words)
    conversation = state_of(live, r)
    assert conversation.state == "emergency" and conversation.risk_level == "imminent"
    assert conversation.language == code
    links = [a["uri"] for m in answer if m["type"] == "flex"
             for a in _actions(m["contents"])]
    assert "tel:119" in links or "tel:110" in links
    assert said(bubble("emergency"), code) in texts(answer) or any(
        said(b, code) in texts(answer) for bs in CONTENT.messages.risk_imminent_by_danger.values()
        for b in bs)
    wait_for(lambda: state_of(live, r).risk_level == "imminent")


def _actions(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        found = [node["action"]] if isinstance(node.get("action"), dict) and \
            node["action"].get("type") == "uri" else []
        return found + [a for v in node.values() for a in _actions(v)]
    if isinstance(node, list):
        return [a for v in node for a in _actions(v)]
    return []


# ---------------------------------------------------------------------- the rich menu


def publish_menus(live: LiveApp) -> dict[str | None, str]:
    """`tsunagu line richmenu` as an operator runs it: the default and one per language."""
    try:
        fonts = richmenu.find_fonts()
    except richmenu.NoFont:
        if os.environ.get("CI"):
            pytest.fail("a Japanese font is required in CI (.ci/run installs fonts-noto-cjk)")
        pytest.skip("no Japanese font on this machine (apt-get install fonts-noto-cjk)")
    menus, _ = richmenu.drawn(live.runtime.content, fonts)
    client = RichMenuClient(base_url=live.settings.line_api_base_url,
                            data_base_url=live.settings.line_data_api_base_url,
                            access_token=live.settings.access_token, timeout_seconds=10)
    try:
        return richmenu.publish_all(client, menus)
    finally:
        client.close()


def shown_menu(live: LiveApp, r: Resident) -> str | None:
    menu = live.emulator.menu_for(r.user_id)
    return menu.id if menu is not None else None


def test_the_rich_menu_is_in_the_language_the_resident_chose(live: LiveApp) -> None:
    made = publish_menus(live)
    r = Resident(live)
    r.send(r.follow())
    r.wait_messages(4)
    assert shown_menu(live, r) == made[None]  # everyone starts on the default

    tap_value(r, "language")
    tap_value(r, "en")
    wait_for(lambda: shown_menu(live, r) == made["en"])

    def recorded() -> RichMenuLink | None:  # settled once LINE has answered the link
        with live.session() as s:
            link = s.get(RichMenuLink, r.user_id)
            return link if link is not None and not link.due else None

    assert wait_for(recorded).language == "en"

    tap_value(r, "language")
    tap_value(r, "ja")  # standard Japanese: back to the default
    wait_for(lambda: live.emulator.linked_menu(r.user_id) is None)
    assert shown_menu(live, r) == made[None]


def test_new_menus_are_linked_again_and_erasure_keeps_no_link(live: LiveApp) -> None:
    publish_menus(live)
    r = Resident(live)
    r.send(r.follow())
    r.wait_messages(4)
    tap_value(r, "language")
    tap_value(r, "vi")
    wait_for(lambda: live.emulator.linked_menu(r.user_id) is not None)

    # The operator draws the menus again (new words): LINE drops the links with the old
    # menus; the command asks for them again and the sender links the new Vietnamese menu.
    made = publish_menus(live)
    assert live.emulator.linked_menu(r.user_id) is None
    with transaction(live.runtime.sessions) as s:
        assert richmenu_links.relink_all(s) >= 1
    live.runtime.outbox_wakeup.set()
    wait_for(lambda: shown_menu(live, r) == made["vi"])

    with transaction(live.runtime.sessions) as s:
        conversation = s.scalars(select(Conversation).where(
            Conversation.line_user_id == r.user_id)).one()
        erase(session=s, conversation=conversation, now=utcnow())
    with live.session() as s:
        assert s.get(RichMenuLink, r.user_id) is None
