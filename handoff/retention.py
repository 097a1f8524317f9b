"""Data retention: a retention period after consent is withdrawn, or after the last message of
a conversation that never reached consent (declined, or left mid-intake), what the resident
wrote and anything that identifies them is deleted; only counts remain.

What goes: their LINE user id (replaced, so a new message starts a fresh conversation), every
inbox event's content and risk record (the words and matched phrases), every outbox message,
the case's transcript and notes, follow-ups, break-glass reasons, the free-text answers, a
call-back's phone number and the words of the emergency record. What
stays, for the municipality's statistics: the case row's categories (life areas, urgency,
municipality, risk level, outcome and the agency it was referred to) under its pseudonym, and the
audit log, which never held text. Each inbox event keeps only its LINE event id, so a replay of
the same signed body is a duplicate and cannot bring the person back.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.db.models import Conversation, InboxEvent, OutboxMessage, RiskAssessmentRecord
from bot.edge import richmenu_links
from handoff.models import (
    Case,
    CaseAccessGrant,
    CaseMeeting,
    CaseMessage,
    CaseNote,
    CaseStatus,
    EmergencyAction,
    FollowUp,
    MonitoringRecord,
    Referral,
    RiskReview,
    SupportPlan,
)

# Answers the statistics use; everything else in `answers` may be the resident's own words.
BATCH = 100
ONGOING_RECHECK = timedelta(days=1)
CATEGORICAL_ANSWERS = ("consulting_for", "life_areas", "urgent_needs", "municipality", "centre",
                       "age_band", "contact_method", "contact_time")


def erase_due(*, session: Session, now: datetime, limit: int = BATCH) -> int:
    """Erase conversations whose `delete_after` has passed; returns how many were erased."""
    stmt = (select(Conversation)
            .where(Conversation.delete_after <= now, Conversation.erased_at.is_(None))
            .order_by(Conversation.delete_after).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    conversations = list(session.scalars(stmt))
    ongoing = set(session.scalars(select(Case.conversation_id).where(
        Case.conversation_id.in_([c.id for c in conversations]),
        Case.status != CaseStatus.CLOSED)))
    erased = 0
    for conversation in conversations:
        if conversation.id in ongoing:
            # A case opened for life safety that people still work on: not yet.
            conversation.delete_after = now + ONGOING_RECHECK
            continue
        erase(session=session, conversation=conversation, now=now)
        erased += 1
    return erased


def erase(*, session: Session, conversation: Conversation, now: datetime) -> None:
    user = conversation.line_user_id
    case_ids = list(session.scalars(select(Case.id).where(
        Case.conversation_id == conversation.id)))
    session.execute(delete(RiskReview).where(RiskReview.assessment_id.in_(
        select(RiskAssessmentRecord.id).where(
            RiskAssessmentRecord.conversation_id == conversation.id))))
    session.execute(delete(RiskAssessmentRecord).where(
        RiskAssessmentRecord.conversation_id == conversation.id))
    session.execute(delete(OutboxMessage).where(OutboxMessage.line_user_id == user))
    richmenu_links.forget(session, user)
    session.execute(update(InboxEvent).where(InboxEvent.line_user_id == user).values(
        payload={}, line_user_id=None, source_key=f"erased-{conversation.id}")
        .execution_options(synchronize_session=False))
    session.execute(delete(FollowUp).where(FollowUp.conversation_id == conversation.id))
    if case_ids:
        session.execute(delete(CaseMessage).where(CaseMessage.case_id.in_(case_ids)))
        session.execute(delete(CaseAccessGrant).where(CaseAccessGrant.case_id.in_(case_ids)))
        session.execute(delete(CaseNote).where(CaseNote.case_id.in_(case_ids)))
        # What was done in an emergency stays counted; who and how it ended, in words, goes.
        session.execute(update(EmergencyAction).where(EmergencyAction.case_id.in_(case_ids))
                        .values(by_whom=None, outcome=None)
                        .execution_options(synchronize_session=False))
        # Plans, meetings and monitorings stay counted; what they said, in words, goes.
        session.execute(update(SupportPlan).where(SupportPlan.case_id.in_(case_ids))
                        .values(goals="").execution_options(synchronize_session=False))
        session.execute(update(CaseMeeting).where(CaseMeeting.case_id.in_(case_ids))
                        .values(decision="").execution_options(synchronize_session=False))
        session.execute(update(MonitoringRecord).where(MonitoringRecord.case_id.in_(case_ids))
                        .values(summary="").execution_options(synchronize_session=False))
        # Referrals stay counted (to whom, the basis, whether taken in); the name and phone
        # number given for them, and the reason written for a life-safety one, go.
        session.execute(update(Referral).where(Referral.case_id.in_(case_ids))
                        .values(identity={}, reason=None)
                        .execution_options(synchronize_session=False))
        for case in session.scalars(select(Case).where(Case.id.in_(case_ids))):
            case.answers = _categorical(case.answers)
            case.callback = None  # a phone number, given for this case alone
            case.identity_request = None
    conversation.answers = _categorical(conversation.answers)
    conversation.line_user_id = f"erased-{conversation.id}"
    conversation.read_token = None
    conversation.erased_at, conversation.delete_after = now, None
    session.flush()


def _categorical(answers: dict[str, object] | None) -> dict[str, object]:
    return {k: v for k, v in (answers or {}).items() if k in CATEGORICAL_ANSWERS}
