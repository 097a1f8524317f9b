"""Runs a flow: one resident input in, the next state and intents out. Pure: no I/O.

A `transitions.Machine` is built once per flow version (model=None) and a conversation's
`Dialogue` is attached for the duration of one step, as the transitions README suggests for
many models sharing one machine.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import parse_qs

from transitions import Machine

from bot.content.flow import RESUME, Ask, Choice, Effect, Flow, Global, State
from bot.flows import intents as it
from bot.flows.render import (
    CANDIDATES,
    FlowContext,
    Renderer,
    choice_data,
    global_data,
    placeholders,
    postback_action,
)

RETURN_TO = "_return_to"
NOTES = "_notes"
# The answers of a call-back request (the `request_callback` effect takes them out).
CALLBACK_WINDOW, CALLBACK_PHONE_OK, CALLBACK_PHONE = (
    "callback_window", "callback_phone_ok", "callback_phone")
PHONE_CONSENTED = "share_phone"  # the `callback_phone_ok` answer that consents to the number
# Answers that leave the conversation's answers for its own columns: the language chosen and
# the contact rules (an answer would be cleared by 最初から; a safety rule must not be).
LANGUAGE = "language"
CONTACT_SILENT, CONTACT_NEUTRAL, CONTACT_HOURS = (
    "contact_silent", "contact_neutral", "contact_hours")


@dataclass(frozen=True)
class Input:
    kind: Literal["follow", "unfollow", "text", "postback", "other_message", "ignored"]
    text: str = ""
    data: str = ""


@dataclass(eq=False)
class Dialogue:
    """The conversation as the machine sees it (the transitions model). Compared by identity:
    the machine keeps its models in a list and skips one "already there", so two residents in
    the same state with the same answers, stepped at once by the worker's threads, would
    otherwise share one registration and the second removal would fail."""

    state: str
    answers: dict[str, Any] = field(default_factory=dict)
    consent: dict[str, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    state: str
    answers: dict[str, Any]
    consent: dict[str, bool]
    intents: list[it.Intent]


def normalise(text: str) -> str:
    """NFKC (full-width → half-width and so on), case folded (a phone capitalises the first
    letter of "help"), no surrounding blanks or end punctuation."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_QUOTES)
    return folded.strip().rstrip("。.!！?？ ").strip()


# A phone's typographic apostrophe ("can’t") is the keyboard's.
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'"})


_UNREADABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]|[\ud800-\udfff]")


def readable(text: str) -> str:
    """The words without what no database or tokenizer takes: a NUL or other control becomes a
    space, a lone surrogate (half an emoji from a broken client) U+FFFD. Nothing else changes,
    so the message is still stored, assessed and answered."""
    if not _UNREADABLE.search(text):
        return text
    return _UNREADABLE.sub(lambda m: "\ufffd" if m.group() >= "\ud800" else " ", text)


def input_of(event: Mapping[str, Any]) -> Input:
    kind = event.get("type")
    if kind in ("follow", "unfollow"):
        return Input(kind)
    if kind == "postback":
        return Input("postback", data=str((event.get("postback") or {}).get("data") or ""))
    if kind == "message":
        message = event.get("message") or {}
        if message.get("type") == "text":
            return Input("text", text=readable(str(message.get("text") or "")))
        return Input("other_message")
    return Input("ignored")


def _trigger(value: str) -> str:
    return f"choose__{value}"


def _global_trigger(name: str, consented: bool) -> str:
    return f"global__{name}__{'consented' if consented else 'any'}"


def build_machine(flow: Flow, *, machine_class: type[Machine] = Machine,
                  include_globals: bool = True, **options: Any) -> Machine:
    """The flow's states and transitions as a transitions machine (no models attached)."""
    machine = machine_class(model=None, states=list(flow.states), initial=flow.start,
                            auto_transitions=False, ignore_invalid_triggers=False, **options)
    for name, state in flow.states.items():
        ask = state.ask
        if ask is not None:
            for choice in [*ask.choices, *([ask.done] if ask.done else [])]:
                dest = choice.next or (None if ask.multi and choice is not ask.done else ask.next)
                if dest != RESUME:
                    machine.add_transition(_trigger(choice.value), name, dest or name)
            if (ask.choices_from or ask.typed) and ask.next and ask.next != RESUME:
                machine.add_transition("choose_option", name, ask.next)
            if ask.areas is not None:
                machine.add_transition("choose_area", name, ask.areas.next)
            if ask.typed is not None:
                machine.add_transition("typed_several", name, ask.typed.several)
                if ask.typed.unknown is not None:
                    machine.add_transition("typed_unknown", name, ask.typed.unknown.next)
        if state.free_text is not None and state.free_text.next != RESUME:
            machine.add_transition("free_text", name, state.free_text.next or name)
    for gname, glob in flow.globals.items() if include_globals else ():
        machine.add_transition(_global_trigger(gname, False), "*", glob.target)
        machine.add_transition(_global_trigger(gname, True), "*",
                               glob.target_if_consented or glob.target)
    return machine


class FlowRunner(Renderer):
    """One flow version, ready to run steps. Build once, reuse for every conversation."""

    def __init__(self, flow: Flow, context: FlowContext) -> None:
        super().__init__(flow, context)
        self.machine = build_machine(flow)

    # ------------------------------------------------------------------ stepping

    def start(self) -> Step:
        answers: dict[str, Any] = {}
        intents: list[it.Intent] = [it.Send(self.entry(self.flow.start, answers))]
        return Step(self.flow.start, answers, {}, self._one_tap_away(intents, self.flow.start))

    def step(self, dialogue: Dialogue, inp: Input, *, idle_for: timedelta | None = None) -> Step:
        """The resident's next input in the conversation's current state."""
        d = Dialogue(dialogue.state if dialogue.state in self.flow.states else self.flow.start,
                     copy.deepcopy(dialogue.answers), dict(dialogue.consent))
        out: list[it.Intent] = []
        self.machine.add_model(d, initial=d.state)
        try:
            self._step(d, inp, out, idle_for)
        finally:
            self.machine.remove_model(d)
        return Step(d.state, d.answers, d.consent,
                    self._one_tap_away(_merge_sends(out), d.state, d.answers))

    def _one_tap_away(self, intents: list[it.Intent], state: str,
                      answers: Mapping[str, Any] | None = None) -> list[it.Intent]:
        """Every answer ends with buttons: at least a person and the emergency numbers."""
        sends = [i for i in intents if isinstance(i, it.Send) and i.messages]
        if not sends or "quickReply" in sends[-1].messages[-1] or \
                self.flow.states[state].discreet:
            return intents
        items = self.quick_replies(state, answers)
        if items:
            sends[-1].messages[-1]["quickReply"] = {"items": items}
        return intents

    def _step(self, d: Dialogue, inp: Input, out: list[it.Intent],
              idle_for: timedelta | None) -> None:
        if inp.kind in ("ignored", "unfollow"):
            return
        if inp.kind == "follow":
            if d.answers or d.state != self.flow.start:
                self._returning(d, out)
            else:
                out.append(it.Send(self.entry(d.state, d.answers)))
            return
        if inp.kind == "other_message":
            out.append(it.Send(self._plain(self.flow.messages.non_text, d.answers)
                               + self.question(d.state, d.answers)))
            return
        if inp.kind == "postback":
            self._postback(d, inp.data, out)
            return
        text = inp.text
        glob, exact = self._global_for_text(text, d.state)
        if glob is not None and exact and \
                self.typed_choice(d.state, text, d.answers) is not None:
            # The words of a button on screen are that button, even where they are also a
            # command's (「tanpa suara」: the contact settings' word and their "no sound").
            glob = None
        if glob is not None:
            if not exact and self._forwarding(d.state):
                out.append(it.ForwardToCase(text))  # a counsellor reads the words, as always
            elif not exact:
                self._note(d, text)  # more than a command: the words matter too
            self._fire_global(d, glob, out, text)
            return
        if idle_for is not None and idle_for >= timedelta(hours=self.flow.idle_hours) \
                and not self.flow.states[d.state].safe_point:
            self._note(d, text)
            self._returning(d, out)
            return
        self._text(d, text, out)

    def _returning(self, d: Dialogue, out: list[it.Intent]) -> None:
        """A resident back after a while: offer to go on where they were, or start over."""
        m = self.flow.messages
        welcome = self._plain(m.welcome_back, d.answers)
        welcome[-1]["quickReply"] = {"items": [
            {"type": "action", "action": postback_action(m.resume_label, global_data("resume"))},
            {"type": "action", "action": postback_action(m.restart_label, global_data("restart"))},
        ]}
        out.append(it.Send(welcome))

    def _postback(self, d: Dialogue, data: str, out: list[it.Intent]) -> None:
        fields = {k: v[0] for k, v in parse_qs(data).items() if v}
        if "g" in fields:
            if fields["g"] == "resume":
                self._move(d, d.state, out, reenter=True)
                return
            glob_name = fields["g"] if fields["g"] in self.flow.globals else None
            if glob_name is not None:
                self._fire_global(d, glob_name, out)
                return
        value = fields.get("v")
        choice = next((c for c in self.choices_of(d.state, d.answers) if c.value == value),
                      None)
        if fields.get("s") != d.state or choice is None:
            out.append(it.Send(self._plain(self.flow.messages.stale_button, d.answers)
                               + self.question(d.state, d.answers)))
            return
        self._choose(d, choice, out)

    def typed_choice(self, state: str, text: str,
                     answers: Mapping[str, Any] | None = None) -> Choice | None:
        """The state's choice whose label these words are (typed instead of tapped)."""
        if state not in self.flow.states:
            return None
        typed = normalise(text)
        return next((c for c in self.choices_of(state, answers) if normalise(c.label) == typed),
                    None)

    def is_command(self, state: str, text: str,
                   answers: Mapping[str, Any] | None = None) -> bool:
        """These words are a button's label or a global command here, not the resident's own."""
        return self.typed_choice(state, text, answers) is not None or \
            (state in self.flow.states and self._global_for_text(text, state)[0] is not None)

    def _text(self, d: Dialogue, text: str, out: list[it.Intent]) -> None:
        state = self.flow.states[d.state]
        choice = self.typed_choice(d.state, text, d.answers)
        if choice is not None:
            self._choose(d, choice, out)
            return
        if state.ask is not None and state.ask.typed is not None and \
                self._typed_name(d, state.ask, text, out):
            return
        free = state.free_text
        if free is not None:
            if free.record:
                d.answers[free.record] = text
            self._effects(d, free.effects, out, text=text)
            ack = self._plain(free.say, d.answers)
            if ack:
                out.append(it.Send(ack))
            self._move(d, free.next or d.state, out, reenter=free.next is not None,
                       trigger="free_text")
            return
        # A question that wants a choice: keep the words for the counsellor, ask again gently.
        self._note(d, text)
        out.append(it.Send(self._plain(self.flow.messages.not_a_choice, d.answers)
                           + self.question(d.state, d.answers)))

    def _typed_name(self, d: Dialogue, ask: Ask, text: str, out: list[it.Intent]) -> bool:
        """A name typed for an option (a town's): chosen when it names one, asked which when it
        could be several, else where `typed.unknown` leads (False: no such place, as before)."""
        typed = ask.typed
        assert typed is not None
        found = self.context.match(typed.choices_from, text)
        if len(found) == 1 and ask.record and ask.next:
            d.answers[ask.record] = found[0]
            self._move(d, ask.next, out, trigger="choose_option")
            return True
        if found:
            d.answers[CANDIDATES] = found
            self._move(d, typed.several, out, trigger="typed_several")
            return True
        if typed.unknown is None:
            return False
        self._note(d, text)  # the counsellor sees what was written
        if typed.unknown.value and ask.record:
            d.answers[ask.record] = typed.unknown.value
        self._move(d, typed.unknown.next, out, trigger="typed_unknown")
        return True

    def _choose(self, d: Dialogue, choice: Choice, out: list[it.Intent]) -> None:
        ask = self.flow.states[d.state].ask
        assert ask is not None
        is_done = ask.done is not None and choice.value == ask.done.value
        if choice.record and not ask.multi:
            d.answers[choice.record] = choice.value
        elif ask.record and not is_done:
            if ask.multi:
                chosen = list(d.answers.get(ask.record) or [])
                if choice.value in chosen:
                    chosen.remove(choice.value)
                else:
                    chosen.append(choice.value)
                d.answers[ask.record] = chosen
            else:
                d.answers[ask.record] = choice.value
        self._effects(d, choice.effects, out)
        target = choice.next or (None if ask.multi and not is_done else ask.next)
        if target is None:  # multi-select: stay and show what is chosen
            out.append(it.Send(self.question(d.state, d.answers)))
            return
        is_option = not any(c.value == choice.value for c in [*ask.choices, *(
            [ask.done] if ask.done else [])])
        is_area = is_option and ask.areas is not None and choice.record == ask.areas.record
        self._move(d, target, out, trigger="choose_area" if is_area else
                   "choose_option" if is_option else _trigger(choice.value))

    def _global_for_text(self, text: str, state: str) -> tuple[str | None, bool]:
        """The global command these words give, and whether they were exactly its keyword."""
        typed = normalise(text)
        for name, glob in self.flow.globals.items():
            # Its button's words typed are the command too (in whatever language they are).
            if typed == normalise(glob.label) or typed in (normalise(k) for k in glob.keywords):
                return name, True
        # A counsellor reads a forwarding state's words anyway: forward, don't divert, unless
        # the global answers something the words ask now (the wait).
        forwarding = self._forwarding(state)
        for name, glob in self.flow.globals.items():
            if forwarding and not glob.contains_while_forwarding:
                continue
            if any(normalise(c) in typed for c in glob.contains):
                return name, False
        return None, False

    def _forwarding(self, state: str) -> bool:
        free = self.flow.states[state].free_text
        return free is not None and "forward_to_case" in free.effects

    def _fire_global(self, d: Dialogue, name: str, out: list[it.Intent], text: str = "") -> None:
        glob: Global = self.flow.globals[name]
        consented = bool(d.consent.get("counsellor"))
        self._effects(d, glob.effects, out, text=text)
        target = glob.target_if_consented if consented and glob.target_if_consented \
            else glob.target
        self._move(d, target, out, trigger=_global_trigger(name, consented), reenter=True)

    def _move(self, d: Dialogue, target: str, out: list[it.Intent], *, trigger: str | None = None,
              reenter: bool = True) -> None:
        source = d.state
        if target == RESUME:
            target = d.answers.pop(RETURN_TO, None) or self.flow.start
            self.machine.set_state(target, model=d)
        elif trigger is not None:
            self.machine.events[trigger].trigger(d)
        else:
            self.machine.set_state(target, model=d)
        if not reenter and d.state == source:
            return  # stayed, as free text in a listening state does: nothing to announce
        entered = self.flow.states[d.state]
        if not entered.interruption and (entered.ask is None
                                         or entered.ask.within != CANDIDATES):
            d.answers.pop(CANDIDATES, None)  # asked which town only while asking it
        if entered.interruption and not self.flow.states[source].interruption:
            d.answers[RETURN_TO] = source
        self._effects(d, entered.on_enter, out)
        out.append(it.Send(self.entry(d.state, d.answers)))

    def _effects(self, d: Dialogue, effects: list[Effect], out: list[it.Intent],
                 text: str = "") -> None:
        for effect in effects:
            if effect == "open_case":
                out.append(it.OpenCase())
            elif effect == "grant_consent_counsellor":
                d.consent["counsellor"] = True
                out.append(it.SetConsent("counsellor", True))
            elif effect == "grant_consent_share":
                d.consent["share"] = True
                out.append(it.SetConsent("share", True))
            elif effect == "decline_consent":
                d.consent["counsellor"] = False
                out.append(it.SetConsent("counsellor", False))
            elif effect == "withdraw_consent":
                d.consent = {"counsellor": False, "share": False}
                out.append(it.WithdrawConsent())
            elif effect == "forward_to_case":
                out.append(it.ForwardToCase(text))
            elif effect == "clear_answers":
                d.answers = {}
                out.append(it.SwitchToCurrentVersion())
            elif effect == "tell_wait":
                out.append(it.TellWait())
            elif effect == "give_up":
                out.append(it.GiveUp(text))
            elif effect == "request_callback":
                out.append(self._take_callback(d))
            elif effect == "cancel_callback":
                self._take_callback(d)
            elif effect == "set_language":
                out.append(it.SetLanguage(str(d.answers.pop(LANGUAGE, None) or "ja")))
            elif effect == "save_contact_rules":
                out.append(it.SaveContactRules(
                    silent=d.answers.pop(CONTACT_SILENT, None) == "yes",
                    neutral=d.answers.pop(CONTACT_NEUTRAL, None) == "yes",
                    hours=str(d.answers.pop(CONTACT_HOURS, None) or "any")))
            elif effect == "quick_exit":
                out.append(it.QuickExit())

    def _take_callback(self, d: Dialogue) -> it.RequestCallback:
        """The call-back answers leave the conversation: the phone number is kept on the case
        alone (and only with its consent), never among the answers every case copy carries."""
        window = d.answers.pop(CALLBACK_WINDOW, None)
        consent = d.answers.pop(CALLBACK_PHONE_OK, None) == PHONE_CONSENTED
        phone = d.answers.pop(CALLBACK_PHONE, None)
        label = next((c.label for state in self.flow.states.values() if state.ask
                      and state.ask.record == CALLBACK_WINDOW
                      for c in state.ask.choices if c.value == window), window)
        return it.RequestCallback(window=str(label) if label else None,
                                  phone=str(phone) if consent and phone else None,
                                  phone_consent=consent)

    def _note(self, d: Dialogue, text: str) -> None:
        notes = list(d.answers.get(NOTES) or [])
        notes.append(text[:1000])
        d.answers[NOTES] = notes[-20:]


def _merge_sends(intents: list[it.Intent]) -> list[it.Intent]:
    """Adjacent Send intents become one, so a step answers in as few requests as it can."""
    merged: list[it.Intent] = []
    for intent in intents:
        if isinstance(intent, it.Send) and merged and isinstance(merged[-1], it.Send):
            last = merged.pop()
            assert isinstance(last, it.Send)
            merged.append(it.Send(last.messages + intent.messages))
        elif not (isinstance(intent, it.Send) and not intent.messages):
            merged.append(intent)
    return merged


__all__ = ["Ask", "Dialogue", "FlowContext", "FlowRunner", "Input", "State", "Step", "choice_data",
           "global_data", "input_of", "placeholders"]
