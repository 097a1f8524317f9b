"""The resident's contact rules: how and when a message from here may reach their phone.

Chosen by the resident (the flow's `contact_rules` states, 「けす」), kept on the conversation,
and applied by the outbox to every push: the bot's, a counsellor's, a follow-up, a wait update.
A push that may not go now is held, never dropped, and says why (`OutboxMessage.held`). A
reply to what the resident has just written always goes: they are looking at the chat.
Pure: the outbox reads and writes the rows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")
EVERY_DAY = frozenset(range(7))
WEEKDAYS = frozenset(range(5))
# The windows a resident can choose (content/flows/intake.yaml `contact_hours` values).
WINDOWS: dict[str, tuple[frozenset[int], time, time]] = {
    "day": (EVERY_DAY, time(9), time(17)),
    "weekday_day": (WEEKDAYS, time(9), time(17)),
    "evening": (EVERY_DAY, time(18), time(22)),
}
# Words the resident wrote this recently: they have the phone in hand, so a push (a
# counsellor's answer in a live chat) may go at once, in any window.
IN_CONVERSATION = timedelta(minutes=10)

# Why a row is held (`OutboxMessage.held`); the console says it in words.
HOURS, NEUTRAL, EXIT = "hours", "neutral", "exit"


@dataclass(frozen=True)
class ContactRules:
    silent: bool = False  # LINE's notificationDisabled: no sound, no vibration
    neutral: bool = False  # the lock screen shows only a neutral notice; the words wait here
    hours: str = "any"  # a WINDOWS name, or "any"
    hold: bool = False  # 「けす」: nothing at all until the resident writes again
    noticed: bool = False  # the neutral notice is out since the resident last wrote
    # The notice's words and its button, in the resident's language (set with the rules).
    notice: str = "お知らせが1件あります。"
    show: str = "見る"

    @classmethod
    def of(cls, stored: dict[str, Any] | None) -> ContactRules:
        stored = stored or {}
        return cls(**{k: v for k, v in stored.items() if k in cls.__dataclass_fields__})

    def stored(self) -> dict[str, Any]:
        """What the conversation keeps: {} for no rules, so most rows stay empty."""
        values = asdict(self)
        return {k: v for k, v in values.items() if v != getattr(ContactRules(), k)}

    def wrote(self) -> ContactRules:
        """The resident wrote: the quick exit's hold ends, and a new notice may be needed."""
        return replace(self, hold=False, noticed=False)

    @property
    def any(self) -> bool:
        return replace(self, notice="", show="") != replace(ContactRules(), notice="", show="")


def allowed_at(rules: ContactRules, when: datetime) -> bool:
    window = WINDOWS.get(rules.hours)
    if window is None:
        return True
    days, start, end = window
    local = when.astimezone(TOKYO)
    return local.weekday() in days and start <= local.time() < end


def next_allowed(rules: ContactRules, when: datetime) -> datetime:
    """The first moment from `when` at which the window is open."""
    window = WINDOWS.get(rules.hours)
    if window is None or allowed_at(rules, when):
        return when
    days, start, _ = window
    local = when.astimezone(TOKYO)
    for ahead in range(8):
        day = (local + timedelta(days=ahead)).date()
        opening = datetime.combine(day, start, tzinfo=TOKYO)
        if day.weekday() in days and opening > local:
            return opening.astimezone(when.tzinfo)
    return when  # unreachable: every window opens within a week


@dataclass(frozen=True)
class Decision:
    held: str | None  # None: send; else why it waits
    not_before: datetime | None = None  # for HOURS: when the window opens
    silent: bool = False
    notice: bool = False  # send the neutral notice now (once until the resident writes)


def decide(rules: ContactRules, now: datetime, last_wrote: datetime | None) -> Decision:
    """What to do with one push to a resident with these rules."""
    if rules.hold:
        return Decision(EXIT, silent=rules.silent)
    if last_wrote is not None and now - last_wrote < IN_CONVERSATION:
        return Decision(None, silent=rules.silent)
    if not allowed_at(rules, now):
        return Decision(HOURS, next_allowed(rules, now), silent=rules.silent)
    if rules.neutral:
        return Decision(NEUTRAL, silent=rules.silent, notice=not rules.noticed)
    return Decision(None, silent=rules.silent)
