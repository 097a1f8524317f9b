"""Referral links (相談経路): LINE's oaMessage URL, and the greeting it types in recognised
back even when the resident edits it; nothing in it identifies the resident."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import pytest

from bot.content.schema import Source
from bot.flows.referral_links import Recognised, link, prefilled_text, recognise
from bot.releases.load import load_content
from bot.settings import DEFAULT_CONTENT_DIR

SOURCES = [Source(id="tax", name="税務課"), Source(id="minsei", name="民生委員・児童委員"),
           Source(id="school", name="学校"), Source(id="hospital", name="病院・診療所")]
TAX = SOURCES[0]


def test_the_link_is_lines_send_a_message_url_with_the_greeting_encoded() -> None:
    url = link("@123abcde", TAX)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https", "line.me", "/R/oaMessage/%40123abcde/")
    assert unquote(parts.query) == prefilled_text(TAX) == "こんにちは。（税務課のご案内から）"
    # Nothing but the department: the same link for everyone it is handed to.
    assert link("@123abcde", TAX) == url and "tax" not in url


def test_every_shipped_source_is_recognised_from_its_own_greeting() -> None:
    sources = load_content(DEFAULT_CONTENT_DIR).places.referrals.sources
    assert sources
    for source in sources:
        assert recognise(prefilled_text(source), sources) == Recognised(source.id, "")


@pytest.mark.parametrize(("words", "expected"), [
    ("こんにちは。（税務課のご案内から）", Recognised("tax", "")),
    ("（税務課のご案内から）", Recognised("tax", "")),
    ("税務課のご案内から", Recognised("tax", "")),
    ("こんにちは。(税務課のご案内から)", Recognised("tax", "")),  # half-width brackets
    ("こんにちは　（税務課の案内から）", Recognised("tax", "")),
    ("こんにちは。（民生委員・児童委員のご案内から）", Recognised("minsei", "")),
    # What the resident adds is their own words; the greeting and the marker are not.
    ("こんにちは。（税務課のご案内から）家賃が払えません", Recognised("tax", "家賃が払えません")),
    ("家賃が払えません。税務課の案内から来ました", Recognised("tax", "家賃が払えません")),
    ("こんにちは。（学校のご案内から）\n子どもの給食費が払えない",
     Recognised("school", "子どもの給食費が払えない")),
])
def test_a_greeting_edited_a_little_is_still_recognised(words: str,
                                                        expected: Recognised) -> None:
    assert recognise(words, SOURCES) == expected


@pytest.mark.parametrize("words", [
    "こんにちは", "税務課から督促状が来ました", "学校のことで困っています", "案内がほしいです",
    "病院に行けません", "",
])
def test_ordinary_messages_name_no_source(words: str) -> None:
    assert recognise(words, SOURCES) is None
