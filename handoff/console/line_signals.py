"""What a resident sees in LINE of the counsellor holding their case: 既読 on their messages
once the counsellor has the chat open, and LINE's loading animation while the counsellor
writes. Only for the counsellor who claimed the case, and only while the resident's consent to
a counsellor stands. Both are best effort: the page never waits for LINE, and a failure only
costs the resident a 既読 or an animation.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from starlette.background import BackgroundTask

from bot.db.models import Conversation, OutboxMessage, utcnow
from bot.edge.line_client import Outcome
from handoff.console.host import ConsoleHost
from handoff.models import Case, CaseStatus, Counsellor

log = logging.getLogger(__name__)

# The console's reply box sends at most one typing signal per TYPING_SECONDS while the
# counsellor writes; the animation lasts as long (LINE hides it when the reply arrives).
TYPING_SECONDS = 20
# A case's animations are at least this far apart whatever a browser sends (LINE's rate limit
# is the channel's, shared with every answer).
TYPING_FLOOR_SECONDS = 10.0
# A signal the browser sent while the reply was on its way can reach the server after it; LINE
# would then show the animation under the reply that just arrived. None this soon after one.
AFTER_REPLY_SECONDS = 5.0


def holds(case: Case, counsellor: Counsellor) -> bool:
    return case.status == CaseStatus.CLAIMED and case.claimed_by == counsellor.id


def _consented(conversation: Conversation | None) -> bool:
    consent: dict[str, Any] = (conversation.consent or {}) if conversation else {}
    counsellor = consent.get("counsellor") or {}
    return bool(conversation is not None and conversation.consent_withdrawn_at is None
                and isinstance(counsellor, dict) and counsellor.get("granted"))


def _take_read_token(sessions: sessionmaker[Session], case_id: int,
                     counsellor_id: int) -> tuple[int, str] | None:
    """The newest message's markAsReadToken, cleared so that it is used once (one UPDATE
    on the token read, so two open pages cannot both take it); None if there is none to use."""
    with sessions() as session, session.begin():
        case = session.get(Case, case_id)
        if case is None or case.status != CaseStatus.CLAIMED or case.claimed_by != counsellor_id:
            return None
        conversation = session.get(Conversation, case.conversation_id)
        if conversation is None or not conversation.read_token or not _consented(conversation):
            return None
        token = conversation.read_token
        taken = session.scalar(
            update(Conversation)
            .where(Conversation.id == conversation.id, Conversation.read_token == token)
            .values(read_token=None).returning(Conversation.id)
            .execution_options(synchronize_session=False))
        return (conversation.id, token) if taken is not None else None


def _give_back(sessions: sessionmaker[Session], conversation_id: int, token: str) -> None:
    """LINE could not be reached: the token waits for the next view (unless a newer one came)."""
    with sessions() as session, session.begin():
        session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id, Conversation.read_token.is_(None))
            .values(read_token=token)
            .execution_options(synchronize_session=False))


async def _mark_read(runtime: ConsoleHost, case_id: int, counsellor_id: int) -> None:
    taken = await asyncio.to_thread(_take_read_token, runtime.sessions, case_id, counsellor_id)
    if taken is None:
        return
    conversation_id, token = taken
    result = await runtime.line.mark_as_read(token)
    if result.outcome == Outcome.RETRYABLE:
        await asyncio.to_thread(_give_back, runtime.sessions, conversation_id, token)
    if result.outcome != Outcome.SENT:
        log.info("case %s: mark as read not done: %s %s", case_id, result.status or "",
                 result.detail or result.outcome)


def mark_read_after(runtime: ConsoleHost, case: Case, counsellor: Counsellor,
                    sealed: bool) -> BackgroundTask | None:
    """For a response showing the case's talk to `counsellor`: once it is sent, LINE is
    told the resident's messages were read (their newest token). None when that is not so:
    the case is not theirs, or the talk is sealed."""
    if sealed or not holds(case, counsellor):
        return None
    return BackgroundTask(_mark_read, runtime, case.id, counsellor.id)


_last_typing: dict[str, float] = {}  # resident's LINE id -> monotonic time of their last one


def _may_type(sessions: sessionmaker[Session], case_id: int, counsellor_id: int) -> str | None:
    """The resident's LINE id if the counsellor holds the case, consent stands and their
    last reply is not a moment old."""
    with sessions() as session:
        case = session.get(Case, case_id)
        if case is None or case.status != CaseStatus.CLAIMED or case.claimed_by != counsellor_id:
            return None
        conversation = session.get(Conversation, case.conversation_id)
        if conversation is None or not _consented(conversation):
            return None
        just_replied = session.scalar(
            select(OutboxMessage.id).where(
                OutboxMessage.conversation_id == conversation.id,
                OutboxMessage.counsellor_id == counsellor_id,
                OutboxMessage.created_at > utcnow() - timedelta(seconds=AFTER_REPLY_SECONDS))
            .limit(1))
        return None if just_replied is not None else conversation.line_user_id


async def typing(runtime: ConsoleHost, case: Case, counsellor: Counsellor) -> bool:
    """The counsellor is writing to the resident: LINE's loading animation in their chat.
    True if it was asked of LINE."""
    if not holds(case, counsellor):
        return False
    user = await asyncio.to_thread(_may_type, runtime.sessions, case.id, counsellor.id)
    if user is None:
        return False
    now = time.monotonic()
    if now - _last_typing.get(user, -TYPING_FLOOR_SECONDS) < TYPING_FLOOR_SECONDS:
        return False
    _last_typing[user] = now
    if len(_last_typing) > 10_000:  # forget the chats nobody writes to any more
        for key, at in list(_last_typing.items()):
            if now - at > TYPING_FLOOR_SECONDS:
                del _last_typing[key]
    result = await runtime.line.show_loading(user, TYPING_SECONDS)
    if result.outcome != Outcome.SENT:
        log.info("case %s: loading animation not shown: %s %s", case.id, result.status or "",
                 result.detail or result.outcome)
    return True
