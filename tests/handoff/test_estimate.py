"""The wait estimate and the update rule, on their own (handoff/estimate.py is pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.content.schema import Waiting
from handoff.estimate import (
    Estimate,
    QueueView,
    Told,
    clamp_place,
    estimate,
    material,
    overloaded,
    rate,
)

RULES = Waiting(minutes_per_case=20, pace_window_minutes=120, update_every_minutes=15,
                material_minutes=10, overload_minutes=60)
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 11:00 in Tokyo


def view(*, ahead: int = 0, available: int = 1, pickups: int = 0, open_now: bool = True,
         place: int | None = None) -> QueueView:
    return QueueView(place=ahead + 1 if place is None else place, ahead=ahead,
                     available=available, pickups=pickups, pace_window=timedelta(minutes=120),
                     open_now=open_now)


def test_with_no_recent_pace_the_counsellors_on_duty_set_the_rate() -> None:
    assert rate(view(available=2, pickups=2), RULES) == pytest.approx(2 / 20)
    # Two people ahead, one counsellor at 20 minutes a case: about an hour.
    found = estimate(view(ahead=2, available=1), RULES)
    assert found == Estimate(low=45, high=90, expected=60.0)


def test_three_pick_ups_in_the_window_set_the_pace() -> None:
    # 12 pick-ups in two hours: one every 10 minutes, whoever is marked available.
    assert rate(view(available=0, pickups=12), RULES) == pytest.approx(0.1)
    found = estimate(view(ahead=1, available=0, pickups=12), RULES)
    assert found is not None and found.expected == pytest.approx(20)
    assert (found.low, found.high) == (15, 35)


def test_nobody_on_duty_and_no_pace_is_unknown_not_a_guess() -> None:
    assert estimate(view(ahead=3, available=0, pickups=2), RULES) is None


def test_a_closed_desk_has_no_figure() -> None:
    assert estimate(view(ahead=0, available=3, pickups=10, open_now=False), RULES) is None


def test_first_in_line_with_people_on_duty_may_be_any_moment() -> None:
    found = estimate(view(ahead=0, available=3), RULES)
    assert found is not None and found.low == 0 and found.high == 15


def test_fewer_ahead_than_on_duty_may_be_any_moment() -> None:
    assert estimate(view(ahead=2, available=3), RULES) == Estimate(0, 35, 20.0)
    found = estimate(view(ahead=3, available=3), RULES)
    assert found is not None and found.low > 0


def test_overload_is_judged_on_the_expected_wait() -> None:
    assert not overloaded(estimate(view(ahead=2, available=1), RULES), RULES)  # 60 minutes
    assert overloaded(estimate(view(ahead=3, available=1), RULES), RULES)  # 80 minutes
    assert not overloaded(None, RULES)


@given(ahead=st.integers(0, 300), available=st.integers(0, 20), pickups=st.integers(0, 200))
def test_the_range_is_ordered_on_five_minute_steps_around_the_expected_wait(
        ahead: int, available: int, pickups: int) -> None:
    found = estimate(view(ahead=ahead, available=available, pickups=pickups), RULES)
    if found is None:
        assert available == 0 and pickups < 3
        return
    assert 0 <= found.low < found.high
    assert found.low % 5 == 0 and found.high % 5 == 0
    assert found.low <= found.expected <= found.high


@given(ahead=st.integers(0, 300), more=st.integers(1, 50), available=st.integers(0, 20),
       pickups=st.integers(0, 200))
def test_more_people_ahead_never_shortens_the_wait(ahead: int, more: int, available: int,
                                                    pickups: int) -> None:
    shorter = estimate(view(ahead=ahead, available=available, pickups=pickups), RULES)
    longer = estimate(view(ahead=ahead + more, available=available, pickups=pickups), RULES)
    if shorter is None or longer is None:
        assert shorter is None and longer is None
        return
    assert (longer.low, longer.high) >= (shorter.low, shorter.high)
    assert longer.low >= shorter.low and longer.high >= shorter.high


@given(ahead=st.integers(0, 100), available=st.integers(1, 10), extra=st.integers(1, 10))
def test_more_counsellors_never_lengthen_the_wait(ahead: int, available: int,
                                                  extra: int) -> None:
    fewer = estimate(view(ahead=ahead, available=available), RULES)
    more = estimate(view(ahead=ahead, available=available + extra), RULES)
    assert fewer is not None and more is not None
    assert more.low <= fewer.low and more.high <= fewer.high


def told(minutes_ago: float, place: int, low: int | None, high: int | None) -> Told:
    return Told(NOW - timedelta(minutes=minutes_ago), place, low, high)


def test_the_first_telling_is_always_due() -> None:
    assert material(None, 4, None, RULES, NOW)


def test_no_update_sooner_than_the_content_allows_even_when_it_moved() -> None:
    assert not material(told(14, 5, 60, 95), 2, Estimate(10, 35, 20), RULES, NOW)


def test_moving_up_by_a_quarter_of_the_place_is_worth_telling() -> None:
    assert material(told(15, 8, 60, 95), 6, Estimate(45, 80, 60), RULES, NOW)
    assert not material(told(15, 8, 60, 95), 7, Estimate(45, 80, 60), RULES, NOW)
    assert material(told(15, 3, 10, 35), 2, Estimate(5, 25, 12), RULES, NOW)  # near the front


def test_a_queue_moving_as_told_is_not_worth_a_push() -> None:
    # Told 60 to 95 minutes forty minutes ago: some 20 to 55 now is what was said.
    assert not material(told(40, 5, 60, 95), 5, Estimate(20, 55, 35), RULES, NOW)


def test_a_wait_longer_than_told_is_worth_telling() -> None:
    # Forty minutes on, it is still an hour or more: the resident should hear it honestly.
    assert material(told(40, 5, 60, 95), 5, Estimate(55, 95, 58), RULES, NOW)


def test_a_small_drift_in_a_long_wait_is_not_worth_a_push() -> None:
    # Three hours told: twenty minutes either way is not news (a quarter of it would be).
    assert not material(told(20, 30, 150, 215), 29, Estimate(140, 195, 150), RULES, NOW)


def test_the_middle_moving_by_the_material_minutes_is_worth_telling() -> None:
    # A new counsellor came on duty: the same place, the wait halved.
    assert material(told(20, 5, 60, 95), 5, Estimate(30, 50, 40), RULES, NOW)


def test_a_figure_appearing_or_going_away_is_worth_telling() -> None:
    assert material(told(20, 3, None, None), 3, Estimate(20, 50, 40), RULES, NOW)
    assert material(told(20, 3, 20, 50), 3, None, RULES, NOW)
    assert not material(told(20, 3, None, None), 3, None, RULES, NOW)


def test_the_place_told_never_goes_up() -> None:
    assert clamp_place(7, told(5, 2, 10, 35)) == 2  # moved into a longer queue: still 2
    assert clamp_place(1, told(5, 2, 10, 35)) == 1
    assert clamp_place(4, None) == 4


def test_what_was_told_round_trips_through_the_case() -> None:
    t = Told(NOW, 3, 20, 50, net=True)
    assert Told.from_json(t.to_json()) == t
    assert Told.from_json(None) is None and Told.from_json({}) is None
