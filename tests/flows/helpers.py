"""Small helpers shared by the flow tests: a runner on the shipped content, and a chat driver."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.flows import intents as it
from bot.flows.engine import RETURN_TO, Dialogue, FlowContext, FlowRunner, Input, Step, choice_data
from bot.flows.respond import context_for
from bot.flows.routing import option_groups, option_sets, places_matcher, variables
from bot.releases.load import Content

TOKYO = ZoneInfo("Asia/Tokyo")
# A Tuesday morning: every team in content/places.yaml is on duty.
FIXED_NOW = datetime(2026, 11, 24, 10, 0, tzinfo=TOKYO)
LONG_AWAY = timedelta(hours=25)  # more than the intake's idle_hours

Message = dict[str, Any]

# Plausible answers, in the order the intake asks for them.
TROUBLE = {"trouble": "家賃が払えなくて困っています"}
WHO = {**TROUBLE, "consulting_for": "self"}
AREAS = {**WHO, "life_areas": ["money", "housing"]}
URGENCY = {**AREAS, "urgent_needs": ["food"]}
PLACE = {**URGENCY, "municipality": "midori"}
AGE = {**PLACE, "age_band": "thirties"}
CONTACT = {**AGE, "contact_method": "line"}
ALL_ANSWERS = {**CONTACT, "contact_time": "weekday_day"}
COUNSELLOR = {"counsellor": True}

# A dialogue in each state of the intake, as a resident would have got there.
DIALOGUES: dict[str, Dialogue] = {
    "welcome": Dialogue("welcome"),
    "info": Dialogue("info"),
    "trouble": Dialogue("trouble"),
    "who": Dialogue("who", dict(TROUBLE)),
    "areas": Dialogue("areas", dict(WHO)),
    "urgency": Dialogue("urgency", dict(AREAS)),
    "municipality": Dialogue("municipality", dict(URGENCY)),
    "municipality_area": Dialogue("municipality_area", {**URGENCY, "area": "east"}),
    "municipality_which": Dialogue("municipality_which",
                                   {**URGENCY, "_candidates": ["aoba", "umi"]}),
    "municipality_name": Dialogue("municipality_name", {**URGENCY, "municipality": "elsewhere"}),
    "centre": Dialogue("centre", dict(PLACE)),
    "centre_pick": Dialogue("centre_pick", dict(PLACE)),
    "age": Dialogue("age", dict(PLACE)),
    "contact": Dialogue("contact", dict(AGE)),
    "contact_time": Dialogue("contact_time", dict(CONTACT)),
    "consent_counsel": Dialogue("consent_counsel", dict(ALL_ANSWERS)),
    "handoff": Dialogue("handoff", dict(ALL_ANSWERS), dict(COUNSELLOR)),
    "declined": Dialogue("declined", dict(ALL_ANSWERS), {"counsellor": False}),
    "emergency": Dialogue("emergency", {**AREAS, RETURN_TO: "urgency"}),
    "paused": Dialogue("paused", {**WHO, RETURN_TO: "areas"}),
    "withdrawn": Dialogue("withdrawn", dict(ALL_ANSWERS), {"counsellor": False, "share": False}),
    "waiting": Dialogue("waiting", dict(ALL_ANSWERS), dict(COUNSELLOR)),
    "gave_up": Dialogue("gave_up", {**ALL_ANSWERS, RETURN_TO: "handoff"}, dict(COUNSELLOR)),
    "callback": Dialogue("callback", dict(ALL_ANSWERS), dict(COUNSELLOR)),
    "callback_phone_ok": Dialogue("callback_phone_ok",
                                  {**ALL_ANSWERS, "callback_window": "weekday_evening"},
                                  dict(COUNSELLOR)),
    "callback_phone": Dialogue("callback_phone", {**ALL_ANSWERS,
                                                  "callback_window": "weekday_evening",
                                                  "callback_phone_ok": "share_phone"},
                               dict(COUNSELLOR)),
    "callback_line": Dialogue("callback_line", dict(ALL_ANSWERS), dict(COUNSELLOR)),
    "callback_done": Dialogue("callback_done", dict(ALL_ANSWERS), dict(COUNSELLOR)),
    "language": Dialogue("language", {**WHO, RETURN_TO: "areas"}),
    "contact_rules": Dialogue("contact_rules", {**ALL_ANSWERS, RETURN_TO: "handoff"},
                              dict(COUNSELLOR)),
    "contact_neutral": Dialogue("contact_neutral", {**ALL_ANSWERS, RETURN_TO: "handoff",
                                                    "contact_silent": "yes"}, dict(COUNSELLOR)),
    "contact_hours": Dialogue("contact_hours", {**ALL_ANSWERS, RETURN_TO: "handoff",
                                                "contact_silent": "yes",
                                                "contact_neutral": "no"}, dict(COUNSELLOR)),
    "contact_saved": Dialogue("contact_saved", {**ALL_ANSWERS, RETURN_TO: "handoff"},
                              dict(COUNSELLOR)),
    "quick_exit": Dialogue("quick_exit", {**ALL_ANSWERS, RETURN_TO: "handoff"}, dict(COUNSELLOR)),
}


def context_of(content: Content, now: datetime = FIXED_NOW) -> FlowContext:
    """The context `FlowLibrary` builds, with a fixed clock."""
    places = content.places
    return FlowContext(
        hotlines=content.resources.hotlines,
        option_sets=option_sets(places),
        variables=lambda answers: variables(places, answers, now),
        option_groups=option_groups(places),
        match=places_matcher(places),
    )


def intake_runner(content: Content, now: datetime = FIXED_NOW) -> FlowRunner:
    return FlowRunner(content.flows["intake"].flow, context_of(content, now))


def language_runner(content: Content, code: str, now: datetime = FIXED_NOW) -> FlowRunner:
    """The intake as a resident of language `code` meets it (as `FlowLibrary` words it)."""
    local = content.for_language(code)
    return FlowRunner(content.worded(content.flows["intake"].flow, code),
                      context_for(local.resources, local.places, lambda: now, local.tr))


def text(body: str) -> Input:
    return Input("text", text=body)


def postback(data: str) -> Input:
    return Input("postback", data=data)


def choose(state: str, value: str) -> Input:
    return postback(choice_data(state, value))


STICKER = Input("other_message")


def messages_of(step: Step) -> list[Message]:
    return [m for i in step.intents if isinstance(i, it.Send) for m in i.messages]


def intents_of(step: Step, kind: type) -> list[Any]:
    return [i for i in step.intents if isinstance(i, kind)]


def texts_of(step: Step) -> list[str]:
    """The visible text of every message (a text message's, a template's, or a Flex message's
    alt text, which lists its numbers)."""
    out = []
    for m in messages_of(step):
        if m["type"] == "text":
            out.append(m["text"])
        else:
            out.append(m["template"]["text"] if m["type"] == "template" else m["altText"])
    return out


def call_actions(messages: list[Message]) -> list[dict[str, Any]]:
    """The `tel:` buttons of these messages, in order, wherever they sit (a template's actions,
    a Flex message's buttons)."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "uri" and str(node.get("uri", "")).startswith("tel:"):
                found.append(node)
            for key, value in node.items():
                if key != "quickReply":
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(messages)
    return found


def tel_links(messages: list[Message]) -> list[str]:
    """The numbers these messages offer to call, as the `tel:` URIs of their buttons, in order."""
    return [a["uri"] for a in call_actions(messages)]


def quick_replies(message: Message) -> list[dict[str, Any]]:
    """The actions of a message's quick reply buttons."""
    return [item["action"] for item in (message.get("quickReply") or {}).get("items", [])]


def offered(step: Step) -> list[dict[str, Any]]:
    """The quick replies under the last message of a step (what the resident can tap)."""
    sent = messages_of(step)
    return quick_replies(sent[-1]) if sent else []


def labels(step: Step) -> list[str]:
    return [a["label"] for a in offered(step)]


class Chat:
    """Drives one conversation through a runner, keeping the dialogue between steps."""

    def __init__(self, runner: FlowRunner, dialogue: Dialogue | None = None) -> None:
        self.runner = runner
        if dialogue is None:
            first = runner.start()
            dialogue = Dialogue(first.state, first.answers, first.consent)
            self.last = first
        else:  # as if the state's question were the last thing the resident saw
            seen = runner.question(dialogue.state, dialogue.answers)
            self.last = Step(dialogue.state, dialogue.answers, dialogue.consent, [it.Send(seen)])
        self.dialogue = dialogue

    @property
    def state(self) -> str:
        return self.dialogue.state

    @property
    def answers(self) -> dict[str, Any]:
        return self.dialogue.answers

    @property
    def consent(self) -> dict[str, bool]:
        return self.dialogue.consent

    def send(self, inp: Input, *, idle_for: timedelta | None = None) -> Step:
        step = self.runner.step(self.dialogue, inp, idle_for=idle_for)
        self.dialogue = Dialogue(step.state, step.answers, step.consent)
        self.last = step
        return step

    def say(self, body: str, *, idle_for: timedelta | None = None) -> Step:
        return self.send(text(body), idle_for=idle_for)

    def tap(self, label: str) -> Step:
        """Taps the quick reply with this label under the last answer (it must be offered)."""
        actions = [a for a in offered(self.last) if a["label"] == label]
        assert actions, f"no quick reply {label!r} in {labels(self.last)} (state {self.state})"
        return self.send(postback(actions[0]["data"]))
