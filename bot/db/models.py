"""Tables of the resident side: inbox (accepted webhook events), conversations and outbox."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; always hands back an aware datetime (SQLite would drop the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON,
    }


class InboxStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    IGNORED = "ignored"  # accepted and kept, but nothing to do (group chats, unknown types)
    FAILED = "failed"  # handler raised repeatedly; kept for a person to look at


class InboxEvent(Base):
    """A webhook event as LINE sent it. Written in the webhook request, before the 200."""

    __tablename__ = "inbox_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_event_id: Mapped[str] = mapped_column(String(64), unique=True)
    # Events of one source (a user, or a group/room) are processed one at a time, in order.
    source_key: Mapped[str] = mapped_column(String(80))
    line_user_id: Mapped[str | None] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(40))
    event_timestamp: Mapped[int] = mapped_column(BigInteger)
    is_redelivery: Mapped[bool] = mapped_column(default=False)
    payload: Mapped[dict[str, Any]]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[InboxStatus] = mapped_column(String(16), default=InboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    processed_at: Mapped[datetime | None]
    # Only an exception class name: message text never goes into logs or error columns.
    error: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_inbox_pending", "status", "source_key", "event_timestamp"),)


class Conversation(Base):
    """One resident's conversation with the bot (one LINE user id, one row)."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_user_id: Mapped[str] = mapped_column(String(64), unique=True)
    flow_id: Mapped[str] = mapped_column(String(64))
    flow_version: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(64))
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Scope -> {"granted": bool, "at": iso time}: explicit, scoped, revocable.
    consent: Mapped[dict[str, Any]] = mapped_column(default=dict)
    consent_withdrawn_at: Mapped[datetime | None]
    # Set when consent is withdrawn: the retention job deletes the data after this time.
    delete_after: Mapped[datetime | None]
    erased_at: Mapped[datetime | None]  # when the retention job removed the personal data
    following: Mapped[bool] = mapped_column(default=True)
    # The highest risk level seen in this conversation's messages (none/concern/high/imminent).
    risk_level: Mapped[str] = mapped_column(String(16), default="none", server_default="none")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    last_event_at: Mapped[datetime | None]
    # markAsReadToken of the resident's newest message: a counsellor opening the chat marks
    # it read in LINE (only after consent; cleared with the conversation's data).
    read_token: Mapped[str | None] = mapped_column(String(255))
    # The language the resident chose (a content/languages/ code); None: standard Japanese.
    language: Mapped[str | None] = mapped_column(String(16))
    # The resident's contact rules (bot/edge/contact_rules.py): silent, hours, neutral, hold.
    contact_rules: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    # How they found the account (a department's link, content `referrals.sources`): counts
    # only, never who; copied to each case, where a counsellor may correct it.
    source: Mapped[str | None] = mapped_column(String(32))
    # What counsellors call this resident (「相談者 7F3A」): every case of the conversation
    # takes it, so someone who comes back is recognised. A resident erased by retention
    # writes again as a new conversation, with a new name.
    pseudonym: Mapped[str | None] = mapped_column(String(32))


class RiskAssessmentRecord(Base):
    """The risk analysis of one text message, kept with it so a counsellor can see why."""

    __tablename__ = "risk_assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    inbox_event_id: Mapped[int] = mapped_column(ForeignKey("inbox_events.id"), unique=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    level: Mapped[str] = mapped_column(String(16))
    categories: Mapped[list[Any]]
    hits: Mapped[list[Any]]  # rule, category, span, matched text, why, modifiers
    lexicon_version: Mapped[str] = mapped_column(String(32))  # lexicon+model versions
    # The statistical model's reading (score, what pushed it), the window read, the script.
    model: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_risk_conversation", "conversation_id", "level"),)


class FlowVersion(Base):
    """An immutable copy of a flow as served, so a conversation can finish on its version."""

    __tablename__ = "flow_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    flow_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(64))
    definition: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("flow_id", "version"),)


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a sender until `next_attempt_at` (a lease)
    SENT = "sent"
    FAILED = "failed"
    HELD = "held"  # kept back by the resident's contact rules (`held` says why)


def new_retry_key() -> str:
    return str(uuid.uuid4())


class OutboxMessage(Base):
    """Up to five LINE messages for one resident, written before any attempt to send them."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_user_id: Mapped[str] = mapped_column(String(64))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    source_event_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_events.id"))
    # Set when a counsellor wrote it (the console); None for the bot's own messages.
    counsellor_id: Mapped[int | None] = mapped_column(ForeignKey("counsellors.id"))
    messages: Mapped[list[Any]]
    reply_token: Mapped[str | None] = mapped_column(String(255))
    reply_deadline: Mapped[datetime | None]
    # One key per message, reused on every push attempt, so LINE never delivers it twice.
    retry_key: Mapped[str] = mapped_column(String(36), default=new_retry_key)
    status: Mapped[OutboxStatus] = mapped_column(String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_via: Mapped[str | None] = mapped_column(String(8))
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Why the resident's contact rules keep it back (status HELD), e.g. "hours", "exit".
    held: Mapped[str | None] = mapped_column(String(16))
    silent: Mapped[bool] = mapped_column(default=False, server_default=false())  # no sound

    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_user", "line_user_id", "id"),
        Index("ix_outbox_held", "conversation_id", "held"),
    )


class RichMenuLink(Base):
    """The rich menu a resident should see: the one in their language (None: the default,
    standard Japanese), linked to them at LINE by the sender, retried until LINE took it."""

    __tablename__ = "richmenu_links"

    line_user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    language: Mapped[str | None] = mapped_column(String(16))
    due: Mapped[bool] = mapped_column(default=True)  # not yet linked at LINE
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_richmenu_links_due", "due", "next_attempt_at"),)


class ContentRelease(Base):
    """A published set of content files. Immutable: publishing or rolling back appends one, so
    the history says who served what, when and why; the newest row is what is served."""

    __tablename__ = "content_releases"

    id: Mapped[int] = mapped_column(primary_key=True)
    files: Mapped[dict[str, Any]]  # relative path -> YAML text, exactly as edited
    digest: Mapped[str] = mapped_column(String(64))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("counsellors.id"))
    reason: Mapped[str] = mapped_column(Text)
    restored_from: Mapped[int | None] = mapped_column(ForeignKey("content_releases.id"))
    # The risk model trained from this release's corpus, as data (never a pickle).
    risk_model: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ContentDraft(Base):
    """One administrator's unpublished edits, made against `base_release_id`."""

    __tablename__ = "content_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("counsellors.id"), unique=True)
    base_release_id: Mapped[int] = mapped_column(ForeignKey("content_releases.id"))
    files: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
