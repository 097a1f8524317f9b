"""The learning loop of risk detection, keeping privacy: a counsellor marks a message's level
as wrong (audited), administrators see the marks and may write a paraphrase into their draft
of the corpus. A resident's own words never enter content or git; only the paraphrase does,
and only once an administrator publishes it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import Conversation, InboxEvent, RiskAssessmentRecord, utcnow
from bot.edge.inbox import text_of
from bot.nlp.levels import Level
from bot.releases import store as content_store
from handoff.models import Case, Counsellor, RiskReview

REVIEW_FILE = "risk/corpus/review.yaml"
LEVELS = [lv.label for lv in sorted(Level, reverse=True)]


class ReviewError(ValueError):
    """A review that cannot be made; the argument is a code the console words."""


def mark(*, session: Session, case: Case, assessment_id: int, counsellor: Counsellor,
         suggested: str) -> RiskReview:
    """The counsellor says this message of the case's resident deserved `suggested`."""
    if suggested not in LEVELS:
        raise ReviewError("review_level")
    record = session.get(RiskAssessmentRecord, assessment_id)
    if record is None or record.conversation_id != case.conversation_id:
        raise LookupError(assessment_id)
    if suggested == record.level:
        raise ReviewError("review_same")
    review = RiskReview(assessment_id=record.id, case_id=case.id, counsellor_id=counsellor.id,
                        assessed=record.level, suggested=suggested)
    session.add(review)
    session.flush()
    return review


@dataclass(frozen=True)
class OpenReview:
    review: RiskReview
    words: str  # the resident's message, shown to the administrator only to paraphrase it
    counsellor: str


def open_reviews(*, session: Session) -> list[OpenReview]:
    rows = session.execute(
        select(RiskReview, InboxEvent.payload, Counsellor.display_name)
        .join(RiskAssessmentRecord, RiskAssessmentRecord.id == RiskReview.assessment_id)
        .join(InboxEvent, InboxEvent.id == RiskAssessmentRecord.inbox_event_id)
        .join(Counsellor, Counsellor.id == RiskReview.counsellor_id)
        .join(Conversation, Conversation.id == RiskAssessmentRecord.conversation_id)
        # A resident who withdrew consent: their words are shown to nobody until erased.
        .where(RiskReview.status == "open", Conversation.consent_withdrawn_at.is_(None))
        .order_by(RiskReview.id))
    return [OpenReview(review, text_of(payload),
                       name) for review, payload, name in rows]


def close(*, session: Session, review_id: int, admin: Counsellor, status: str,
          now: datetime | None = None) -> RiskReview:
    review = session.get(RiskReview, review_id)
    if review is None:
        raise LookupError(review_id)
    if review.status != "open":  # another administrator was quicker
        raise ReviewError("review_done")
    review.status, review.reviewed_by, review.reviewed_at = status, admin.id, now or utcnow()
    return review


def add_paraphrase(*, session: Session, review_id: int, admin: Counsellor, text: str,
                   level: str) -> RiskReview:
    """Append the administrator's paraphrase to their draft of the corpus (published, and
    trained on, only when they publish the draft)."""
    text = text.strip()
    if not text:
        raise ReviewError("paraphrase_missing")
    if level not in LEVELS:
        raise ReviewError("review_level")
    review = close(session=session, review_id=review_id, admin=admin, status="added")
    # The file as the administrator's draft has it, or as published when there is no draft yet
    # (save_to_draft then starts the draft from the published release).
    draft = content_store.draft_of(session, admin.id)
    release = content_store.current_release(session) if draft is None else None
    files = draft.files if draft is not None else release.files if release is not None else {}
    current = files.get(REVIEW_FILE)
    if current is None:
        raise ReviewError("review_file_missing")
    content_store.save_to_draft(session, admin.id, REVIEW_FILE,
                                append_entry(current, text=text, level=level))
    return review


_ID = re.compile(r"^\s*- id: review-(\d+)", re.MULTILINE)


def append_entry(yaml_text: str, *, text: str, level: str,
                 kind: str = "paraphrase of a review") -> str:
    """The file with one more message at the end; the comments and entries above are kept
    as they were, so the draft's diff is the new entry alone."""
    number = max((int(n) for n in _ID.findall(yaml_text)), default=0) + 1
    entry = yaml.safe_dump([{"id": f"review-{number:04d}", "text": text, "level": level,
                             "labels": [level], "lang": "ja", "kind": kind}],
                           allow_unicode=True, sort_keys=False, width=1000)
    body = yaml_text.rstrip("\n")
    if body.endswith("messages: []"):
        body = body[: -len("[]")].rstrip()
    return body + "\n" + entry
