"""つなぐ: passing a consultation to another service, one referral at a time.

Each referral names its recipient and purpose and waits for the resident's yes, asked in the
chat in plain words (the life-safety basis, with its reason, is the only exception). Identity
(a name, a phone number) is asked only after the yes and only when the recipient needs it. The
つなぐシート for the referral is shown only while the yes stands; what was passed, how, and
whether the recipient took the person in is recorded and counted. Services add and flush; the
caller commits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import jaconv
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.content.schema import Destination
from bot.db.models import Conversation, utcnow
from bot.edge import outbox
from bot.line import quick_replies, text
from bot.releases.load import Content, Localized
from handoff.casework import CaseworkError, conversation_of
from handoff.models import Case, CaseStatus, Counsellor, Referral, ReferralStatus, Role, at_least

# How a sheet travelled (the console's words are in its template).
SENT_HOW = ("hand", "post", "fax", "phone", "visit", "online")
Answer = Literal["yes", "no", "withdraw", "skip"]
IDENTITY_ORDER = ("name", "phone")

POSTBACK = "tsunagu:referral"


def postback(referral_id: int, answer: Answer) -> str:
    return f"{POSTBACK}?id={referral_id}&answer={answer}"


def parse_postback(data: str) -> tuple[int, Answer] | None:
    """(referral id, answer) of a referral button, or None for any other postback."""
    prefix = POSTBACK + "?id="
    if not data.startswith(prefix):
        return None
    number, _, answer = data[len(prefix):].partition("&answer=")
    if not number.isdigit() or answer not in ("yes", "no", "withdraw", "skip"):
        return None
    return int(number), answer  # type: ignore[return-value]


def recipient_of(destination: Destination, team_id: str) -> str:
    """The name the resident is told: the team's own office where it has one."""
    return destination.local_names.get(team_id, destination.name)


def _may_act(case: Case, counsellor: Counsellor) -> bool:
    return case.claimed_by == counsellor.id or (
        at_least(counsellor.role, Role.SUPERVISOR) and case.team_id == counsellor.team_id)


def ask(*, session: Session, case: Case, counsellor: Counsellor, content: Content,
        destination_id: str, purpose: int, life_safety: str = "") -> Referral:
    """A referral to `destination_id` for its `purpose`-th purpose. The resident is asked in
    the chat; with `life_safety` (why a life cannot wait for a yes) they are not, and the
    referral stands on that basis."""
    if case.status == CaseStatus.CLOSED or not _may_act(case, counsellor):
        raise CaseworkError("not_holder")
    destination = content.places.referrals.destination(destination_id)
    if destination is None or not 0 <= purpose < len(destination.purposes):
        raise CaseworkError("referral_target")
    reason = " ".join(life_safety.split())[:120]
    conversation = conversation_of(session, case)
    waiting = session.scalar(select(Referral.id).where(
        Referral.case_id == case.id, Referral.destination == destination_id,
        Referral.status == ReferralStatus.ASKED).limit(1))
    if waiting is not None and not reason:
        raise CaseworkError("referral_waiting")
    if not reason and (conversation.consent_withdrawn_at is not None
                       or not conversation.line_user_id or not conversation.following):
        raise CaseworkError("referral_cannot_ask")
    now = utcnow()
    referral = Referral(
        case_id=case.id, counsellor_id=counsellor.id, destination=destination_id,
        recipient=recipient_of(destination, case.team_id)[:120],
        purpose=destination.purposes[purpose][:200], asked_at=now,
        basis="life_safety" if reason else "consent", reason=reason or None,
        status=ReferralStatus.AGREED if reason else ReferralStatus.ASKED,
        answered_at=now if reason else None)
    session.add(referral)
    session.flush()
    if not reason:
        _send(session, conversation, _ask_bubbles(content, conversation, referral,
                                                  destination_id, purpose))
    case.updated_at = now
    return referral


def _local(content: Content, conversation: Conversation) -> Localized:
    return content.for_language(conversation.language)


def _words(content: Content, conversation: Conversation, referral: Referral,
           destination_id: str, purpose: int | None = None) -> dict[str, str]:
    """{recipient} and {purpose} in the resident's language: the words they were asked with
    (as recorded, in standard Japanese, when the service has left the content since)."""
    home = content.places.referrals.destination(destination_id)
    local = _local(content, conversation).places.referrals.destination(destination_id)
    if home is None or local is None:
        return {"recipient": referral.recipient, "purpose": referral.purpose}
    team = next((t for t, name in home.local_names.items() if name == referral.recipient), None)
    if purpose is None and referral.purpose in home.purposes:
        purpose = home.purposes.index(referral.purpose)
    return {"recipient": local.local_names.get(team, local.name) if team else local.name,
            "purpose": local.purposes[purpose] if purpose is not None
            and purpose < len(local.purposes) else referral.purpose}


def _fill(bubbles: list[str], words: dict[str, str]) -> list[str]:
    return [b.replace("{recipient}", words["recipient"]).replace("{purpose}", words["purpose"])
            for b in bubbles]


def _ask_bubbles(content: Content, conversation: Conversation, referral: Referral,
                 destination_id: str, purpose: int) -> list[dict[str, Any]]:
    messages = _local(content, conversation).messages
    words = _words(content, conversation, referral, destination_id, purpose)
    bubbles = [text(b) for b in _fill(messages.referral_ask, words)]
    bubbles[-1] = quick_replies(bubbles[-1], [
        (messages.referral_yes_label, postback(referral.id, "yes")),
        (messages.referral_no_label, postback(referral.id, "no"))])
    return bubbles


def _send(session: Session, conversation: Conversation, bubbles: list[dict[str, Any]]) -> None:
    outbox.enqueue(session, user_id=conversation.line_user_id, messages=bubbles,
                   conversation_id=conversation.id)


# ------------------------------------------------------------------ the resident's side


def _theirs(session: Session, conversation: Conversation,
            referral_id: int) -> tuple[Referral, Case] | None:
    referral = session.get(Referral, referral_id)
    if referral is None:
        return None
    case = session.get(Case, referral.case_id)
    return (referral, case) if case is not None and case.conversation_id == conversation.id \
        else None


def asking(case: Case, referral: Referral) -> str | None:
    """The identity field this referral waits for in the resident's next words."""
    request = case.identity_request or {}
    return str(request["field"]) if request.get("referral") == referral.id else None


def _ask_for(case: Case, referral: Referral, field: str | None) -> None:
    if field is not None:
        case.identity_request = {"referral": referral.id, "field": field}
    elif asking(case, referral) is not None:
        case.identity_request = None


def answer(*, session: Session, conversation: Conversation, content: Content,
           referral_id: int, said: Answer) -> list[dict[str, Any]]:
    """The resident's button: yes or no to a referral asked, taking a yes back, or not
    giving the identity asked. Returns the bot's reply (LINE messages)."""
    found = _theirs(session, conversation, referral_id)
    messages = _local(content, conversation).messages
    if found is None:
        return [text(b) for b in messages.referral_over]
    referral, case = found
    words = _words(content, conversation, referral, referral.destination)
    now = utcnow()
    if said == "withdraw":
        if referral.status != ReferralStatus.AGREED or referral.basis != "consent":
            return [text(b) for b in messages.referral_over]
        withdraw(case, referral, now)
        return [text(b) for b in _fill(messages.referral_withdrawn, words)]
    if said == "skip":
        if asking(case, referral) is None:
            return [text(b) for b in messages.referral_over]
        _ask_for(case, referral, None)
        return [text(b) for b in messages.identity_skipped]
    if referral.status != ReferralStatus.ASKED:
        return [text(b) for b in messages.referral_over]
    referral.answered_at = now
    if said == "no":
        referral.status = ReferralStatus.DECLINED
        return [text(b) for b in _fill(messages.referral_declined, words)]
    referral.status = ReferralStatus.AGREED
    bubbles = [text(b) for b in _fill(messages.referral_agreed, words)]
    needs = _needs(content, referral)
    if not needs:
        bubbles[-1] = quick_replies(bubbles[-1], [
            (messages.referral_withdraw_label, postback(referral.id, "withdraw"))])
        return bubbles
    _ask_for(case, referral, needs[0])
    return [*bubbles, _identity_question(messages, referral, needs[0], words)]


def _needs(content: Content, referral: Referral) -> list[str]:
    """What the recipient needs that the resident has not given yet, in asking order."""
    destination = content.places.referrals.destination(referral.destination)
    return [n for n in IDENTITY_ORDER if destination is not None and n in destination.needs
            and n not in (referral.identity or {})]


def _identity_question(messages: Any, referral: Referral, field: str,
                       words: dict[str, str], again: bool = False) -> dict[str, Any]:
    asked = messages.identity_phone_again if again else (
        messages.identity_ask_name if field == "name" else messages.identity_ask_phone)
    return quick_replies(text(_fill([asked], words)[0]),
                         [(messages.identity_skip_label, postback(referral.id, "skip"))])


_PHONE = re.compile(r"^0\d{9,10}$")


def phone_number(words: str) -> str | None:
    """A Japanese phone number written any usual way (full width, hyphens, spaces, +81)."""
    wide = jaconv.z2h(words, kana=False, digit=True, ascii=True)
    digits = re.sub(r"[\s\-‐－―ー()（）]", "", wide)
    if digits.startswith("+81"):
        digits = "0" + digits[3:]
    return digits if _PHONE.match(digits) else None


# A name is short and says nothing else: 「山田 花子」, not 「やっぱり怖いです。」.
_NOT_A_NAME = re.compile(r"[。、？！?!,.…\n]|\d")


def looks_like_name(words: str) -> bool:
    words = " ".join(words.split())
    return 0 < len(words) <= 30 and len(words.split(" ")) <= 4 and not _NOT_A_NAME.search(words)


def give_identity(*, session: Session, conversation: Conversation, content: Content,
                  case: Case, words: str) -> list[dict[str, Any]] | None:
    """The resident's next words while a referral waits for their name or phone number
    (`case.identity_request`): kept on the referral alone. None when the words are not that
    answer (the resident said something else): the chat goes on as usual and the question
    stays open, its 「いまは送らない」 with it."""
    request = case.identity_request or {}
    referral = session.get(Referral, int(request.get("referral") or 0))
    field = str(request.get("field") or "")
    if referral is None or referral.case_id != case.id \
            or referral.status != ReferralStatus.AGREED:
        case.identity_request = None
        return None
    messages = _local(content, conversation).messages
    said = _words(content, conversation, referral, referral.destination)
    if field == "name":
        if not looks_like_name(words):
            return None
        value: str | None = " ".join(words.split())
    else:
        value = phone_number(words)
        if value is None:
            if sum(c.isdigit() for c in jaconv.z2h(words, kana=False, digit=True)) < 6:
                return None
            return [_identity_question(messages, referral, field, said, again=True)]
    referral.identity = {**(referral.identity or {}), field: value}
    rest = _needs(content, referral)
    _ask_for(case, referral, rest[0] if rest else None)
    if rest:
        return [_identity_question(messages, referral, rest[0], said)]
    thanks = [text(b) for b in _fill(messages.identity_thanks, said)]
    thanks[-1] = quick_replies(thanks[-1], [
        (messages.referral_withdraw_label, postback(referral.id, "withdraw"))])
    return thanks


def withdraw(case: Case, referral: Referral, now: Any = None) -> None:
    referral.status = ReferralStatus.WITHDRAWN
    referral.withdrawn_at = now or utcnow()
    _ask_for(case, referral, None)


def withdraw_all(session: Session, conversation_id: int) -> int:
    """Consent withdrawn altogether: every referral resting on it is taken back."""
    rows = session.execute(
        select(Referral, Case).join(Case, Case.id == Referral.case_id)
        .where(Case.conversation_id == conversation_id, Referral.basis == "consent",
               Referral.status.in_([ReferralStatus.ASKED, ReferralStatus.AGREED]))).all()
    now = utcnow()
    for referral, case in rows:
        withdraw(case, referral, now)
    return len(rows)


# ------------------------------------------------------------------ the counsellor's side


def of_case(session: Session, case_id: int) -> list[Referral]:
    return list(session.scalars(select(Referral).where(Referral.case_id == case_id)
                                .order_by(Referral.id)))


def _own(session: Session, case: Case, referral_id: int) -> Referral:
    referral = session.get(Referral, referral_id)
    if referral is None or referral.case_id != case.id:
        raise CaseworkError("referral_unknown")
    return referral


def may_show_sheet(referral: Referral) -> bool:
    """The sheet travels only with the resident's standing yes, or the life-safety basis."""
    return referral.status == ReferralStatus.AGREED


def record_sent(*, session: Session, case: Case, counsellor: Counsellor, referral_id: int,
                how: str) -> Referral:
    if not _may_act(case, counsellor):
        raise CaseworkError("not_holder")
    referral = _own(session, case, referral_id)
    if not may_show_sheet(referral):
        raise CaseworkError("referral_no_consent")
    if how not in SENT_HOW:
        raise CaseworkError("referral_how")
    referral.sent_at, referral.sent_how = utcnow(), how
    case.updated_at = utcnow()
    return referral


def record_result(*, session: Session, case: Case, counsellor: Counsellor, referral_id: int,
                  accepted: bool) -> Referral:
    if not _may_act(case, counsellor):
        raise CaseworkError("not_holder")
    referral = _own(session, case, referral_id)
    if referral.sent_at is None:
        raise CaseworkError("referral_not_sent")
    referral.accepted, referral.result_at = accepted, utcnow()
    case.updated_at = utcnow()
    return referral


def record_withdrawn(*, session: Session, case: Case, counsellor: Counsellor,
                     referral_id: int) -> Referral:
    """The resident took their yes back some other way (a call, a visit): recorded."""
    if not _may_act(case, counsellor):
        raise CaseworkError("not_holder")
    referral = _own(session, case, referral_id)
    if referral.status not in (ReferralStatus.ASKED, ReferralStatus.AGREED):
        raise CaseworkError("referral_not_standing")
    withdraw(case, referral)
    case.updated_at = utcnow()
    return referral


@dataclass(frozen=True)
class Choice:
    """One line of the console's select: a destination's purpose."""

    value: str  # "<destination>:<purpose index>"
    destination: str
    purpose: str
    needs: tuple[str, ...]


def choices(content: Content, team_id: str) -> list[tuple[str, list[Choice]]]:
    """The console's select, grouped by the recipient's name for this team."""
    return [(recipient_of(d, team_id),
             [Choice(f"{d.id}:{i}", d.id, p, tuple(d.needs)) for i, p in enumerate(d.purposes)])
            for d in content.places.referrals.destinations]
