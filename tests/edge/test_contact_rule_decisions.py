"""The resident's contact rules, decided for one push with an explicit clock (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.edge.contact_rules import (
    EXIT,
    HOURS,
    NEUTRAL,
    TOKYO,
    ContactRules,
    allowed_at,
    decide,
    next_allowed,
)


def tokyo(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=TOKYO)  # 2026-12-07 is a Monday


def test_no_rules_send_with_sound() -> None:
    d = decide(ContactRules(), tokyo(7, 3), None)
    assert d.held is None and not d.silent and not d.notice


def test_silent_sends_at_once_without_sound() -> None:
    d = decide(ContactRules(silent=True), tokyo(7, 12), None)
    assert d.held is None and d.silent


@pytest.mark.parametrize(("hours", "when", "allowed"), [
    ("day", tokyo(7, 9), True), ("day", tokyo(7, 16, 59), True), ("day", tokyo(7, 17), False),
    ("day", tokyo(12, 10), True),  # every day: a Saturday too
    ("weekday_day", tokyo(12, 10), False), ("weekday_day", tokyo(11, 10), True),
    ("evening", tokyo(7, 21, 30), True), ("evening", tokyo(7, 22, 30), False),
    ("any", tokyo(7, 3), True),
])
def test_windows(hours: str, when: datetime, allowed: bool) -> None:
    assert allowed_at(ContactRules(hours=hours), when) is allowed


def test_outside_the_window_a_push_waits_for_its_opening() -> None:
    rules = ContactRules(hours="weekday_day", silent=True)
    d = decide(rules, tokyo(11, 23), None)  # Friday night
    assert d.held == HOURS and d.silent
    assert d.not_before == tokyo(14, 9)  # Monday 9:00, not Saturday
    assert next_allowed(rules, tokyo(14, 10)) == tokyo(14, 10)


def test_a_resident_writing_now_gets_the_answer_now_whatever_the_window() -> None:
    rules = ContactRules(hours="day", neutral=True)
    now = tokyo(7, 23)
    assert decide(rules, now, now - timedelta(minutes=3)).held is None
    assert decide(rules, now, now - timedelta(minutes=30)).held == HOURS


def test_neutral_holds_the_words_and_sends_one_notice() -> None:
    d = decide(ContactRules(neutral=True), tokyo(7, 12), None)
    assert d.held == NEUTRAL and d.notice
    assert not decide(ContactRules(neutral=True, noticed=True), tokyo(7, 12), None).notice


def test_the_quick_exit_holds_everything_until_the_resident_writes() -> None:
    rules = ContactRules(hold=True)
    assert decide(rules, tokyo(7, 12), tokyo(7, 11, 59)).held == EXIT
    assert decide(rules.wrote(), tokyo(7, 12), tokyo(7, 11, 59)).held is None


def test_only_what_differs_from_no_rules_is_stored() -> None:
    assert ContactRules().stored() == {}
    assert not ContactRules(notice="Notice", show="Open").any
    rules = ContactRules(silent=True, hours="evening")
    assert ContactRules.of(rules.stored()) == rules
    assert ContactRules.of({"silent": True, "unknown": 1}) == ContactRules(silent=True)
