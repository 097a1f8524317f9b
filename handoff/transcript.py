"""A case's conversation in order: the resident's words, the bot's, the counsellors'."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import InboxEvent, OutboxMessage, RiskAssessmentRecord
from handoff.models import Case, Counsellor

NON_TEXT = {"sticker": "（スタンプ）", "image": "（画像）", "video": "（動画）",
            "audio": "（音声）", "location": "（位置情報）", "file": "（ファイル）"}


@dataclass(frozen=True)
class Line:
    at: datetime
    sender: str  # resident | bot | counsellor
    text: str
    author: str = ""  # the counsellor's name, for their lines
    status: str = ""  # delivery status of bot and counsellor lines
    held: str | None = None  # why the resident's contact rules keep it back (status "held")
    held_until: datetime | None = None  # for the hours rule: when it goes
    risk_level: str = "none"
    risk_hits: list[dict[str, Any]] = field(default_factory=list)
    assessed: bool = False  # a resident's text, read by the rules and the model
    risk_id: int | None = None  # the assessment, for a counsellor to mark it wrong
    risk_model: dict[str, Any] = field(default_factory=dict)  # model reading, window, script
    tapped: bool = False  # a resident's button (postback): `text` is the label they saw


def _buttons(node: Any, found: dict[str, str]) -> None:
    """Every postback button in a message we sent: its data -> the words the resident's tap
    showed in the chat (LINE sends us the data only, never those words)."""
    if isinstance(node, dict):
        if node.get("type") == "postback" and node.get("data"):
            found[str(node["data"])] = str(node.get("displayText") or node.get("label") or "")
        for value in node.values():
            _buttons(value, found)
    elif isinstance(node, list):
        for value in node:
            _buttons(value, found)


def _visible(message: dict[str, Any]) -> str:
    if message.get("type") == "text":
        return str(message.get("text") or "")
    return str(message.get("altText") or f"（{message.get('type')}）")


def transcript(*, session: Session, case: Case, user_id: str,
               menu: Mapping[str, str] | None = None) -> list[Line]:
    """`menu`: the rich menu's postback data -> the words its tiles show (content), for taps
    that answer no message of ours."""
    lines: list[Line] = []
    risks = {r.inbox_event_id: r for r in session.scalars(
        select(RiskAssessmentRecord).where(
            RiskAssessmentRecord.conversation_id == case.conversation_id))}
    sent = list(session.scalars(select(OutboxMessage).where(
        OutboxMessage.line_user_id == user_id)))
    buttons: dict[str, str] = dict(menu or {})
    for row in sorted(sent, key=lambda r: r.id):
        _buttons(row.messages, buttons)
    for event in session.scalars(select(InboxEvent).where(
            InboxEvent.line_user_id == user_id,
            InboxEvent.event_type.in_(("message", "postback")))):
        if event.event_type == "postback":
            data = str((event.payload.get("postback") or {}).get("data") or "")
            lines.append(Line(event.received_at, "resident",
                              buttons.get(data) or "（ボタンを押しました）", tapped=True))
            continue
        message = event.payload.get("message") or {}
        kind = message.get("type")
        words = str(message.get("text") or "") if kind == "text" else NON_TEXT.get(
            str(kind), f"（{kind}）")
        risk = risks.get(event.id)
        lines.append(Line(event.received_at, "resident", words,
                          risk_level=risk.level if risk else "none",
                          risk_hits=[h for h in (risk.hits if risk else [])
                                     if h.get("effective") != "none"],
                          assessed=risk is not None, risk_id=risk.id if risk else None,
                          risk_model=(risk.model or {}) if risk else {}))
    names = {cid: name for cid, name in session.execute(
        select(Counsellor.id, Counsellor.display_name))}
    for row in sent:
        sender = "counsellor" if row.counsellor_id else "bot"
        for message in row.messages:
            lines.append(Line(row.created_at, sender, _visible(message),
                              author=names.get(row.counsellor_id or 0, ""),
                              status=str(row.status), held=row.held,
                              held_until=row.next_attempt_at if row.held else None))
    return sorted(lines, key=lambda line: line.at)
