"""Telling a waiting resident where they stand, from the live queue (handoff/estimate.py does
the arithmetic, handoff/wait_copy.py the words). Services add and flush; the caller commits."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ScalarSelect, func, select, update
from sqlalchemy.orm import Session

from bot.content.languages import IDENTITY, Translator
from bot.content.schema import Messages, Places, Resources, Team
from bot.db.models import Conversation
from bot.edge import outbox
from bot.flows.routing import on_duty, opened_at
from bot.line import Message, text
from handoff.estimate import Estimate, QueueView, Told, clamp_place, estimate, material
from handoff.models import PRIORITY_RANK, Case, CaseStatus, ConsoleSession, Counsellor, Priority
from handoff.presence import ANSWERING, Presence
from handoff.wait_copy import Situation, wait_messages

if TYPE_CHECKING:
    from bot.releases.load import Localized

InLanguage = Callable[[str | None], "Localized"]  # content as a resident reads it

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TeamQueue:
    """One team's queue at one moment: read once, shared by every case of the team."""

    waiting: list[tuple[int, datetime, int]]  # (priority rank, opened_at, id): queue order
    available: int
    pickups: int
    pace_window: timedelta
    open_now: bool

    def view_of(self, case: Case, told: Told | None) -> QueueView:
        me = (PRIORITY_RANK.get(Priority(case.priority), len(PRIORITY_RANK)), case.opened_at,
              case.id)
        # Opened earlier: a set that only shrinks while the case waits.
        place = 1 + sum(1 for _, opened, cid in self.waiting
                        if cid != case.id and (opened, cid) < (case.opened_at, case.id))
        # Taken earlier: what counsellors pick first (handoff/queue.py's order).
        ahead = sum(1 for entry in self.waiting if entry[2] != case.id and entry < me)
        return QueueView(place=clamp_place(place, told), ahead=ahead, available=self.available,
                         pickups=self.pickups, pace_window=self.pace_window,
                         open_now=self.open_now)


def _available(team_id: str, now: datetime, away_after: timedelta) -> ScalarSelect[int]:
    """Counsellors of the team answering now, as a subquery: what `presence.available_count`
    counts (available, and a console of theirs seen within `away_after`), read in the same
    statement as the queue (a test holds the two equal)."""
    seen = select(ConsoleSession.id).where(
        ConsoleSession.counsellor_id == Counsellor.id, ConsoleSession.revoked_at.is_(None),
        ConsoleSession.last_seen_at >= now - away_after).exists()
    return select(func.count(Counsellor.id)).where(
        Counsellor.active.is_(True), Counsellor.team_id == team_id,
        Counsellor.presence == Presence.AVAILABLE, Counsellor.role.in_(list(ANSWERING)),
        seen).scalar_subquery()


def team_queue(session: Session, team: Team, places: Places, now: datetime) -> TeamQueue:
    """The team's waiting cases, its pick-ups within the pace window and who is answering, in
    one statement (it runs for every handoff and every "まだですか")."""
    rules = places.desk.waiting
    # The pace is read over the last `pace_window_minutes`, or since the desk opened today if
    # that is shorter (yesterday's pick-ups say nothing of this morning), but never over less
    # than one case's time: three counsellors starting at once are not a pace of three a minute.
    opened = opened_at(team, now)
    since = now - timedelta(minutes=rules.pace_window_minutes)
    if opened is not None and opened > since:
        since = opened
    window = max(now - since, timedelta(minutes=rules.minutes_per_case))
    pickups = select(func.count(Case.id)).where(
        Case.team_id == team.id, Case.claimed_at.is_not(None), Case.claimed_at > since,
        Case.claimed_at <= now).scalar_subquery()
    available = _available(team.id, now, timedelta(minutes=rules.away_after_minutes))
    rows = session.execute(select(Case.id, Case.priority, Case.opened_at, pickups, available)
                           .where(Case.status == CaseStatus.OPEN, Case.team_id == team.id)).all()
    if rows:
        picked, answering = int(rows[0][3] or 0), int(rows[0][4] or 0)
    else:  # nobody waiting: the two figures alone
        picked, answering = (int(v or 0) for v in session.execute(select(pickups, available)).one())
    waiting = sorted((PRIORITY_RANK.get(Priority(p), len(PRIORITY_RANK)), opened, cid)
                     for cid, p, opened, _, _ in rows)
    return TeamQueue(waiting=waiting, available=answering, pickups=picked, pace_window=window,
                     open_now=on_duty(team, now))


def _team(places: Places, team_id: str) -> Team:
    return next((t for t in places.teams if t.id == team_id), places.team(places.default_team))


def queue_view(session: Session, case: Case, places: Places, now: datetime) -> QueueView:
    """Where this case stands now (its place never above the one last told)."""
    return team_queue(session, _team(places, case.team_id), places, now).view_of(
        case, Told.from_json(case.wait_told))


def _record(case: Case, told: Told) -> None:
    case.wait_told = told.to_json()
    if case.wait_first is None and told.low is not None:
        case.wait_first = told.to_json()  # the first figure: measured against the real wait


def _situation(case: Case, view: QueueView, places: Places) -> tuple[Situation, Estimate | None]:
    found = estimate(view, places.desk.waiting)
    return Situation(view=view, found=found, callback_asked=bool(case.callback),
                     urgent_needs=list(case.urgent_needs or [])), found


def tell(session: Session, case: Case, *, places: Places, messages: Messages,
         resources: Resources, now: datetime, tr: Translator = IDENTITY) -> list[Message]:
    """What to tell the resident now (after the handoff, or because they asked), recorded
    on the case as the wait told."""
    if case.status == CaseStatus.CLAIMED:
        return [text(messages.wait_claimed)]
    if case.status != CaseStatus.OPEN:
        return []
    team = _team(places, case.team_id)
    view = team_queue(session, team, places, now).view_of(case, Told.from_json(case.wait_told))
    situation, found = _situation(case, view, places)
    net = situation.net(places.desk.waiting)
    _record(case, Told(now, view.place, found.low if found else None,
                       found.high if found else None, net))
    return wait_messages(situation, team=team, now=now, messages=messages, resources=resources,
                         rules=places.desk.waiting, tr=tr)


def _consented(conversation: Conversation) -> bool:
    return bool(((conversation.consent or {}).get("counsellor") or {}).get("granted"))


def send_due_updates(*, session: Session, places: Places, messages: Messages,
                     resources: Resources, now: datetime,
                     in_language: InLanguage | None = None) -> int:
    """Push "where you stand" to waiting residents whose place or wait changed materially, at
    most every `update_every_minutes` (in this transaction). Only while their desk is open,
    never to a resident who blocked the account, withdrew consent, gave up since the last
    word, or whose case forbids messages (a shared phone). Two workers never push the same
    update: each write is conditional on the case being unchanged since it was read (and on
    PostgreSQL the rows are locked, SKIP LOCKED). Returns the updates queued."""
    rules = places.desk.waiting
    stmt = (select(Case, Conversation)
            .join(Conversation, Conversation.id == Case.conversation_id)
            .where(Case.status == CaseStatus.OPEN, Case.no_followups.is_(False),
                   Conversation.following.is_(True),
                   Conversation.consent_withdrawn_at.is_(None))
            .order_by(Case.id))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=Case)
    queues: dict[str, TeamQueue] = {}
    sent = 0
    for case, conversation in session.execute(stmt).all():
        told = Told.from_json(case.wait_told)
        if told is None or now - told.at < timedelta(minutes=rules.update_every_minutes):
            continue  # never told (still in the intake), or told a moment ago
        if case.gave_up_at is not None and case.gave_up_at >= told.at:
            continue  # they said they would stop waiting: no pushes until they come back
        if not _consented(conversation):
            continue
        team = _team(places, case.team_id)
        if team.id not in queues:
            queues[team.id] = team_queue(session, team, places, now)
        queue = queues[team.id]
        if not queue.open_now:
            continue  # out of hours nothing moves, and nobody wants a push at night
        view = queue.view_of(case, told)
        situation, found = _situation(case, view, places)
        if not material(told, view.place, found, rules, now):
            continue
        net = situation.net(rules)
        new = Told(now, view.place, found.low if found else None,
                   found.high if found else None, net)
        values = {"wait_told": new.to_json(), "updated_at": now}
        if case.wait_first is None and new.low is not None:
            values["wait_first"] = new.to_json()
        won = session.execute(
            update(Case).where(Case.id == case.id, Case.updated_at == case.updated_at)
            .values(**values).execution_options(synchronize_session=False))
        if won.rowcount != 1:  # type: ignore[attr-defined]
            continue  # another worker (or the resident's own message) wrote it meanwhile
        local = in_language(conversation.language) if in_language and conversation.language \
            else None
        said = wait_messages(
            situation, team=local.places.team(team.id) if local else team, now=now,
            messages=local.messages if local else messages,
            resources=local.resources if local else resources, rules=rules, update=True,
            offers=not told.net, tr=local.tr if local else IDENTITY)
        outbox.enqueue(session, user_id=conversation.line_user_id, conversation_id=conversation.id,
                       messages=said, flush=False)
        sent += 1
    session.flush()
    return sent


@dataclass(frozen=True)
class WaitError:
    """How the first figure told compared with the real wait (minutes)."""

    real: float  # claimed_at − when the figure was told
    low: int
    high: int

    @property
    def midpoint(self) -> float:
        return (self.low + self.high) / 2

    @property
    def error(self) -> float:
        return abs(self.real - self.midpoint)

    @property
    def inside(self) -> bool:
        return self.low <= self.real <= self.high


def wait_error(case: Case) -> WaitError | None:
    """None until the case is claimed, or when no figure was ever told (closed, nobody on
    duty)."""
    first = Told.from_json(case.wait_first)
    if first is None or case.claimed_at is None or first.low is None or first.high is None:
        return None
    real = (case.claimed_at - first.at).total_seconds() / 60
    return WaitError(real=real, low=first.low, high=first.high)
