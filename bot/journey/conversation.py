"""Feeds one accepted event to the resident's flow and applies the intents it returns, in the
caller's transaction: conversation state, cases and outbox rows commit with the event's status."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import bindparam, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.content.flow import Flow
from bot.db.models import (
    Conversation,
    FlowVersion,
    InboxEvent,
    InboxStatus,
    RiskAssessmentRecord,
    utcnow,
)
from bot.edge import outbox, richmenu_links
from bot.edge.contact_rules import EXIT, ContactRules
from bot.edge.inbox import text_of
from bot.flows import intents as it
from bot.flows import referral_links
from bot.flows.engine import (
    Dialogue,
    FlowRunner,
    Input,
    Step,
    input_of,
)
from bot.flows.language import detect
from bot.flows.respond import WINDOW_BUBBLES, Earlier, assess, context_for, respond
from bot.line import Message, text
from bot.nlp.analyzer import RiskAssessment, analyzer_for
from bot.nlp.levels import Level
from bot.releases.load import Content, LoadedFlow
from handoff import callback, cases, followups, referrals, waiting
from handoff.models import Case, CaseStatus

INTAKE = "intake"


class FlowLibrary:
    """Runners for the current flow versions and, from the database, for older ones that
    ongoing conversations still use. Versions are immutable, so runners are cached forever."""

    def __init__(self, content: Content, clock: Callable[[], datetime] = utcnow) -> None:
        self.content = content
        self.clock = clock
        self.analyzer = analyzer_for(content.lexicon, content.risk_model)
        self._read: dict[str, RiskAssessment] = {}
        self._read_with = self.analyzer
        self._runners: dict[tuple[str, str, str], FlowRunner] = {}
        self._stored: set[tuple[str, str]] = set()

    def read(self, words: str) -> RiskAssessment:
        """The analyser's reading of these words, kept for a while: a worker reads a message
        before its transaction, and the transaction finds it read (the same words always read
        the same, so a stale entry cannot exist)."""
        if self._read_with is not self.analyzer:  # another analyser (tests swap it): forget
            self._read, self._read_with = {}, self.analyzer
        found = self._read.get(words)
        if found is None:
            if len(self._read) >= 256:
                self._read.clear()
            found = self._read[words] = self.analyzer.analyze(words)
        return found

    def read_ahead(self, words: str) -> None:
        """What the conversation will read of a message, read now (the worker calls this before
        its transaction): the words around a referral link's greeting, if that is what it is."""
        found = referral_links.recognise(words, self.content.places.referrals.sources)
        if found is None or found.rest:
            self.read(found.rest if found is not None else words)

    def current(self, session: Session, flow_id: str = INTAKE,
                language: str | None = None) -> tuple[str, FlowRunner]:
        loaded = self.content.flows[flow_id]
        self._store(session, loaded)
        return loaded.version, self._runner(flow_id, loaded.version, loaded.flow, language)

    def get(self, session: Session, flow_id: str, version: str,
            language: str | None = None) -> FlowRunner | None:
        runner = self._runners.get((flow_id, version, self.content.for_language(language).code))
        if runner is not None:
            return runner
        row = session.scalars(select(FlowVersion).where(
            FlowVersion.flow_id == flow_id, FlowVersion.version == version)).first()
        if row is None:
            return None
        return self._runner(flow_id, version, Flow.model_validate(row.definition), language)

    def _runner(self, flow_id: str, version: str, flow: Flow,
                language: str | None) -> FlowRunner:
        """A version's runner in a language: its words in it (an older version finds the
        words it shares with the current content), every language's command words known."""
        local = self.content.for_language(language)
        key = (flow_id, version, local.code)
        if key not in self._runners:
            self._runners[key] = FlowRunner(self.content.worded(flow, local.code), context_for(
                local.resources, local.places, self.clock, local.tr))
        return self._runners[key]

    def _store(self, session: Session, loaded: LoadedFlow) -> None:
        key = (loaded.flow.id, loaded.version)
        if key in self._stored:
            return
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" \
            else sqlite.insert
        session.execute(insert(FlowVersion).values(
            flow_id=loaded.flow.id, version=loaded.version, definition=loaded.definition,
            created_at=utcnow(),
        ).on_conflict_do_nothing(index_elements=["flow_id", "version"]))
        self._stored.add(key)


def _group_event(session: Session, event: InboxEvent, content: Content,
                 reply_ttl_seconds: float) -> int:
    """The bot does not consult in groups: on joining it says so once, then stays quiet."""
    source = event.payload.get("source") or {}
    target = source.get("groupId") or source.get("roomId")
    rows = []
    if event.event_type == "join" and target:
        rows = outbox.enqueue(session, user_id=str(target),
                              messages=[text(b) for b in content.messages.group_notice],
                              event=event, reply_ttl_seconds=reply_ttl_seconds)
    event.status = InboxStatus.DONE if rows else InboxStatus.IGNORED
    event.processed_at = utcnow()
    return len(rows)


def handle_event(
    session: Session, event: InboxEvent, library: FlowLibrary, *, reply_ttl_seconds: float
) -> int:
    """Process one pending event; returns how many outbox rows it produced."""
    with cases.remembering_open_cases(session):
        return _handle(session, event, library, reply_ttl_seconds)


def _handle(session: Session, event: InboxEvent, library: FlowLibrary,
            reply_ttl_seconds: float) -> int:
    content = library.content
    payload = event.payload
    if (payload.get("source") or {}).get("type") != "user" or not event.line_user_id:
        return _group_event(session, event, content, reply_ttl_seconds)

    now = utcnow()
    if _too_old(event, content):
        # Older than LINE would redeliver: a replayed body, perhaps of a person since erased.
        # Only its id is kept (a later copy is then a duplicate); never its words.
        event.status, event.processed_at = InboxStatus.IGNORED, now
        event.payload, event.line_user_id, event.source_key = {}, None, "too-old"
        return 0
    inp = input_of(payload)
    # The conversation and its open case in one read: most messages need both.
    conversation, open_case = cases.conversation_and_open_case(session=session,
                                                               line_user_id=event.line_user_id)
    if conversation is None and inp.kind in ("ignored", "unfollow"):
        event.status, event.processed_at = InboxStatus.IGNORED, now
        return 0
    is_new = conversation is None
    if conversation is None:
        version, runner = library.current(session)
        conversation = Conversation(line_user_id=event.line_user_id, flow_id=INTAKE,
                                    flow_version=version, state=runner.flow.start,
                                    answers={}, consent={}, risk_level=Level.NONE.label)
        session.add(conversation)
        session.flush()
        cases.remember_no_case(session, conversation.id)
    else:
        runner = library.get(session, conversation.flow_id, conversation.flow_version,
                             conversation.language) or _switch(session, library, conversation)
    # A department's referral link (bot/flows/referral_links.py): its greeting records how
    # they came and the flow reads only their own words (none: a greeting, like a follow).
    written, inp = inp, _from_referral(session, conversation, inp, content)
    offer = detect(inp.text, content.languages) if is_new and inp.kind == "text" else None
    language_before = conversation.language

    # Every free-text message is assessed, in every state, before the flow sees it. A
    # button's label typed instead of tapped is the choice, not the resident's own words: the
    # model, which reads short words poorly, would see 「自分のこと」 as a cry for help.
    typed_choice = inp.kind == "text" and not is_new and \
        runner.typed_choice(conversation.state, inp.text, conversation.answers) is not None
    risk = _assess(session, library, event, conversation, inp.text) \
        if inp.kind == "text" and not typed_choice else None
    if risk is not None:
        _record_risk(session, event, conversation, risk)
    transfer = cases.parse_transfer_postback(inp.data) \
        if inp.kind == "postback" and not is_new else None
    answered = _answer_transfer(session, conversation, library, *transfer) \
        if transfer is not None and (risk is None or risk.level < Level.IMMINENT) else None
    if answered is None and not is_new and (risk is None or risk.level < Level.IMMINENT):
        answered = _answer_referral(session, conversation, library, runner, inp, open_case)
    if offer is not None and risk is not None and risk.level == Level.IMMINENT:
        # Danger in a first message plainly in another language: answer in it at once.
        conversation.language = offer.code
        _, runner = library.current(session, conversation.flow_id, offer.code)
    local = content.for_language(conversation.language)
    step = respond(
        runner, Dialogue(conversation.state, dict(conversation.answers), _granted(conversation)),
        inp, messages=local.messages, resources=local.resources, risk=risk, is_new=is_new,
        idle_for=now - conversation.last_event_at if conversation.last_event_at else None,
        answered=answered, offer=offer)
    chosen = next((i for i in step.intents if isinstance(i, it.SetLanguage)), None)
    if chosen is not None:
        runner, step = _in_language(session, conversation, library, step, chosen.code)
    wrote = written.kind in ("text", "postback", "other_message")
    if wrote and conversation.contact_rules:
        # They have the phone in hand: what their contact rules held comes now, in order.
        conversation.contact_rules = ContactRules.of(conversation.contact_rules).wrote().stored()
        outbox.release_held(session, conversation.id)

    if inp.kind == "unfollow":
        conversation.following = False
        left = cases.open_case_of(session=session, conversation_id=conversation.id)
        if left is not None and left.status == CaseStatus.OPEN and left.wait_told:
            left.gave_up_at = now  # they left while waiting: the case notes it
    elif inp.kind == "follow":
        conversation.following = True
    conversation.state = step.state
    conversation.answers = step.answers
    conversation.last_event_at = now
    message = payload.get("message")
    read_token = message.get("markAsReadToken") if isinstance(message, dict) else None
    if isinstance(read_token, str) and _granted(conversation).get("counsellor"):
        conversation.read_token = read_token[:255]  # 既読 when a counsellor opens the chat
    outgoing = apply_intents(session, conversation, step.intents, library, now)
    if conversation.language != language_before:
        richmenu_links.want(session, event.line_user_id, conversation.language)
    if not _granted(conversation).get("counsellor") and conversation.consent_withdrawn_at is None:
        # Never consented (declined, or left the intake): erased a retention period after the
        # last message, like a withdrawal.
        conversation.delete_after = now + timedelta(days=library.content.places.retention_days)
    if risk is not None and (risk.level >= Level.CONCERN or risk.unsure):
        _update_case_risk(session, conversation, risk, library, inp.text)
    _plan_followups(session, conversation, runner, library, now, written)
    rows = outbox.insert(
        session, user_id=event.line_user_id, messages=outgoing,
        conversation_id=conversation.id, event=event, reply_ttl_seconds=reply_ttl_seconds,
        rules=outbox.rules_of(conversation),
    ) if outgoing else 0
    event.status = InboxStatus.DONE if inp.kind != "ignored" else InboxStatus.IGNORED
    event.processed_at = now
    return rows


def _from_referral(session: Session, conversation: Conversation, inp: Input,
                   content: Content) -> Input:
    """A message that names the department whose link brought the resident, before any case
    is open: the conversation keeps that source (the first one), and the flow sees the words
    around it, or, with none, a greeting (the intake starts, or resumes, as after a follow).
    With a case open the words reach the counsellor as written."""
    if inp.kind != "text":
        return inp
    found = referral_links.recognise(inp.text, content.places.referrals.sources)
    if found is None or cases.open_case_of(session=session,
                                           conversation_id=conversation.id) is not None:
        return inp
    if conversation.source is None:
        conversation.source = found.source
    return Input("text", found.rest) if found.rest else Input("follow")


# LINE redelivers a failed webhook for a limited time; an event older than this is a replay.
MAX_EVENT_AGE = timedelta(days=3)


def _too_old(event: InboxEvent, content: Content) -> bool:
    """Older than LINE would send it, or than the retention period (whose end erased the
    person it came from): never processed, so it cannot bring an erased person back."""
    limit = min(MAX_EVENT_AGE, timedelta(days=content.places.retention_days))
    received = event.received_at or utcnow()
    return event.event_timestamp < (received - limit).timestamp() * 1000


def _answer_transfer(session: Session, conversation: Conversation, library: FlowLibrary,
                     case_id: int, yes: bool) -> Step:
    """The resident's yes or no to a move of their case to another desk; the flow stays."""
    local = library.content.for_language(conversation.language)
    messages = local.messages
    moved = cases.answer_transfer(session=session, conversation=conversation, case_id=case_id,
                                  yes=yes)
    if moved is None:
        bubbles = messages.transfer_over
    elif moved:
        name = next((t.name for t in local.places.teams if t.id == moved), moved)
        bubbles = [b.replace("{team}", name) for b in messages.transfer_done]
    else:
        bubbles = messages.transfer_kept
    return Step(conversation.state, dict(conversation.answers), _granted(conversation),
                [it.Send([text(b) for b in bubbles])])


def _answer_referral(session: Session, conversation: Conversation, library: FlowLibrary,
                     runner: FlowRunner, inp: Input, case: Case | None) -> Step | None:
    """A referral button (yes, no, take back, not now: taken back even after the case
    closed), or the name or phone number a referral of the open `case` waits for, kept on the
    referral alone, never in the transcript."""
    bubbles: list[Message] | None = None
    if inp.kind == "postback":
        said = referrals.parse_postback(inp.data)
        if said is not None:
            bubbles = referrals.answer(session=session, conversation=conversation,
                                       content=library.content, referral_id=said[0],
                                       said=said[1])
    elif inp.kind == "text" and case is not None and case.identity_request \
            and not runner.is_command(conversation.state, inp.text, conversation.answers):
        bubbles = referrals.give_identity(session=session, conversation=conversation,
                                          content=library.content, case=case, words=inp.text)
    if bubbles is None:
        return None
    return Step(conversation.state, dict(conversation.answers), _granted(conversation),
                [it.Send(bubbles)])


_WINDOW = (
    select(InboxEvent.payload, InboxEvent.event_timestamp, RiskAssessmentRecord.level)
    .join(RiskAssessmentRecord, RiskAssessmentRecord.inbox_event_id == InboxEvent.id)
    .where(RiskAssessmentRecord.conversation_id == bindparam("conversation_id"),
           InboxEvent.id != bindparam("event_id"))
    .order_by(RiskAssessmentRecord.id.desc()).limit(WINDOW_BUBBLES - 1))
_INSERT_RISK = insert(RiskAssessmentRecord.__table__)  # type: ignore[arg-type]


def _assess(session: Session, library: FlowLibrary, event: InboxEvent,
            conversation: Conversation, words: str) -> RiskAssessment:
    """The message with the resident's last few assessed bubbles (bot/flows/respond.assess)."""
    earlier = session.execute(_WINDOW, {"conversation_id": conversation.id,
                                        "event_id": event.id}).all()
    return assess(library.read, words, event.event_timestamp, [
        Earlier(text_of(p), Level.parse(level), at)
        for p, at, level in earlier])


def _record_risk(session: Session, event: InboxEvent, conversation: Conversation,
                 risk: RiskAssessment) -> None:
    # A plain INSERT: nothing in the event's transaction reads the record back as an object.
    session.connection().execute(_INSERT_RISK, dict(
        inbox_event_id=event.id, conversation_id=conversation.id, level=risk.level.label,
        categories=list(risk.categories), hits=[h.to_dict() for h in risk.hits],
        lexicon_version=_versions(risk), model=risk.reading(),
    ))
    if risk.level > Level.parse(conversation.risk_level or "none"):
        conversation.risk_level = risk.level.label


def _versions(risk: RiskAssessment) -> str:
    """Which lexicon and which model made the assessment."""
    model = f"+{risk.model.version}" if risk.model is not None else ""
    return f"{risk.lexicon_version}{model}"[:32]


def _update_case_risk(session: Session, conversation: Conversation, risk: RiskAssessment,
                      library: FlowLibrary, words: str) -> None:
    """Raise the case: imminent opens one even without consent (life-safety exception) and
    puts the words in front of a counsellor; lower levels update a case that exists."""
    case = cases.open_case_of(session=session, conversation_id=conversation.id)
    unsure_of_life = risk.unsure and risk.model is not None \
        and risk.model.unsure == Level.IMMINENT
    if case is None and risk.level < Level.IMMINENT and not unsure_of_life:
        return
    case = cases.open_or_update_case(session=session, conversation=conversation,
                                     places=library.content.places,
                                     risk_categories=list(risk.categories))
    if risk.level == Level.IMMINENT or unsure_of_life:  # the flow did not take these words:
        cases.add_resident_message(session=session, case=case, text=words)  # the case must


def _plan_followups(session: Session, conversation: Conversation, runner: FlowRunner,
                    library: FlowLibrary, now: datetime, inp: Input) -> None:
    """Blocked: nothing more is sent. Mid-intake: a gentle reminder if they do not come back.
    Waiting for a person: a "we have not forgotten you" if nobody takes the case in time."""
    if inp.kind == "unfollow":
        followups.cancel(session=session, conversation_id=conversation.id, reason="blocked")
        return
    if inp.kind == "ignored" or conversation.consent_withdrawn_at is not None:
        return
    plan = followups.plan_of(session=session, conversation_id=conversation.id, now=now)
    answering = inp.kind in ("text", "postback", "other_message")
    if answering and plan.answered_case_id is not None:
        reopened = cases.reopen_after_followup(session=session, conversation=conversation,
                                               case_id=plan.answered_case_id)
        if reopened is not None and inp.kind == "text":
            cases.add_resident_message(session=session, case=reopened, text=inp.text)
    rules = library.content.followups
    state = runner.flow.states.get(conversation.state)
    case = cases.open_case_of(session=session, conversation_id=conversation.id)
    if case is None and state is not None and not (state.safe_point or state.interruption):
        followups.schedule_rule(session=session, rules=rules, conversation_id=conversation.id,
                                kind="intake_stalled", now=now,
                                existing=plan.scheduled.get("intake_stalled"))
    elif "intake_stalled" in plan.scheduled:
        followups.cancel(session=session, conversation_id=conversation.id, reason="answered",
                         kinds=["intake_stalled"])
    if case is not None and case.status == "open" and "not_picked_up" not in plan.scheduled:
        followups.schedule_rule(session=session, rules=rules, conversation_id=conversation.id,
                                kind="not_picked_up", now=now, case_id=case.id)


def _in_language(session: Session, conversation: Conversation, library: FlowLibrary,
                 step: Step, code: str) -> tuple[FlowRunner, Step]:
    """The resident chose a language: from this step on, everything is said in it (the
    state they return to is shown again in it), and so are their contact rules' words."""
    known = code in library.content.languages
    conversation.language = code if known else None
    local = library.content.for_language(conversation.language)
    runner = library.get(session, conversation.flow_id, conversation.flow_version,
                         conversation.language) or _switch(session, library, conversation)
    if conversation.contact_rules:
        conversation.contact_rules = {**conversation.contact_rules,
                                      "notice": local.messages.contact_notice,
                                      "show": local.messages.contact_notice_show}
    said = [text(b) for b in local.messages.language_chosen]
    others = [i for i in step.intents if not isinstance(i, it.Send | it.SetLanguage)]
    shown = it.Send([*said, *runner.entry(step.state, step.answers)])
    return runner, Step(step.state, step.answers, step.consent, [shown, *others])


def _switch(session: Session, library: FlowLibrary, conversation: Conversation) -> FlowRunner:
    """The conversation's version is gone (never stored): move it to the current one."""
    version, runner = library.current(session, conversation.flow_id, conversation.language)
    conversation.flow_version = version
    if conversation.state not in runner.flow.states:
        conversation.state = runner.flow.start
    return runner


def _granted(conversation: Conversation) -> dict[str, bool]:
    return {scope: bool(v.get("granted")) for scope, v in (conversation.consent or {}).items()}


def apply_intents(
    session: Session, conversation: Conversation, intents: list[it.Intent],
    library: FlowLibrary, now: datetime,
) -> list[Message]:
    """Records what the flow decided; returns the messages to send, in order."""
    places = library.content.places
    messages: list[Message] = []
    told: list[Message] = []  # the wait, after the step's own messages
    quiet = False  # the acknowledgement of words a counsellor is reading already
    for intent in intents:
        if isinstance(intent, it.Send):
            if not quiet:
                messages += intent.messages
            quiet = False
        elif isinstance(intent, it.SaveContactRules):
            local = library.content.for_language(conversation.language)
            conversation.contact_rules = ContactRules(
                silent=intent.silent, neutral=intent.neutral, hours=intent.hours,
                notice=local.messages.contact_notice,
                show=local.messages.contact_notice_show).stored()
        elif isinstance(intent, it.QuickExit):
            local = library.content.for_language(conversation.language)
            rules = ContactRules.of(conversation.contact_rules)
            conversation.contact_rules = replace(
                rules, hold=True, notice=local.messages.contact_notice,
                show=local.messages.contact_notice_show).stored()
            outbox.hold_pending(session, conversation.id, EXIT)
        elif isinstance(intent, it.TellWait | it.GiveUp | it.RequestCallback):
            told += _waiting_intent(session, conversation, intent, library, now)
        elif isinstance(intent, it.SetConsent):
            consent = dict(conversation.consent or {})
            consent[intent.scope] = {"granted": intent.granted, "at": now.isoformat()}
            conversation.consent = consent
            if intent.granted:
                conversation.consent_withdrawn_at = conversation.delete_after = None
        elif isinstance(intent, it.WithdrawConsent):
            conversation.consent = {
                scope: {"granted": False, "at": now.isoformat()}
                for scope in ("counsellor", "share")
            }
            conversation.consent_withdrawn_at = now
            conversation.delete_after = now + timedelta(days=places.retention_days)
            followups.cancel(session=session, conversation_id=conversation.id,
                             reason="consent_withdrawn")
            referrals.withdraw_all(session, conversation.id)
            cases.close_withdrawn(session=session, conversation=conversation)
        elif isinstance(intent, it.OpenCase):
            cases.open_or_update_case(session=session, conversation=conversation,
                                      places=places)
        elif isinstance(intent, it.ForwardToCase):
            if not _granted(conversation).get("counsellor"):
                continue  # no case without consent: words from before it are not forwarded
            case = cases.open_case_of(session=session, conversation_id=conversation.id) or \
                cases.open_or_update_case(session=session, conversation=conversation,
                                          places=places)
            cases.add_resident_message(session=session, case=case, text=intent.text)
            # A counsellor holds the chat and reads it live (LINE shows 既読 when they do):
            # no bot's 「受け取りました」 between their words.
            quiet = case.status == CaseStatus.CLAIMED
        elif isinstance(intent, it.SwitchToCurrentVersion):
            version, _ = library.current(session, conversation.flow_id)
            conversation.flow_version = version
    if told:
        # The buttons go under the last message, where LINE shows them.
        buttons = messages[-1].pop("quickReply", None) if messages else None
        if buttons is not None:
            told[-1] = {**told[-1], "quickReply": buttons}
        messages += told
    return messages


def _waiting_intent(session: Session, conversation: Conversation,
                    intent: it.TellWait | it.GiveUp | it.RequestCallback, library: FlowLibrary,
                    now: datetime) -> list[Message]:
    """Waiting for a person: the wait told, giving up, a call-back request."""
    content = library.content
    case = cases.open_case_of(session=session, conversation_id=conversation.id)
    if isinstance(intent, it.TellWait):
        if case is None:
            return []
        local = content.for_language(conversation.language)
        return waiting.tell(session, case, places=local.places, messages=local.messages,
                            resources=local.resources, now=now, tr=local.tr)
    if isinstance(intent, it.GiveUp):
        if case is not None:
            if case.status == CaseStatus.OPEN:
                case.gave_up_at = now
            if intent.words:
                cases.add_resident_message(session=session, case=case, text=intent.words)
        return []
    if case is None and _granted(conversation).get("counsellor"):
        case = cases.open_or_update_case(session=session, conversation=conversation,
                                         places=content.places)
    if case is not None:
        callback.request(case, window=intent.window, phone=intent.phone,
                         phone_consent=intent.phone_consent, now=now)
    return []
