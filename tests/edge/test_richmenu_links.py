"""The rich menu link's bookkeeping: what is due, what a result does to it, and a newer choice
never overwritten by an older attempt (the calls themselves: tests/journey/test_languages.py)."""

from __future__ import annotations

from datetime import timedelta

from line_emulator.events import new_user_id
from sqlalchemy.orm import Session, sessionmaker

from bot.db.engine import transaction
from bot.db.models import RichMenuLink, utcnow
from bot.edge import richmenu_links
from bot.edge.line_client import Outcome, SendResult
from bot.edge.richmenu_links import Due

SENT = SendResult(Outcome.SENT, 200)
BUSY = SendResult(Outcome.RETRYABLE, 503, "busy")
REFUSED = SendResult(Outcome.REJECTED, 400, "refused")


def wanted(sessions: sessionmaker[Session], language: str | None) -> str:
    user = new_user_id()
    with transaction(sessions) as s:
        richmenu_links.want(s, user, language)
    return user


def claim(sessions: sessionmaker[Session], user: str, later: timedelta = timedelta()) -> list[Due]:
    with transaction(sessions) as s:
        return [d for d in richmenu_links.claim_due(s, utcnow() + later, limit=1000)
                if d.user_id == user]


def answer(sessions: sessionmaker[Session], due: Due, result: SendResult) -> RichMenuLink:
    with transaction(sessions) as s:
        richmenu_links.record(s, due, result, utcnow())
    with sessions() as s:
        row = s.get(RichMenuLink, due.user_id)
        assert row is not None
        return row


def test_a_wish_is_claimed_once_per_lease_and_done_when_linked(
        sessions: sessionmaker[Session]) -> None:
    user = wanted(sessions, "en")
    [due] = claim(sessions, user)
    assert due.language == "en" and due.attempts == 1
    assert claim(sessions, user) == []  # leased to the sender that took it
    row = answer(sessions, due, SENT)
    assert not row.due and row.last_error is None
    assert claim(sessions, user, timedelta(hours=1)) == []


def test_a_busy_line_is_tried_again_later_and_a_refusal_ends_it(
        sessions: sessionmaker[Session]) -> None:
    user = wanted(sessions, "vi")
    [due] = claim(sessions, user)
    row = answer(sessions, due, BUSY)
    assert row.due and row.last_error == "503 busy"
    assert claim(sessions, user) == []  # not before its back-off
    [again] = claim(sessions, user, timedelta(minutes=10))
    assert again.attempts == 2
    row = answer(sessions, again, REFUSED)
    assert not row.due and row.last_error == "400 refused"  # the default menu stays


def test_an_attempt_for_an_older_choice_leaves_the_newer_one_due(
        sessions: sessionmaker[Session]) -> None:
    user = wanted(sessions, "en")
    [due] = claim(sessions, user)
    with transaction(sessions) as s:
        richmenu_links.want(s, user, "tl")  # chosen again while English was being linked
    row = answer(sessions, due, SENT)
    assert row.due and row.language == "tl"
    [newer] = claim(sessions, user)
    assert newer.language == "tl" and newer.attempts == 1


def test_new_menus_make_every_chosen_language_due_again(sessions: sessionmaker[Session]) -> None:
    english, japanese = wanted(sessions, "en"), wanted(sessions, None)
    with transaction(sessions) as s:
        both = [d for d in richmenu_links.claim_due(s, utcnow(), limit=1000)
                if d.user_id in (english, japanese)]
    assert len(both) == 2
    for due in both:
        answer(sessions, due, SENT)
    with transaction(sessions) as s:
        assert richmenu_links.relink_all(s) >= 1
        richmenu_links.forget(s, japanese)
    assert [d.language for d in claim(sessions, english)] == ["en"]
    with sessions() as s:
        assert s.get(RichMenuLink, japanese) is None
