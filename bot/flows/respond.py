"""The bot's answer to one input, decided without I/O: danger first, then the flow.

The resident's conversation (bot/journey) and an administrator's rehearsal of a draft (the
console) both answer through here, so a draft is tried exactly as residents will meet it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.content.languages import IDENTITY, JAPANESE, LanguagePack, Translator
from bot.content.schema import Messages, Places, Resources
from bot.flows import intents as it
from bot.flows.emergency import contacts_for, emergency_step
from bot.flows.engine import (
    NOTES,
    RETURN_TO,
    Dialogue,
    FlowContext,
    FlowRunner,
    Input,
    Step,
    choice_data,
    global_data,
    readable,
)
from bot.flows.render import postback_action
from bot.flows.routing import option_groups, option_sets, places_matcher, variables
from bot.line import call_buttons, text
from bot.nlp.analyzer import RiskAssessment
from bot.nlp.levels import Level

# A resident's last bubbles read together with the new one, when sent within this time.
WINDOW = timedelta(minutes=10)
WINDOW_BUBBLES = 4


LANGUAGE_GLOBAL = "language"  # the flow's global command that offers the languages


def context_for(resources: Resources, places: Places,
                clock: Callable[[], datetime], tr: Translator = IDENTITY) -> FlowContext:
    """What a flow draws on besides its own file: the numbers, the option lists, the copy's
    variables (the desk's hours are read at `clock()`), all in the resident's language."""
    return FlowContext(hotlines=resources.hotlines, option_sets=option_sets(places),
                       variables=lambda answers: variables(places, answers, clock(), tr), tr=tr,
                       option_groups=option_groups(places), match=places_matcher(places))


@dataclass(frozen=True)
class Earlier:
    """One of the resident's earlier text bubbles, as the window reads it."""

    words: str
    level: Level  # what it was assessed as then (and so already answered)
    at_ms: int  # when it was sent (LINE's timestamp, ms)


def assess(read: Callable[[str], RiskAssessment], words: str, at_ms: int,
           earlier: Sequence[Earlier]) -> RiskAssessment:
    """The message alone, and with the resident's last few bubbles (newest first): a plan split
    over three bubbles, or given after an earlier wish to die, is only imminent read together.
    The window counts only when it says more than the message and than what was answered."""
    single = read(words)
    recent = [e for e in earlier[:WINDOW_BUBBLES - 1]
              if abs(at_ms - e.at_ms) <= WINDOW.total_seconds() * 1000]
    if not recent:
        return single
    together = read("\n".join([*(readable(e.words) for e in reversed(recent)), words]))
    answered = max(e.level for e in recent)
    # Read together it is more dangerous, or newly unsure of a danger not answered yet.
    more = together.level > max(single.level, answered)
    newly_unsure = together.unsure and not single.unsure and together.level >= single.level \
        and together.model is not None and (together.model.unsure or Level.NONE) > answered
    return replace(together, window=len(recent) + 1) if more or newly_unsure else single


def first_step(runner: FlowRunner, inp: Input) -> Step:
    """A new resident. One who starts by typing has answered the welcome's question already:
    greet them, then take their words as that answer."""
    start = runner.start()
    if inp.kind != "text":
        return start
    then = runner.step(Dialogue(start.state, start.answers, start.consent), inp)
    greeting = it.Send(runner.say(start.state, start.answers))
    return Step(then.state, then.answers, then.consent, [greeting, *then.intents])


def offer_step(runner: FlowRunner, pack: LanguagePack, inp: Input) -> Step | None:
    """A new resident who wrote plainly in another language: the offer, in it, to go on in it
    (or in Japanese, or another language). Their words are kept for the counsellor, and the
    intake starts once they choose. None when the flow has no language choice."""
    glob = runner.flow.globals.get(LANGUAGE_GLOBAL)
    if glob is None or pack.offer is None or pack.offer_yes is None or pack.offer_no is None:
        return None
    start = runner.start()
    answers = {**start.answers, RETURN_TO: start.state, NOTES: [inp.text[:1000]]}
    items = [postback_action(pack.offer_yes, choice_data(glob.target, pack.code)),
             postback_action(pack.offer_no, choice_data(glob.target, JAPANESE)),
             postback_action(glob.label, global_data(LANGUAGE_GLOBAL))]
    offer = {**text(pack.offer), "quickReply": {"items": [
        {"type": "action", "action": a} for a in items]}}
    return Step(glob.target, answers, dict(start.consent), [it.Send([offer])])


def respond(runner: FlowRunner, dialogue: Dialogue, inp: Input, *, messages: Messages,
            resources: Resources, risk: RiskAssessment | None, is_new: bool,
            idle_for: timedelta | None = None, answered: Step | None = None,
            offer: LanguagePack | None = None) -> Step:
    """The next step of a conversation in `dialogue` given `inp` (and its assessment, for a
    text). `answered`: a step the caller already decided (a reply to a transfer request),
    taken unless there is danger now or the resident is new. `offer`: the language a new
    resident plainly wrote in (bot/flows/language.detect), offered before the intake."""
    if risk is not None and risk.level == Level.IMMINENT:
        # Danger now: the numbers for this danger at once, most urgent first, with the words
        # for it, whatever the state, consent or not; the flow goes to its emergency state and
        # can be resumed from there.
        answers = dict(dialogue.answers)
        answers[NOTES] = [*(answers.get(NOTES) or []), inp.text[:1000]][-20:]
        step = emergency_step(runner, Dialogue(dialogue.state, answers, dict(dialogue.consent)),
                              messages, resources, risk.categories)
    elif is_new:
        step = (offer_step(runner, offer, inp) if offer is not None else None) or \
            first_step(runner, inp)
    elif answered is not None:
        step = answered
    else:
        step = runner.step(dialogue, inp, idle_for=idle_for)
    if risk is not None and risk.level < Level.IMMINENT and risk.unsure:
        # Not sure it is safe: do not carry on as if nothing was said. Being misread as in
        # danger costs a resident a kind word; being misread as safe is what we design against.
        net = [*(text(b) for b in messages.risk_unsure),
               call_buttons(messages.risk_unsure_call, contacts_for(resources, risk.categories))]
        step = Step(step.state, step.answers, step.consent, [it.Send(net), *step.intents])
    elif risk is not None and risk.level == Level.HIGH:
        high = [text(b) for b in high_words(messages, resources, risk.categories)]
        step = Step(step.state, step.answers, step.consent, [it.Send(high), *step.intents])
    return step


def high_words(messages: Messages, resources: Resources, categories: Sequence[str]) -> list[str]:
    """The words for a high risk: those of its danger (hunger, violence, a child...) when
    content has them, most urgent danger first, else the general ones."""
    for danger in resources.dangers:
        if set(danger.categories) & set(categories) and danger.id in messages.risk_high_by_danger:
            return messages.risk_high_by_danger[danger.id]
    return messages.risk_high
