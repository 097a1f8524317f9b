"""What helps a counsellor answer in the resident's words: the canned replies (定型文) of their
team, in the resident's language (else やさしい日本語, else Japanese), with the variables filled
in; and, for a resident who reads Japanese as a second language, the やさしい日本語 check.
A canned reply only goes into the reply box, to be read and adapted: it is never sent on one
click (a helpline study found one-click macros hurt help-seekers' outcomes)."""

from __future__ import annotations

from typing import Any

from bot.content.languages import JAPANESE
from bot.flows.routing import hours_text
from bot.releases.load import Content
from handoff import easy_japanese

# Names for a language content has no file of (yet): a canned reply may be written before.
LANGUAGE_NAMES = {JAPANESE: "日本語", "ja_easy": "やさしい日本語", "en": "英語",
                  "vi": "ベトナム語", "zh_hans": "中国語（簡体字）", "pt_br": "ポルトガル語",
                  "tl": "タガログ語", "ne": "ネパール語", "id": "インドネシア語"}


def language_name(content: Content, code: str) -> str:
    """A language as counsellors call it: 英語, やさしい日本語."""
    pack = content.languages.get(code)
    return pack.name_ja if pack else LANGUAGE_NAMES.get(code, code)


def canned_replies(content: Content, *, reads: str | None, team_id: str, counsellor: str,
                   pseudonym: str) -> list[dict[str, str]]:
    """The replies this case's team may use, each in the variant the resident reads, filled:
    {name} the counsellor, {team} and {hours} the case's desk in the variant's language,
    {pseudonym} the case's."""
    found = []
    for reply in content.replies.replies:
        if reply.teams and team_id not in reply.teams:
            continue
        language, text = reply.text_for(reads or JAPANESE)
        local = content.for_language(language)
        team = next((t for t in local.places.teams if t.id == team_id), None)
        values = {"name": counsellor, "pseudonym": pseudonym,
                  "team": team.name if team else "",
                  "hours": hours_text(team.hours, local.tr) if team else ""}
        found.append({"id": reply.id, "title": reply.title, "language": language,
                      "language_name": language_name(content, language),
                      "text": text.format(**values)})
    return found


def reply_aids(content: Content, *, reads: str | None, team_id: str, counsellor: str,
               pseudonym: str) -> dict[str, Any]:
    code = reads or JAPANESE
    return {"canned": canned_replies(content, reads=code, team_id=team_id,
                                     counsellor=counsellor, pseudonym=pseudonym),
            "reply_language": language_name(content, code),
            "easy_rules": None if code == JAPANESE else easy_japanese.rules()}
