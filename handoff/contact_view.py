"""What a counsellor needs to know of the resident's language and contact rules, in words,
and why a message to them waits (the outbox holds it by those rules). Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.edge import contact_rules as cr

WINDOW_WORDS = {"day": "毎日 9時〜17時", "weekday_day": "平日 9時〜17時",
                "evening": "毎日 18時〜22時"}


def rules_words(stored: dict[str, Any] | None) -> list[str]:
    """「通知の音なし」「届いてよい時間：毎日 9時〜17時」…; empty without rules."""
    rules = cr.ContactRules.of(stored)
    words = []
    if rules.hold:
        words.append("「けす」を使いました：本人がまた書くまで、何も送りません")
    if rules.silent:
        words.append("通知の音なし")
    if rules.neutral:
        words.append("通知に中身を出さない（「お知らせが1件あります」とだけ届きます）")
    if rules.hours in WINDOW_WORDS:
        words.append(f"届いてよい時間：{WINDOW_WORDS[rules.hours]}")
    return words


def held_words(reason: str | None, until: datetime | None, zone: ZoneInfo) -> str:
    """Why a message waits, for the counsellor who wrote it."""
    if reason == cr.HOURS and until is not None:
        return (f"保留中：本人が選んだ時間の外です。{until.astimezone(zone):%m月%d日 %H:%M}に"
                "送ります（本人がその前に書けば、そのときに届きます）")
    if reason == cr.NEUTRAL:
        return "保留中：通知に中身を出さない設定です。本人がトークで何か送ると届きます"
    if reason == cr.EXIT:
        return "保留中：本人が「けす」を使いました。本人がまた書くと届きます"
    return "保留中"
