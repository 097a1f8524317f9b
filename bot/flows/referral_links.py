"""Referral links (相談経路): a department's link to the LINE account that says which department
sent the resident, never who they are. Pure: no I/O.

LINE's follow event carries no parameter, so the link is LINE's documented "send a text
message" URL scheme, `https://line.me/R/oaMessage/{LINE ID}/?{percent-encoded text}`: it opens
the account's chat with a short greeting already typed, which names the department
（「こんにちは。（税務課のご案内から）」）. The resident sends it (or edits it first); the
conversation recognises the department's name followed by 「のご案内」 anywhere in a message,
so a greeting shortened, moved or written around still counts, and the words left once the
marker and the greeting are taken out are what the flow reads (nothing left: a greeting, like
adding the account as a friend).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from bot.content.schema import Source

LINE_URL_SCHEME = "https://line.me/R/"
LINE_OA_MESSAGE = f"{LINE_URL_SCHEME}oaMessage"
GREETING = "こんにちは。"
# The marker as the resident meets it, and as it is read back: the name, then 「のご案内」
# (「の案内」 too), then what may follow it; the brackets and the greeting are optional.
_AFTER_NAME = (r"\s*の\s*ご?案内\s*(?:(?:から|で|を見て)(?:来ました|きました|連絡しました)?|より)?")
_OPEN, _CLOSE = r"[(（【「\[]?\s*", r"\s*[)）】」\]]?"
_GREETING = re.compile(r"^\s*(?:こんにちは|こんにちわ|こんばんは|おはようございます)[。、.,!！\s]*")
_LEFTOVER = " \t\r\n\u3000。、.,!！?？・"


def prefilled_text(source: Source) -> str:
    """What the chat opens with: a greeting that names the department, never the person."""
    return f"{GREETING}（{source.name}のご案内から）"


def link(line_id: str, source: Source) -> str:
    """LINE's URL that opens the account's chat with the source's greeting typed in. The ID
    (a basic ID like @123abcde) and the text are percent-encoded, as LINE documents."""
    return f"{LINE_OA_MESSAGE}/{quote(line_id, safe='')}/?{quote(prefilled_text(source), safe='')}"


@dataclass(frozen=True)
class Recognised:
    source: str  # the source's id
    rest: str  # the message without the marker and the greeting ("" when nothing else)


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(_OPEN + re.escape(name) + _AFTER_NAME + _CLOSE)


def recognise(text: str, sources: Sequence[Source]) -> Recognised | None:
    """The source a message names as having sent the resident, and what else it says. The
    longest matching name wins (「民生委員・児童委員」 before a shorter name inside it)."""
    if "案内" not in text and "案内" not in unicodedata.normalize("NFKC", text):
        return None  # most messages: no marker, nothing more to read
    for candidate in (text, unicodedata.normalize("NFKC", text)):
        for source in sorted(sources, key=lambda s: len(s.name), reverse=True):
            for name in dict.fromkeys((source.name, unicodedata.normalize("NFKC", source.name))):
                found = _pattern(name).search(candidate)
                if found is not None:
                    rest = candidate[:found.start()] + " " + candidate[found.end():]
                    rest = _GREETING.sub("", rest.strip(_LEFTOVER)).strip(_LEFTOVER)
                    return Recognised(source.id, rest)
    return None
