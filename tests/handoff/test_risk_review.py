"""The learning loop: a counsellor marks a level as wrong, an administrator paraphrases it
into their draft of the corpus; the resident's own words never reach content."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.db.models import ContentDraft, Conversation, RiskAssessmentRecord, utcnow
from handoff.models import AuditEntry, Counsellor, RiskReview, Role
from handoff.retention import erase
from handoff.risk_review import REVIEW_FILE, append_entry
from tests.live import LiveApp, Staff, conversation_of, csrf_of, logged_in, resident_with_case

WORDS = "駅の近くの橋の上で、ずっと川を見ています"  # a resident's words, in a test


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("admin", "管理者", Role.ADMIN), Staff("sato", "佐藤", Role.COUNSELLOR, "pref")]


def test_a_mark_reaches_the_administrator_and_a_paraphrase_reaches_only_the_draft(
        live: LiveApp) -> None:
    r, case_id = resident_with_case(live)
    r.say(WORDS)
    conversation = conversation_of(live, r)
    with live.session() as s:
        record = s.scalars(select(RiskAssessmentRecord).where(
            RiskAssessmentRecord.conversation_id == conversation.id)
            .order_by(RiskAssessmentRecord.id.desc())).first()
        assert record is not None
        assessed = record.level
    suggested = "imminent" if assessed != "imminent" else "high"

    sato = logged_in(live, "sato")
    page = sato.get(f"/console/cases/{case_id}").text
    assert f"/risk/{record.id}/review" in page and "危険の評価" in page
    answer = sato.post(f"/console/cases/{case_id}/risk/{record.id}/review",
                       data={"level": suggested,
                             "csrf": csrf_of(sato, f"/console/cases/{case_id}")})
    assert answer.status_code == 303 and "notice=review_sent" in answer.headers["location"]
    # Another resident's assessment cannot be marked through this case.
    assert sato.post(f"/console/cases/{case_id}/risk/999999/review",
                     data={"level": suggested, "csrf": csrf_of(sato, "/console/")}
                     ).status_code == 404

    admin = logged_in(live, "admin")
    listing = admin.get("/console/admin/risk-reviews").text
    assert WORDS in listing
    with live.session() as s:
        review = s.scalars(select(RiskReview).where(RiskReview.case_id == case_id)).one()
        assert (review.assessed, review.suggested, review.status) == (assessed, suggested,
                                                                      "open")
        actions = [a for a, in s.execute(select(AuditEntry.action).where(
            AuditEntry.case_id == case_id))]
        assert "risk_mark" in actions and "risk_review_view" in actions

    paraphrase = "高い橋の上にいて、下の川をながめている"
    admin.post(f"/console/admin/risk-reviews/{review.id}/add",
               data={"text": paraphrase, "level": suggested,
                     "csrf": csrf_of(admin, "/console/admin/risk-reviews")})
    with live.session() as s:
        draft = s.scalars(select(ContentDraft).join(
            Counsellor, Counsellor.id == ContentDraft.author_id).where(
            Counsellor.username == "admin")).one()
        corpus = draft.files[REVIEW_FILE]
        assert paraphrase in corpus and WORDS not in corpus
        assert f"level: {suggested}" in corpus
        assert s.scalars(select(RiskReview).where(
            RiskReview.case_id == case_id)).one().status == "added"
    assert WORDS not in admin.get("/console/admin/risk-reviews").text


def test_a_review_can_be_dismissed(live: LiveApp) -> None:
    r, case_id = resident_with_case(live)
    r.say("家賃を払うのが少し遅れそうです")
    conversation = conversation_of(live, r)
    with live.session() as s:
        record_id = s.scalars(select(RiskAssessmentRecord.id).where(
            RiskAssessmentRecord.conversation_id == conversation.id)).first()
    sato = logged_in(live, "sato")
    sato.post(f"/console/cases/{case_id}/risk/{record_id}/review",
              data={"level": "high", "csrf": csrf_of(sato, f"/console/cases/{case_id}")})
    admin = logged_in(live, "admin")
    with live.session() as s:
        review_id = s.scalars(select(RiskReview.id).where(RiskReview.case_id == case_id)).one()
    admin.post(f"/console/admin/risk-reviews/{review_id}/dismiss",
               data={"csrf": csrf_of(admin, "/console/admin/risk-reviews")})
    with live.session() as s:
        assert s.scalars(select(RiskReview.status).where(
            RiskReview.case_id == case_id)).one() == "dismissed"
    # Erasing the conversation (retention) takes the marks of its messages with it.
    with live.session() as s, s.begin():
        erase(session=s, conversation=s.get(Conversation, conversation.id), now=utcnow())
    with live.session() as s:
        assert s.scalars(select(RiskReview).where(RiskReview.id == review_id)).all() == []


def test_a_paraphrase_is_appended_keeping_the_file_as_it_was() -> None:
    empty = "# comment kept\nwriter: review\npersona: p\nmessages: []\n"
    one = append_entry(empty, text="はしのうえ", level="high")
    assert one.startswith("# comment kept\nwriter: review\npersona: p\nmessages:\n"
                          "- id: review-0001")
    two = append_entry(one, text="つぎ", level="none")
    assert two.startswith(one) and "review-0002" in two
