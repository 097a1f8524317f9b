"""What a flow step asks the outside world to do. Plain data; `conversation.py` applies them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Message = dict[str, Any]


@dataclass(frozen=True)
class Send:
    messages: list[Message]


@dataclass(frozen=True)
class OpenCase:
    """Open the resident's case, or bring the open one forward, with the answers so far."""


@dataclass(frozen=True)
class SetConsent:
    scope: Literal["counsellor", "share"]
    granted: bool


@dataclass(frozen=True)
class WithdrawConsent:
    """Every scope withdrawn: stop follow-ups, delete after the retention period."""


@dataclass(frozen=True)
class ForwardToCase:
    text: str


@dataclass(frozen=True)
class SwitchToCurrentVersion:
    """The conversation is at a safe point (starting over): newer flow content applies."""


@dataclass(frozen=True)
class TellWait:
    """Tell the resident where they stand in the queue and how long it may take (or offer the
    safety net), after the step's own messages."""


@dataclass(frozen=True)
class GiveUp:
    """The resident stops waiting: the open case notes when, and keeps their words."""

    words: str


@dataclass(frozen=True)
class RequestCallback:
    """A call-back request for the case. The phone number only with its own consent."""

    window: str | None  # the time window as the resident chose it (the choice's label)
    phone: str | None  # as typed; None without consent
    phone_consent: bool


@dataclass(frozen=True)
class SetLanguage:
    """The resident chose a language (a content/languages code, "ja" for standard Japanese):
    what this step says is said in it, and everything after."""

    code: str


@dataclass(frozen=True)
class SaveContactRules:
    """The resident's contact rules (bot/edge/contact_rules.py), enforced for every message."""

    silent: bool
    neutral: bool
    hours: str  # a window name: any, day, weekday_day, evening


@dataclass(frozen=True)
class QuickExit:
    """「けす」: hold every message from here until the resident writes again."""


Intent = (Send | OpenCase | SetConsent | WithdrawConsent | ForwardToCase | SwitchToCurrentVersion
          | TellWait | GiveUp | RequestCallback | SetLanguage | SaveContactRules | QuickExit)
