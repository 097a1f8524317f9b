"""How long a resident will wait for a person, as an honest range. Pure: no I/O.

The queue is read elsewhere (handoff/waiting.py) into a `QueueView`; this module turns it into
minutes and decides whether a new figure is worth telling. The figures are a range because the
wait is uncertain, and the range's factors are calibrated against the real waits of the waiting
benchmark (benchmarks/waiting_bench.py prints how many real waits fall inside it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.content.schema import Waiting

# With fewer pick-ups than this in the pace window, the pace says too little: the counsellors
# on duty and the content's minutes per case set the rate instead.
MIN_PICKUPS = 3
# The told range around the expected wait E: [E × LOW, E × HIGH + PAD], on 5-minute steps.
# Real waits run longer more often than shorter (a long conversation ahead, a break nobody
# announced, an urgent case going first), so the range reaches further up than down.
# Calibrated on benchmarks/waiting_bench.py (200 residents, 3 counsellors, long-tailed case
# times, unannounced breaks, urgent cases): about 85 % of real waits fell inside. Check it
# against real waits (the case page shows each one; handoff.waiting.wait_error) and adjust.
LOW_FACTOR = 0.75
HIGH_FACTOR = 1.35
HIGH_PAD = 5.0
STEP = 5


@dataclass(frozen=True)
class QueueView:
    """Where one waiting case stands, as the estimate needs it."""

    place: int  # 1 + the team's waiting cases opened before this one (a set that only shrinks)
    ahead: int  # the team's waiting cases counsellors take before this one (priority order)
    available: int  # counsellors of the team answering now
    pickups: int  # the team's cases claimed within the pace window
    pace_window: timedelta  # the last pace_window_minutes, or since the desk opened today
    open_now: bool  # within the team's hours


@dataclass(frozen=True)
class Estimate:
    low: int  # minutes, a multiple of STEP (0: it may be any moment)
    high: int
    expected: float  # the centre the range was built around, in minutes

    @property
    def midpoint(self) -> float:
        return (self.low + self.high) / 2


@dataclass(frozen=True)
class Told:
    """What the resident was last told (stored on the case as `wait_told`)."""

    at: datetime
    place: int
    low: int | None  # None: no figure was given (closed, or nobody on duty)
    high: int | None
    net: bool = False  # the safety net was offered with it

    @property
    def midpoint(self) -> float | None:
        return None if self.low is None or self.high is None else (self.low + self.high) / 2

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "place": self.place, "low": self.low,
                "high": self.high, "net": self.net}

    @classmethod
    def from_json(cls, value: dict[str, Any] | None) -> Told | None:
        if not value or "at" not in value:
            return None
        return cls(at=datetime.fromisoformat(str(value["at"])), place=int(value["place"]),
                   low=value.get("low"), high=value.get("high"), net=bool(value.get("net")))


def rate(view: QueueView, rules: Waiting) -> float:
    """Cases picked up per minute: the recent pace when there is one, else what the
    counsellors on duty would manage at the content's minutes per case (0: nobody)."""
    if view.pickups >= MIN_PICKUPS:
        return view.pickups / (view.pace_window.total_seconds() / 60)
    return view.available / rules.minutes_per_case


def estimate(view: QueueView, rules: Waiting) -> Estimate | None:
    """The expected wait as a range in minutes; None when it cannot honestly be said (the desk
    is closed, or nobody is on duty and nothing was picked up lately)."""
    per_minute = rate(view, rules)
    if not view.open_now or per_minute <= 0:
        return None
    expected = (view.ahead + 1) / per_minute
    # Fewer people ahead than counsellors on duty: one of them may be free right now.
    low = 0 if view.ahead < view.available else STEP * math.floor(expected * LOW_FACTOR / STEP)
    high = STEP * math.ceil((expected * HIGH_FACTOR + HIGH_PAD) / STEP)
    return Estimate(low=low, high=max(high, low + STEP), expected=expected)


def overloaded(found: Estimate | None, rules: Waiting) -> bool:
    return found is not None and found.expected > rules.overload_minutes


def clamp_place(place: int, told: Told | None) -> int:
    """Never a higher place than told before. The place counts the team's cases opened earlier,
    a set that only shrinks; it can grow only when the case moves to another team's queue (a
    transfer), and a resident who was told "two before you" is not then told "seven"."""
    return min(place, told.place) if told is not None else place


def material(told: Told | None, place: int, found: Estimate | None, rules: Waiting,
             now: datetime) -> bool:
    """Worth telling again: nothing told yet; or at least `update_every_minutes` since the last
    time and something the resident would want to know changed: they moved up by a quarter of
    their place or more (by one, near the front), a figure appeared or went away, or the wait
    now differs from what was told, less the time since, by `material_minutes` or a quarter,
    whichever is more. A queue
    moving as told is not news: each push interrupts someone's evening (and LINE bills it)."""
    if told is None:
        return True
    elapsed = now - told.at
    if elapsed < timedelta(minutes=rules.update_every_minutes):
        return False
    if told.place - place >= max(1, math.ceil(told.place / 4)):
        return True
    before = told.midpoint
    if (before is None) != (found is None):
        return True
    if before is None or found is None:
        return False
    as_told = max(0.0, before - elapsed.total_seconds() / 60)
    # Ten minutes matter in a wait of twenty, not in one of three hours: a quarter of it, then.
    return abs(found.midpoint - as_told) >= max(rules.material_minutes, as_told / 4)
