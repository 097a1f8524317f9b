"""What a counsellor does to a case: reply, close. Services add and flush; the caller commits."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.db.models import Conversation, OutboxMessage, utcnow
from bot.edge import outbox
from bot.line import MAX_TEXT_UTF16, quick_replies, text, utf16_len
from bot.releases.load import Content
from handoff import cases, followups
from handoff.models import Case, CaseNote, CaseStatus, Counsellor, Outcome, Role, at_least


class CaseworkError(ValueError):
    """The action is not possible on this case now. The first argument is a code that says
    why (the console words it), any others are numbers the wording needs."""


def conversation_of(session: Session, case: Case) -> Conversation:
    conversation = session.get(Conversation, case.conversation_id)
    assert conversation is not None  # a case always belongs to a conversation
    return conversation


def tell_joined(*, session: Session, case: Case, counsellor: Counsellor, content: Content) -> None:
    """The resident hears that a person has taken the consultation."""
    conversation = conversation_of(session, case)
    followups.cancel(session=session, conversation_id=conversation.id, reason="picked_up",
                     kinds=["not_picked_up"])
    bubbles = [b.replace("{name}", counsellor.display_name)
               for b in content.for_language(conversation.language).messages.counsellor_joined]
    outbox.enqueue(session, user_id=conversation.line_user_id,
                   messages=[text(b) for b in bubbles], conversation_id=conversation.id)


def reply(*, session: Session, case: Case, counsellor: Counsellor, words: str) -> OutboxMessage:
    """Send the counsellor's words to the resident (pushed through the outbox; the row, with
    its delivery status, is the record of the reply)."""
    if case.status != CaseStatus.CLAIMED or case.claimed_by != counsellor.id:
        raise CaseworkError("not_holder")
    words = words.strip()
    if not words:
        raise CaseworkError("empty_reply")
    if utf16_len(words) > MAX_TEXT_UTF16:
        raise CaseworkError("reply_too_long", MAX_TEXT_UTF16)
    conversation = conversation_of(session, case)
    [row] = outbox.enqueue(session, user_id=conversation.line_user_id, messages=[text(words)],
                           conversation_id=conversation.id, counsellor_id=counsellor.id)
    case.updated_at = utcnow()
    return row


def close(*, session: Session, case: Case, counsellor: Counsellor, outcome: Outcome,
          detail: str, content: Content) -> None:
    """Close with an outcome; the resident is told and the bot takes the conversation back."""
    if case.status != CaseStatus.CLAIMED or case.claimed_by != counsellor.id:
        raise CaseworkError("not_holder")
    if outcome == Outcome.PLAN:
        # Support goes on under a plan (handoff/support.py): never "we end here".
        raise CaseworkError("plan_is_support")
    if outcome == Outcome.REFERRED and not detail.strip():
        raise CaseworkError("referred_needs_detail")
    case.status = CaseStatus.CLOSED
    case.outcome = outcome
    case.outcome_detail = detail.strip()[:200] or None
    case.closed_at = utcnow()
    conversation = conversation_of(session, case)
    # Back to the flow's start: a safe point, where the newest flow version applies.
    conversation.state = content.flows[conversation.flow_id].flow.start
    said = content.for_language(conversation.language).messages
    farewell = said.returned_to_bot if outcome == Outcome.RETURNED else \
        said.support_closed if outcome == Outcome.SUPPORTED else said.case_closed
    followups.cancel(session=session, conversation_id=conversation.id, reason="closed",
                     kinds=["not_picked_up"])
    if outcome != Outcome.RETURNED:  # 継続的支援: ask after them some weeks later
        followups.schedule_rule(session=session, rules=content.followups,
                                conversation_id=conversation.id, kind="after_close",
                                now=utcnow(), case_id=case.id)
    outbox.enqueue(session, user_id=conversation.line_user_id,
                   messages=[text(b) for b in farewell], conversation_id=conversation.id)
    session.flush()


def _may_act(case: Case, counsellor: Counsellor) -> bool:
    supervising = at_least(counsellor.role, Role.SUPERVISOR)
    return supervising or (case.status == CaseStatus.CLAIMED and case.claimed_by == counsellor.id)


def check_may_act(case: Case, counsellor: Counsellor) -> None:
    """What reaches the resident or lifts a protection is for whoever holds the case (or a
    supervisor), not for every colleague who can read it."""
    if not _may_act(case, counsellor):
        raise CaseworkError("not_holder")


def add_note(*, session: Session, case: Case, counsellor: Counsellor, words: str) -> CaseNote:
    words = words.strip()
    if not words:
        raise CaseworkError("empty_note")
    note = CaseNote(case_id=case.id, counsellor_id=counsellor.id, text=words[:5000])
    session.add(note)
    session.flush()
    return note


def transfer(*, session: Session, case: Case, counsellor: Counsellor, content: Content,
             to_counsellor: Counsellor | None = None, to_team: str | None = None,
             life_safety: str = "") -> tuple[str, bool]:
    """Hand the case to a colleague (who then has it) or to a team's queue. The resident
    consented to one named desk: a move to another team waits for their yes, unless a life is
    at stake (`life_safety` says why) or the case exists only for life safety. Returns a
    text-free description for the audit log and whether the resident was asked."""
    if case.status == CaseStatus.CLOSED or not _may_act(case, counsellor):
        raise CaseworkError("not_holder")
    if cases.pending_transfer(case) is not None:
        raise CaseworkError("transfer_waiting")
    if to_counsellor is not None:
        if not to_counsellor.active:
            raise CaseworkError("colleague_inactive")
        team = to_counsellor.team_id or case.team_id
    elif to_team and any(t.id == to_team for t in content.places.teams):
        team = to_team
    else:
        raise CaseworkError("transfer_target")
    target = f"counsellor {to_counsellor.id}" if to_counsellor else f"team {team}"
    reason = " ".join(life_safety.split())[:120]
    if team != case.team_id and case.basis == "consent" and not reason:
        case.transfer_request = {"team": team, "counsellor": to_counsellor.id
                                 if to_counsellor else None, "by": counsellor.id,
                                 "at": utcnow().isoformat(), "answer": None}
        _ask_resident(session, case, content, team)
        case.updated_at = utcnow()
        session.flush()
        return f"asked the resident: to {target}", True
    if to_counsellor is not None:
        case.status, case.claimed_by, case.claimed_at = CaseStatus.CLAIMED, to_counsellor.id, \
            utcnow()
        case.team_id = team
        tell_joined(session=session, case=case, counsellor=to_counsellor, content=content)
    else:
        case.status, case.claimed_by, case.claimed_at = CaseStatus.OPEN, None, None
        case.team_id = team
    case.updated_at = utcnow()
    session.flush()
    return f"to {target}" + (f"; life safety: {reason}" if reason else ""), False


def _ask_resident(session: Session, case: Case, content: Content, team_id: str) -> None:
    conversation = conversation_of(session, case)
    local = content.for_language(conversation.language)
    messages = local.messages
    name = next((t.name for t in local.places.teams if t.id == team_id), team_id)
    bubbles = [text(b.replace("{team}", name)) for b in messages.transfer_ask]
    bubbles[-1] = quick_replies(bubbles[-1], [
        (messages.transfer_yes_label, cases.transfer_postback(case.id, True)),
        (messages.transfer_no_label, cases.transfer_postback(case.id, False))])
    outbox.enqueue(session, user_id=conversation.line_user_id, messages=bubbles,
                   conversation_id=conversation.id)


def set_followups(*, session: Session, case: Case, allowed: bool) -> str:
    """Allow or forbid follow-ups for this resident; forbidding cancels what is scheduled."""
    case.no_followups = not allowed
    if allowed:
        return "allowed"
    cancelled = followups.cancel(session=session, conversation_id=case.conversation_id,
                                 reason="case_forbids")
    return f"forbidden, {cancelled} cancelled"
