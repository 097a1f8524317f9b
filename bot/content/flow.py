"""The shape of a flow file (`content/flows/*.yaml`), as pydantic models.

A flow is a set of named states. Entering a state sends its `say` bubbles and its `ask`
question; the resident answers with a choice (postback or its label typed), free text, or
anything else. Every state can be left through the flow's global commands.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RESUME = "$resume"  # a target meaning "the state the resident was in before the interruption"

Effect = Literal[
    "open_case",  # hand off: open (or reuse) the resident's case with the answers so far
    "grant_consent_counsellor",  # scope (a): a counsellor reads and answers this chat
    "grant_consent_share",  # scope (b): the summary may be shared with related agencies
    "decline_consent",
    "withdraw_consent",  # stop follow-ups, mark data for deletion after retention
    "forward_to_case",  # free text after handoff goes to the counsellor
    "clear_answers",  # start over: keep nothing of the previous answers
    # Waiting for a person (handoff/waiting.py): the place and expected wait, or the safety
    # net, told after the state's own bubbles.
    "tell_wait",
    "give_up",  # the resident stops waiting (「もういいです」): the case notes it and keeps it
    # A call-back request: the answers `callback_window`, `callback_phone_ok` (`share_phone`
    # consents to the number) and
    # `callback_phone` leave the conversation's answers for the case (the number only with
    # its consent). `cancel_callback` forgets them.
    "request_callback",
    "cancel_callback",
    "set_language",  # the answer `language` becomes the conversation's language
    # The answers contact_silent / contact_neutral / contact_hours become the contact rules,
    # which the outbox enforces for every message (bot/edge/contact_rules.py).
    "save_contact_rules",
    "quick_exit",  # hold every message from here until the resident writes again
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Bubble(Strict):
    """One message bubble; `when` shows it only if every named answer has one of the values."""

    text: str = Field(min_length=1)
    when: dict[str, list[str]] = Field(default_factory=dict)
    # Shown only when each of these copy variables has a value (`needs`), or none has (`unless`):
    # 「まず{first_contact}へ」 only for a town that names its own office first.
    needs: list[str] = Field(default_factory=list)
    unless: list[str] = Field(default_factory=list)


class Choice(Strict):
    label: str = Field(min_length=1)
    value: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")
    next: str | None = None  # None: stay (multi-select) or the ask's `next`
    effects: list[Effect] = Field(default_factory=list)
    record: str | None = None  # the answer key for this choice, instead of the ask's


OptionSet = Literal["municipalities", "known_municipalities", "areas", "teams"]


class Areas(Strict):
    """When the options do not fit in one quick reply, offer their areas first: the chosen
    area is recorded under `record`, and `next` offers the options `within` it."""

    choices_from: OptionSet = "areas"
    record: str = "area"
    next: str


class Unknown(Strict):
    """Where typed words that name nothing lead; `value` is recorded under the ask's `record`."""

    value: str | None = Field(default=None, max_length=40, pattern=r"^[a-z0-9_]+$")
    next: str


class Typed(Strict):
    """A name typed instead of tapped (a town's, matched tolerantly: bot/flows/places_match.py).
    One match is that option chosen; several go to `several`, whose ask offers them `within`
    the answer `_candidates`; none goes to `unknown` (and the words are kept as a note)."""

    choices_from: OptionSet = "known_municipalities"
    several: str
    unknown: Unknown | None = None  # None: ask again, as for any typed non-choice


class Ask(Strict):
    text: list[Bubble] = Field(default_factory=list)  # the question itself (last bubble)
    choices: list[Choice] = Field(default_factory=list)
    # Choices filled from content (e.g. municipalities) and appended after `choices`.
    choices_from: OptionSet | None = None
    # Only the options in the area this answer names, or (a list) these very options.
    within: str | None = None
    areas: Areas | None = None
    typed: Typed | None = None
    record: str | None = None  # answer key the chosen value is stored under
    multi: bool = False  # several values may be chosen; `done` moves on
    done: Choice | None = None
    next: str | None = None  # default target for choices without their own `next`


class FreeText(Strict):
    """What any typed text does in this state (never required to be precise)."""

    record: str | None = None
    next: str | None = None  # None: stay
    effects: list[Effect] = Field(default_factory=list)
    say: list[Bubble] = Field(default_factory=list)  # an acknowledgement before moving on


class State(Strict):
    say: list[Bubble] = Field(default_factory=list)
    ask: Ask | None = None
    free_text: FreeText | None = None
    on_enter: list[Effect] = Field(default_factory=list)
    emergency_contacts: bool = False  # append the hotlines as tel: buttons
    # Offer the global commands (a person, the numbers) before the state's own choices: after
    # an emergency, help comes first and going back to the form later.
    globals_first: bool = False
    # A safe point: a conversation here may move to the newest flow version.
    safe_point: bool = False
    # Not part of the intake proper: global commands and returning residents come back from it.
    interruption: bool = False
    # Shows nothing that tells what this account is (the quick exit): no buttons at all, not
    # even a person and the numbers; anything the resident writes brings them back.
    discreet: bool = False


class Global(Strict):
    """A command available in every state: by postback, by exact words, or by contained words."""

    label: str = Field(min_length=1)
    target: str
    # Where to go instead when the resident has already consented to a counsellor.
    target_if_consented: str | None = None
    keywords: list[str] = Field(default_factory=list)  # the whole message, normalised
    # Anywhere in the message (the words are kept as a note), except in states that forward
    # free text to the counsellor, who reads them anyway.
    contains: list[str] = Field(default_factory=list)
    effects: list[Effect] = Field(default_factory=list)
    quick_reply: bool = False  # offered as a quick reply under every question
    # The `contains` words count in states that forward free text too (the words are still
    # forwarded): 「あとどのくらい待ちますか」 while waiting is a question to answer now.
    contains_while_forwarding: bool = False


class Messages(Strict):
    """Copy the engine itself needs, whatever the state."""

    non_text: list[Bubble]  # a sticker, image, audio... : thanks, then the question again
    not_a_choice: list[Bubble]  # a typed answer that matches no choice, where one is needed
    stale_button: list[Bubble]  # a button from an earlier question
    welcome_back: list[Bubble]  # a resident returning after `idle_hours`
    resume_label: str = Field(min_length=1, max_length=20)  # quick-reply labels: LINE's 20
    restart_label: str = Field(min_length=1, max_length=20)


class Flow(Strict):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    start: str
    idle_hours: float = 24.0
    states: dict[str, State]
    globals: dict[str, Global] = Field(default_factory=dict)
    messages: Messages
