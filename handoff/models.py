"""Tables of the counsellor side: cases and their messages."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.models import Base, utcnow


class CaseStatus(StrEnum):
    OPEN = "open"  # waiting in the queue
    CLAIMED = "claimed"  # a counsellor has it
    CLOSED = "closed"


class Priority(StrEnum):
    IMMINENT = "imminent"
    HIGH = "high"
    NORMAL = "normal"


PRIORITY_RANK = {Priority.IMMINENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2}


def new_pseudonym() -> str:
    """What counsellors call the resident: 「相談者 7F3A」, never the LINE id."""
    return f"相談者 {secrets.token_hex(2).upper()}"


class Role(StrEnum):
    """Ranked: each role may do what the roles before it may. Counsellors and supervisors see
    their own team's cases only; a lead (the prefecture's, say) and an administrator see every
    team's."""

    COUNSELLOR = "counsellor"
    SUPERVISOR = "supervisor"
    LEAD = "lead"
    ADMIN = "admin"


ROLE_RANK = {Role.COUNSELLOR: 0, Role.SUPERVISOR: 1, Role.LEAD: 2, Role.ADMIN: 3}


def at_least(role: str, least: Role) -> bool:
    return ROLE_RANK.get(Role(role), -1) >= ROLE_RANK[least]


def sees_every_team(role: str) -> bool:
    return at_least(role, Role.LEAD)


class Counsellor(Base):
    """A console account: a counsellor, a supervisor or an administrator."""

    __tablename__ = "counsellors"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[Role] = mapped_column(String(16), default=Role.COUNSELLOR)
    team_id: Mapped[str | None] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # 対応可能 / 離席 / 終了, set in the console (handoff/presence.py). "available" turns into
    # away on its own when none of the account's console sessions has been seen for a while.
    presence: Mapped[str] = mapped_column(String(16), default="off", server_default="off")
    presence_at: Mapped[datetime | None]
    # How many chats at once, set by a supervisor on the floor view (None: no limit). A case in
    # imminent danger is never refused for it.
    capacity: Mapped[int | None]


class Case(Base):
    """A consultation handed to people: the digital つなぐシート lives on this row."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    pseudonym: Mapped[str] = mapped_column(String(32), default=new_pseudonym)
    status: Mapped[CaseStatus] = mapped_column(String(16), default=CaseStatus.OPEN)
    priority: Mapped[Priority] = mapped_column(String(16), default=Priority.NORMAL)
    team_id: Mapped[str] = mapped_column(String(64))
    municipality: Mapped[str | None] = mapped_column(String(64))
    consulting_for: Mapped[str | None] = mapped_column(String(32))
    life_areas: Mapped[list[Any]] = mapped_column(default=list)
    urgent_needs: Mapped[list[Any]] = mapped_column(default=list)
    programmes: Mapped[list[Any]] = mapped_column(default=list)
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    consent: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Why people may read this case: the resident's consent, or the life-safety exception
    # (the personal information act allows it to protect a life when consent is hard to get).
    basis: Mapped[str] = mapped_column(String(16), default="consent", server_default="consent")
    risk_level: Mapped[str] = mapped_column(String(16), default="none", server_default="none")
    risk_categories: Mapped[list[Any]] = mapped_column(default=list)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("counsellors.id"))
    claimed_at: Mapped[datetime | None]
    # Set by a counsellor when a message could put the resident at risk (e.g. a shared phone):
    # no follow-up of any kind goes to them while it is set.
    no_followups: Mapped[bool] = mapped_column(default=False, server_default=false())
    outcome: Mapped[str | None] = mapped_column(String(16))
    outcome_detail: Mapped[str | None] = mapped_column(String(200))  # where it was referred
    # A counsellor asked to move the case to another team's desk: the resident consented to one
    # named desk, so the move waits for their yes ({"team", "counsellor", "by", "at"}).
    transfer_request: Mapped[dict[str, Any] | None]
    # The wait the resident was told ({"at", "place", "low", "high"}, minutes): the first one
    # is kept to measure the estimate against the real wait, the last one to update only when
    # it changes materially (handoff/waiting.py).
    wait_first: Mapped[dict[str, Any] | None]
    wait_told: Mapped[dict[str, Any] | None]
    # The resident asked to be called back ({"window", "phone", "at"}); the phone number only
    # with its own consent, shown on the case alone and erased with it.
    callback: Mapped[dict[str, Any] | None]
    gave_up_at: Mapped[datetime | None]  # 「もういいです」 while waiting: they left, for now
    # How the resident came (content `referrals.sources`: self, a department, 民生委員 ...).
    source: Mapped[str | None] = mapped_column(String(32))
    # What the support achieved, recorded at monitoring or closing (content
    # `referrals.results`: work found, housing kept ...): counts for the outcome figures.
    results: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    # A referral's question for a name or phone number waits for the resident's next words
    # ({"referral": id, "field": "name" | "phone"}): read with the case, no query per message.
    identity_request: Mapped[dict[str, Any] | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_cases_queue", "status", "priority", "opened_at"),
                      Index("ix_cases_conversation", "conversation_id", "status"))


class CaseMessage(Base):
    """The case's transcript lines that are not bot copy: the resident's words, counsellors'."""

    __tablename__ = "case_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    sender: Mapped[str] = mapped_column(String(16))  # resident | counsellor
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_case_messages_case", "case_id", "created_at"),)


class Outcome(StrEnum):
    """How a consultation ended (the usual end states of screening)."""

    PLAN = "plan"  # 継続支援・プラン (closed at the first reply: older cases only)
    SUPPORTED = "supported"  # 終結: support under a plan ended (handoff/support.py)
    INFO = "info"  # 情報提供のみ
    REFERRED = "referred"  # 他機関へつないだ
    RETURNED = "returned"  # ボットに戻した: the resident goes on with the bot, no person yet
    WITHDRAWN = "withdrawn"  # 同意の取り消し: the resident took their consent back


class AuditEntry(Base):
    """Who did what to which case or account, and when: kept for supervisors, never edited.

    A console action has the counsellor who did it. An account event may have none: a login
    attempt (the visitor is not known yet) or a `tsunagu user` command; `actor` then says who or
    what it was, and `account_id` names the account the event is about."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    counsellor_id: Mapped[int | None] = mapped_column(ForeignKey("counsellors.id"))
    actor: Mapped[str | None] = mapped_column(String(64))  # e.g. "cli:root", "login 192.0.2.1"
    account_id: Mapped[int | None] = mapped_column(ForeignKey("counsellors.id"))
    action: Mapped[str] = mapped_column(String(32))  # view, claim, reply, close, login, ...
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    detail: Mapped[str | None] = mapped_column(String(200))  # never message text or passwords
    at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_audit_case", "case_id", "at"),)


class CaseRead(Base):
    """When a counsellor last looked at a case (its page, or its live talk on screen): the
    resident's messages since then are new to them, counted in their queue and marked."""

    __tablename__ = "case_reads"

    counsellor_id: Mapped[int] = mapped_column(ForeignKey("counsellors.id"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    seen_at: Mapped[datetime]


class CaseAccessGrant(Base):
    """Break-glass: a counsellor of another team opened this case for life safety, with a
    reason. Shown to the owning team on the case and in their queue; in the audit log too."""

    __tablename__ = "case_access_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    counsellor_id: Mapped[int] = mapped_column(ForeignKey("counsellors.id"))
    reason: Mapped[str] = mapped_column(String(200))  # staff words, never the resident's
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]

    __table_args__ = (Index("ix_case_access_grants", "counsellor_id", "case_id", "expires_at"),)


class ConsoleSession(Base):
    """A console login. The browser's cookie carries the token; only its SHA-256 is stored, so
    a copy of the database opens no session. Refused once revoked (logout, or the account was
    disabled, or its role or password changed), idle too long or too old."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    counsellor_id: Mapped[int] = mapped_column(ForeignKey("counsellors.id"))
    address: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_why: Mapped[str | None] = mapped_column(String(32))  # logout, disabled, role, ...

    __table_args__ = (Index("ix_console_sessions_counsellor", "counsellor_id", "revoked_at"),)


class LoginAttempt(Base):
    """One console login attempt that reached the password check, or an unlock. Counted by
    every process on the same database: the login limit holds across replicas. `name_key` is a
    keyed hash of the name typed (a password typed into the name field is never stored);
    `counsellor_id` is set when the name is an account's."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(64))  # an IPv6 address as its /64
    name_key: Mapped[str] = mapped_column(String(64))
    counsellor_id: Mapped[int | None] = mapped_column(ForeignKey("counsellors.id"))
    outcome: Mapped[str] = mapped_column(String(16))  # failed, succeeded, unlocked
    at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_login_attempts_address", "address", "at"),
                      Index("ix_login_attempts_name", "name_key", "at"),
                      Index("ix_login_attempts_counsellor", "counsellor_id", "at"))


class CaseNote(Base):
    """A counsellor's private note on a case: staff only, never sent to the resident."""

    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    counsellor_id: Mapped[int] = mapped_column(ForeignKey("counsellors.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A supervisor's word to the counsellor holding the case (ささやき): shown to them above
    # the talk and counted as new on their queue; like every note, never sent to LINE.
    whisper_to: Mapped[int | None] = mapped_column(ForeignKey("counsellors.id"))


class SupportPlan(Base):
    """A support plan agreed with the resident (支援計画): the goals in their words, the
    counsellor in charge, and when it is looked at again (モニタリング). A re-plan ends one
    plan and starts the next; the case stays open, held by the counsellor, all along."""

    __tablename__ = "support_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    counsellor_id: Mapped[int] = mapped_column(ForeignKey("counsellors.id"))  # in charge
    goals: Mapped[str] = mapped_column(Text)  # emptied when the case is erased
    agreed_on: Mapped[date]
    monitor_months: Mapped[int]
    next_monitoring_on: Mapped[date | None]
    ask_resident: Mapped[bool] = mapped_column(default=False)  # a message at monitoring time
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(16))  # replanned, closed

    __table_args__ = (Index("ix_support_plans_due", "ended_at", "next_monitoring_on"),
                      Index("ix_support_plans_case", "case_id"))


class CaseMeeting(Base):
    """A 支援調整会議 about the case: when, who took part (by role, never by name) and what was
    decided."""

    __tablename__ = "case_meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    counsellor_id: Mapped[int] = mapped_column(ForeignKey("counsellors.id"))  # who recorded it
    held_on: Mapped[date]
    roles: Mapped[list[Any]] = mapped_column(default=list)
    decision: Mapped[str] = mapped_column(Text)  # emptied when the case is erased
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MonitoringDecision(StrEnum):
    CONTINUE = "continue"  # the plan goes on: looked at again after its months
    REPLAN = "replan"  # a new plan replaces it
    CLOSE = "close"  # 終結: the goals were reached, or both agreed to stop


class MonitoringRecord(Base):
    """One look at a plan with the resident (モニタリング): what was seen and what follows."""

    __tablename__ = "monitoring_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("support_plans.id"))
    counsellor_id: Mapped[int] = mapped_column(ForeignKey("counsellors.id"))
    held_on: Mapped[date]
    summary: Mapped[str] = mapped_column(Text)  # emptied when the case is erased
    decision: Mapped[MonitoringDecision] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FollowUpState(StrEnum):
    SCHEDULED = "scheduled"
    SENT = "sent"
    CANCELLED = "cancelled"


class FollowUp(Base):
    __tablename__ = "followups"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(32))  # a rule name, or "manual"
    text: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime]
    state: Mapped[FollowUpState] = mapped_column(String(16), default=FollowUpState.SCHEDULED)
    reason: Mapped[str | None] = mapped_column(String(64))  # why it was cancelled
    sent_at: Mapped[datetime | None]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("counsellors.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_followups_due", "state", "due_at"),
                      Index("ix_followups_conversation", "conversation_id", "state", "kind"))


class RiskReview(Base):
    """A counsellor's word that a message was assessed at the wrong level. Administrators
    review these and may add a paraphrase to the corpus; the resident's own words never leave
    this table (erased with the conversation)."""

    __tablename__ = "risk_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("risk_assessments.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    counsellor_id: Mapped[int] = mapped_column(ForeignKey("counsellors.id"))
    assessed: Mapped[str] = mapped_column(String(16))  # the level the product gave
    suggested: Mapped[str] = mapped_column(String(16))  # the level the counsellor says
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, added, dismissed
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("counsellors.id"))
    reviewed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_risk_reviews_status", "status", "id"),)


class EmergencyAlert(Base):
    """An imminent case, raised to every on-duty counsellor and supervisor of its team until two
    people have acknowledged it; escalated to the on-call address when nobody does in time."""

    __tablename__ = "emergency_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    team_id: Mapped[str] = mapped_column(String(64))
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None]  # when the second person acknowledged
    escalate_at: Mapped[datetime]  # the on-call address is told if not acknowledged by then
    # none (not due), pending (due, being sent), sent, failed (gave up after retries)
    escalation: Mapped[str] = mapped_column(String(16), default="none", server_default="none")
    escalation_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    escalation_next_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_emergency_alerts_open", "acknowledged_at", "escalate_at"),
                      Index("ix_emergency_alerts_case", "case_id"))


class EmergencyAck(Base):
    """One person's acknowledgement of an emergency alert (a person counts once)."""

    __tablename__ = "emergency_acks"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("emergency_alerts.id"))
    counsellor_id: Mapped[int] = mapped_column(ForeignKey("counsellors.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ux_emergency_acks", "alert_id", "counsellor_id", unique=True),)


class EmergencyAction(Base):
    """The case's emergency record: what was done (location asked, 119 or 110 called and by
    whom, the outcome), in staff words, never the resident's."""

    __tablename__ = "emergency_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    counsellor_id: Mapped[int] = mapped_column(ForeignKey("counsellors.id"))
    action: Mapped[str] = mapped_column(String(32))  # location_asked, called_119, ...
    by_whom: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_emergency_actions_case", "case_id", "at"),)


class ReferralStatus(StrEnum):
    ASKED = "asked"  # the resident was asked in the chat, no answer yet
    AGREED = "agreed"  # they said yes (or the life-safety basis: no question)
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"  # a yes taken back (the resident, or a counsellor recording it)


class Referral(Base):
    """One つなぐ to another service: the recipient and purpose the resident agreed to (or the
    life-safety basis), what was passed and how, and whether they took the person in. Identity
    (a name, a phone number) only after the yes and only if the recipient needs it; erased
    with the case."""

    __tablename__ = "referrals"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    counsellor_id: Mapped[int] = mapped_column(ForeignKey("counsellors.id"))
    destination: Mapped[str] = mapped_column(String(32))  # content `referrals.destinations`
    recipient: Mapped[str] = mapped_column(String(120))  # as the resident was told it
    purpose: Mapped[str] = mapped_column(String(200))
    basis: Mapped[str] = mapped_column(String(16), default="consent")  # or life_safety
    reason: Mapped[str | None] = mapped_column(String(120))  # why life safety could not wait
    status: Mapped[ReferralStatus] = mapped_column(String(16), default=ReferralStatus.ASKED)
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    identity: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    sent_at: Mapped[datetime | None]
    sent_how: Mapped[str | None] = mapped_column(String(16))  # hand, post, fax, phone, visit
    accepted: Mapped[bool | None]  # the recipient took the person in (None: not known yet)
    result_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_referrals_case", "case_id"),
                      Index("ix_referrals_asked", "asked_at"))
