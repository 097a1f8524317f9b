"""Every text of content a resident reads, found where it stands, and content put into one
language (`localize`). Pure: the language files are `bot.content.languages` shapes.

A text is *critical* when a resident in danger or deciding about their data depends on it: the
risk replies, the hotlines, the emergency state and the states that ask or change consent.
Content without a variant of a critical text is refused; other gaps are reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from bot.content.flow import Flow
from bot.content.languages import Translator
from bot.content.schema import FollowUpRules, Hotline, Messages, Places, Resources

CONSENT_EFFECTS = {"grant_consent_counsellor", "grant_consent_share", "decline_consent",
                   "withdraw_consent"}
# Messages a resident in danger reads (messages.yaml): refused without a variant.
CRITICAL_MESSAGES = {"trouble", "risk_imminent", "risk_imminent_by_danger", "risk_high",
                     "risk_unsure", "risk_unsure_call", "net_call", "referral_ask",
                     "referral_yes_label", "referral_no_label", "referral_agreed",
                     "referral_withdraw_label", "referral_withdrawn"}
# Globals whose label is a way out of danger or to a person.
CRITICAL_GLOBALS = {"person", "emergency", "withdraw", "quick_exit", "contact_rules",
                    "language"}

# Words the code itself puts around content (templates with `{name}`s), so that they are
# translated like content. Keep each exactly as the code uses it.
CODE_TEXTS: dict[str, str] = {
    "on_duty": "いまは相談員がいる時間です。順番にお返事します。",
    "off_duty": "いまは相談員がいない時間です{why}。{date}{time}以降に、順番にお返事します。",
    "closed_why": "（きょうは{closed}のため、お休みです）",
    "date": "{month}月{day}日（{weekday}）",
    "closed_day": "休業日",
    "holiday": "祝日",
    "mon": "月", "tue": "火", "wed": "水", "thu": "木", "fri": "金", "sat": "土", "sun": "日",
    "list_separator": "、",
    "day_separator": "・",
    "hours": "{days} {open}〜{close}",
    "chosen": "（選んだもの：{chosen}）",
    "call": "{tel} に電話する",
    "free": "無料",
    "paid": "通話料がかかります",
    "office_tel": "{office}（電話 {tel}）",
}
CRITICAL_CODE = {"call", "free", "paid"}


@dataclass(frozen=True)
class Text:
    where: str  # e.g. flows/intake.yaml states.welcome.say[0]
    ja: str
    critical: bool = False


def _bubbles(where: str, bubbles: list[Any], critical: bool) -> Iterator[Text]:
    for i, b in enumerate(bubbles):
        yield Text(f"{where}[{i}]", b if isinstance(b, str) else b.text, critical)


def flow_texts(flow: Flow, file: str) -> Iterator[Text]:
    for gid, glob in flow.globals.items():
        yield Text(f"{file} globals.{gid}.label", glob.label, gid in CRITICAL_GLOBALS
                   or glob.target == "emergency")
    for name in ("non_text", "not_a_choice", "stale_button", "welcome_back"):
        yield from _bubbles(f"{file} messages.{name}", getattr(flow.messages, name), False)
    yield Text(f"{file} messages.resume_label", flow.messages.resume_label)
    yield Text(f"{file} messages.restart_label", flow.messages.restart_label)
    for sid, state in flow.states.items():
        choices = [*(state.ask.choices if state.ask else []),
                   *([state.ask.done] if state.ask and state.ask.done else [])]
        critical = state.emergency_contacts or sid == "emergency" or any(
            set(c.effects) & CONSENT_EFFECTS for c in choices) or bool(
            set(state.on_enter) & CONSENT_EFFECTS)
        at = f"{file} states.{sid}"
        yield from _bubbles(f"{at}.say", state.say, critical)
        if state.ask:
            yield from _bubbles(f"{at}.ask.text", state.ask.text, critical)
            for c in choices:
                if "set_language" in c.effects:
                    continue  # a language's name is written in that language
                yield Text(f"{at}.ask.choices.{c.value}.label", c.label, critical)
        if state.free_text:
            yield from _bubbles(f"{at}.free_text.say", state.free_text.say, critical)


def messages_texts(messages: Messages, file: str = "messages.yaml") -> Iterator[Text]:
    for name in type(messages).model_fields:
        value = getattr(messages, name)
        critical = name in CRITICAL_MESSAGES
        if isinstance(value, str):
            yield Text(f"{file} {name}", value, critical)
        elif isinstance(value, list):
            yield from _bubbles(f"{file} {name}", value, critical)
        elif isinstance(value, dict):
            for key, bubbles in value.items():
                yield from _bubbles(f"{file} {name}.{key}", bubbles, critical)
    menu = messages.richmenu
    yield Text(f"{file} richmenu.chat_bar", menu.chat_bar)
    for i, area in enumerate(menu.areas):
        for field in ("label", "hint", "display_text", "text"):
            if getattr(area, field):
                yield Text(f"{file} richmenu.areas[{i}].{field}", getattr(area, field))


def places_texts(places: Places, file: str = "places.yaml") -> Iterator[Text]:
    for t in places.teams:
        yield Text(f"{file} teams.{t.id}.name", t.name)
        for i, s in enumerate(t.share_with):
            yield Text(f"{file} teams.{t.id}.share_with[{i}]", s, True)  # consent names them
        for c in t.closures:
            if c.note:
                yield Text(f"{file} teams.{t.id}.closures.note", c.note)
        for i, contact in enumerate(t.after_hours.contacts):
            for field in ("label", "hours", "note"):
                if getattr(contact, field):
                    # A desk's own number: reported when untranslated, not refused (its
                    # label shows in Japanese; the button dials all the same).
                    yield Text(f"{file} teams.{t.id}.after_hours.contacts[{i}].{field}",
                               getattr(contact, field))
        for need, words in t.after_hours.needs.items():
            yield Text(f"{file} teams.{t.id}.after_hours.needs.{need}", words)
    for m in places.municipalities:
        yield Text(f"{file} municipalities.{m.id}.name", m.name)
        for field in ("first_contact", "office"):
            if getattr(m, field):
                yield Text(f"{file} municipalities.{m.id}.{field}", getattr(m, field))
    for a in places.areas:
        yield Text(f"{file} areas.{a.id}.name", a.name)
    for d in places.referrals.destinations:
        # Named to the resident when their yes is asked: consent must be understood.
        yield Text(f"{file} referrals.{d.id}.name", d.name, True)
        for team, name in d.local_names.items():
            yield Text(f"{file} referrals.{d.id}.local_names.{team}", name, True)
        for i, purpose in enumerate(d.purposes):
            yield Text(f"{file} referrals.{d.id}.purposes[{i}]", purpose, True)


def resources_texts(resources: Resources, file: str = "resources.yaml") -> Iterator[Text]:
    for h in resources.hotlines:
        for field in ("label", "hours", "note"):
            if getattr(h, field):
                yield Text(f"{file} hotlines.{h.id}.{field}", getattr(h, field), True)
    for i, s in enumerate(resources.self_help):
        yield Text(f"{file} self_help[{i}].label", s.label)
        yield Text(f"{file} self_help[{i}].text", s.text)


def followup_texts(rules: FollowUpRules, file: str = "followups.yaml") -> Iterator[Text]:
    for rid, rule in rules.rules.items():
        yield Text(f"{file} rules.{rid}.text", rule.text)


def code_texts() -> Iterator[Text]:
    for key, ja in CODE_TEXTS.items():
        yield Text(f"code {key}", ja, key in CRITICAL_CODE)


# ---------------------------------------------------------------------- into one language

def _tr_bubbles(items: list[dict[str, Any]], tr: Callable[[str], str]) -> None:
    for b in items:
        b["text"] = tr(b["text"])


def localize_flow(flow: Flow, tr: Translator) -> Flow:
    """The flow with its words in `tr`'s language (its keywords are left as they are)."""
    if tr.pack is None:
        return flow
    data = flow.model_dump()
    for glob in data["globals"].values():
        glob["label"] = tr(glob["label"])
    msgs = data["messages"]
    for name in ("non_text", "not_a_choice", "stale_button", "welcome_back"):
        _tr_bubbles(msgs[name], tr)
    msgs["resume_label"], msgs["restart_label"] = tr(msgs["resume_label"]), \
        tr(msgs["restart_label"])
    for state in data["states"].values():
        _tr_bubbles(state["say"], tr)
        if state["ask"]:
            _tr_bubbles(state["ask"]["text"], tr)
            for c in [*state["ask"]["choices"], *([state["ask"]["done"]]
                                                  if state["ask"]["done"] else [])]:
                c["label"] = tr(c["label"])
        if state["free_text"]:
            _tr_bubbles(state["free_text"]["say"], tr)
    return Flow.model_validate(data)


def with_keywords(flow: Flow, keywords: dict[str, list[str]],
                  contains: dict[str, list[str]]) -> Flow:
    """The flow's global commands also answering to these words (every language's, so a
    resident is understood before choosing a language)."""
    if not keywords and not contains:
        return flow
    globs = {}
    for gid, glob in flow.globals.items():
        globs[gid] = glob.model_copy(update={
            "keywords": list(dict.fromkeys([*glob.keywords, *keywords.get(gid, [])])),
            "contains": list(dict.fromkeys([*glob.contains, *contains.get(gid, [])])),
        })
    return flow.model_copy(update={"globals": globs})


def localize_messages(messages: Messages, tr: Translator) -> Messages:
    if tr.pack is None:
        return messages
    data = messages.model_dump()
    for name, value in data.items():
        if isinstance(value, str):
            data[name] = tr(value)
        elif isinstance(value, list):
            data[name] = [tr(v) for v in value]
        elif name == "risk_imminent_by_danger":
            data[name] = {k: [tr(v) for v in bubbles] for k, bubbles in value.items()}
    menu = data["richmenu"]
    menu["chat_bar"] = tr(menu["chat_bar"])
    for area in menu["areas"]:
        for field in ("label", "hint", "display_text", "text"):
            if area[field]:
                area[field] = tr(area[field])
    return Messages.model_validate(data)


def localize_places(places: Places, tr: Translator) -> Places:
    if tr.pack is None:
        return places
    data = places.model_dump(by_alias=True)
    for team in data["teams"]:
        team["name"] = tr(team["name"])
        team["share_with"] = [tr(s) for s in team["share_with"]]
        for c in team["closures"]:
            if c["note"]:
                c["note"] = tr(c["note"])
        for contact in team["after_hours"]["contacts"]:
            for field in ("label", "hours", "note"):
                if contact[field]:
                    contact[field] = tr(contact[field])
        team["after_hours"]["needs"] = {k: tr(v) for k, v in
                                        team["after_hours"]["needs"].items()}
    for m in data["municipalities"]:
        # A typed name still matches the Japanese one (the translation is the label).
        m["aliases"] = [*m["aliases"], m["name"]]
        m["name"] = tr(m["name"])
        for field in ("first_contact", "office"):
            if m[field]:
                m[field] = tr(m[field])
    for a in data["areas"]:
        a["name"] = tr(a["name"])
    for d in data["referrals"]["destinations"]:
        d["name"] = tr(d["name"])
        d["local_names"] = {k: tr(v) for k, v in d["local_names"].items()}
        d["purposes"] = [tr(p) for p in d["purposes"]]
    localized = Places.model_validate(data)
    for team in localized.teams:
        for contact in team.after_hours.contacts:
            contact.in_words(dial_words(tr))
    return localized


def dial_words(tr: Translator) -> dict[str, str]:
    return {key: tr(CODE_TEXTS[key]) for key in ("call", "free", "paid", "day_separator")}


def offered(hotline: Hotline, code: str) -> bool:
    """Whether a resident reading `code` is offered this number: every number that answers in
    Japanese (119 is for everyone), and those answering in the resident's language."""
    return hotline.for_japanese or code in hotline.languages




def localize_resources(resources: Resources, tr: Translator) -> Resources:
    """The numbers a resident of this language is offered, in it: those answering in their
    language first and among the general ones (a danger's own `first` still leads)."""
    data = resources.model_dump()
    data["hotlines"] = [h for h, model in zip(data["hotlines"], resources.hotlines, strict=True)
                        if offered(model, tr.code)]
    for h in data["hotlines"]:
        if tr.code in h["languages"]:
            h["general"] = True
    if tr.pack is None:
        return Resources.model_validate(data)
    for h in data["hotlines"]:
        for field in ("label", "hours", "note"):
            if h[field]:
                h[field] = tr(h[field])
    data["hotlines"].sort(key=lambda h: tr.code not in h["languages"])
    for s in data["self_help"]:
        s["label"], s["text"] = tr(s["label"]), tr(s["text"])
    localized = Resources.model_validate(data)
    for h in localized.hotlines:
        h.in_words(dial_words(tr))
    return localized


def localize_followups(rules: FollowUpRules, tr: Translator) -> FollowUpRules:
    if tr.pack is None:
        return rules
    data = rules.model_dump()
    for rule in data["rules"].values():
        rule["text"] = tr(rule["text"])
    return FollowUpRules.model_validate(data)


# ---------------------------------------------------------------------- checks

def limit_of(where: str) -> int:
    """The most UTF-16 units a text may have where it stands (LINE's limits, the schema's)."""
    if where.endswith("chat_bar"):
        return 14
    if "hotlines" in where or "contacts[" in where:
        return 80 if where.endswith(".note") else 40
    if where.endswith((".label", ".display_text", "_label", "contact_notice_show", ".hint")) \
            and "self_help" not in where:
        return 20
    if ("municipalities" in where and where.endswith(".name")) or \
            re.search(r"(^| )areas\.[^.]+\.name$", where):
        return 20  # quick-reply labels
    if "municipalities" in where:
        return 60  # the office names of a town
    if where.endswith("contact_notice"):
        return 60
    if where.endswith(("risk_unsure_call", "net_callback", "net_call")):
        return 160
    if "teams." in where and where.endswith(".name"):
        return 60
    if "self_help" in where:
        return 40 if where.endswith("label") else 200
    if "closures" in where:
        return 40
    return 5000


@dataclass(frozen=True)
class Gap:
    language: str
    text: Text
    problem: str  # "missing" or why the variant does not fit

    @property
    def refused(self) -> bool:
        """A missing critical text, or one that does not fit: content is refused."""
        return self.text.critical or self.problem != "missing"


def gaps(texts: list[Text], tr: Translator, resources: Resources | None = None) -> list[Gap]:
    """What `tr`'s language lacks of these texts, or has too long for where it stands (a
    number its residents are not offered needs no words in it)."""
    from bot.line import utf16_len

    unseen = {f"hotlines.{h.id}." for h in (resources.hotlines if resources else [])
              if not offered(h, tr.code)}
    found = []
    for t in texts:
        if any(u in t.where for u in unseen):
            continue
        if not tr.has(t.ja):
            found.append(Gap(tr.code, t, "missing"))
        elif utf16_len(tr(t.ja)) > limit_of(t.where):
            found.append(Gap(tr.code, t, f"longer than {limit_of(t.where)} characters"))
    return found


def offered_languages(flow: Flow, codes: set[str]) -> Flow:
    """The flow without language choices content has no words for (a choice of Tiếng Việt
    that answered in Japanese would mislead)."""
    states = {}
    for sid, state in flow.states.items():
        if state.ask and any("set_language" in c.effects for c in state.ask.choices):
            kept = [c for c in state.ask.choices
                    if "set_language" not in c.effects or c.value in codes]
            state = state.model_copy(update={"ask": state.ask.model_copy(
                update={"choices": kept})})
        states[sid] = state
    return flow.model_copy(update={"states": states})
