"""Waiting for a person, simulated: are residents told honestly where they stand?

    python benchmarks/waiting_bench.py [--residents 200] [--counsellors 3] [--database-url URL]

200 residents ask for a person (「人と話したい」, consent by button) and wait; some ask
「まだですか」, some write more, a few give up; one in seven has no bed tonight (the intake's
answer), so their case opens urgent and goes before those waiting, which the figures told to the
others could not foresee. 3 simulated counsellors mark themselves available (their console is
seen every minute), take the first case of the queue (handoff/queue.py's order, the exclusive
claim) and close it after a time drawn from a long-tailed distribution (20 minutes on average,
the content's minutes_per_case; one in ten takes over 35); after one case in seven they step
away for a quarter of an hour without saying so. The updates job
(`handoff.waiting.send_due_updates`, what the scheduler runs) runs every simulated minute. The
clock is simulated (`bot.db.models.utcnow`, which every module reads), so a day of the desk
takes seconds; the desks are open day and night in this run.

Residents reach the bot the way the inbox worker feeds it: each event is stored
(`bot.edge.inbox.store_batch`) and processed by `bot.journey.worker.process_source` in its own
transaction, on a real database (a temporary SQLite file, or a throw-away PostgreSQL database on
`--database-url`'s server). The HTTP edge is left out: its cost is the webhook benchmarks', and
its clock could not be simulated.

Checked (the run fails otherwise): every resident event is answered (it has outbox rows), and no
resident is ever told a higher place than before. Measured: for each case, the first figure told
(`cases.wait_first`) against the real wait (claimed − told): the median and p90 of |real wait −
the told range's midpoint|, and the share of real waits inside the told range. The baseline,
from the same run: a constant estimate (place × minutes_per_case, one counsellor at the
content's pace), the kind of figure a bot without the live queue would give.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import math
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from line_emulator import events as line_events  # noqa: E402
from sqlalchemy import exists, func, select, update  # noqa: E402
from sqlalchemy.orm import Session, configure_mappers, sessionmaker  # noqa: E402

import bot.db.models as db_models  # noqa: E402
from benchmarks.followups_bench import fresh_database  # noqa: E402
from bot.db.engine import make_engine, make_session_factory, transaction  # noqa: E402
from bot.db.models import Conversation, InboxEvent, OutboxMessage  # noqa: E402
from bot.edge.inbox import source_key, store_batch  # noqa: E402
from bot.flows.engine import choice_data  # noqa: E402
from bot.journey.conversation import FlowLibrary  # noqa: E402
from bot.journey.worker import process_source  # noqa: E402
from bot.releases.load import Content, load_content  # noqa: E402
from bot.settings import DEFAULT_CONTENT_DIR  # noqa: E402
from handoff import queue, waiting  # noqa: E402
from handoff.accounts import add_counsellor  # noqa: E402
from handoff.estimate import Told  # noqa: E402
from handoff.models import Case, CaseStatus, ConsoleSession, Counsellor  # noqa: E402
from handoff.presence import Presence  # noqa: E402

TEAM = "pref"  # who asks for a person at once goes to the default desk
INSIDE_TARGET = 0.7  # at least this share of real waits inside the told range
SEED = 17
START = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # 0:00 in Tokyo, as the desks open


# ------------------------------------------------------------------ the simulated clock


class SimClock:
    """The time every `utcnow()` of the product reads while installed."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def advance(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)

    def ms(self) -> int:
        return int(self.now.timestamp() * 1000)

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        clock = self

        class Simulated(datetime):
            @classmethod
            def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
                return clock.now if tz is None else clock.now.astimezone(tz)

        configure_mappers()  # the models' annotations are read before the name is replaced
        real = db_models.datetime
        db_models.datetime = Simulated  # type: ignore[misc]
        try:
            yield
        finally:
            db_models.datetime = real  # type: ignore[misc]


# ------------------------------------------------------------------ content and people


def open_content(folder: Path) -> Path:
    """The shipped content with every desk open day and night, holidays too."""
    target = folder / "content"
    shutil.copytree(DEFAULT_CONTENT_DIR, target)
    path = target / "places.yaml"
    places: dict[str, Any] = yaml.safe_load(path.read_text())
    for team in places["teams"]:
        team["hours"] = {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                         "open": "00:00", "close": "24:00"}
        team["open_on_holidays"] = True
    path.write_text(yaml.safe_dump(places, allow_unicode=True, sort_keys=False))
    return target


def user_id(n: int) -> str:
    return f"U{n:032x}"


@dataclass
class Resident:
    n: int
    arrives: float  # simulated minutes from the start
    asks_after: float | None  # 「まだですか」 this long after the handoff, if still waiting
    writes_after: float | None  # more words for the counsellor
    gives_up_after: float | None  # 「待つのをやめます」
    urgent: bool  # raised to high priority once handed off
    handed_off_at: float | None = None
    done: set[str] = field(default_factory=set)

    @property
    def user(self) -> str:
        return user_id(self.n)


def residents(count: int, rng: random.Random) -> list[Resident]:
    """A morning queue (a fifth of them in the first twenty minutes), then a steady stream a
    little slower than three counsellors' pace, so the queue builds up and drains."""
    burst = count // 5
    out = []
    for n in range(count):
        arrives = rng.uniform(0, 20) if n < burst else 20 + (n - burst) * 7.5
        out.append(Resident(
            n=n, arrives=arrives,
            asks_after=rng.uniform(5, 90) if rng.random() < 0.5 else None,
            writes_after=rng.uniform(1, 30) if rng.random() < 0.2 else None,
            gives_up_after=rng.uniform(30, 120) if rng.random() < 0.05 else None,
            urgent=rng.random() < 1 / 7))
    return sorted(out, key=lambda r: r.arrives)


def case_minutes(rng: random.Random) -> float:
    """How long a counsellor spends on a case: log-normal, 20 minutes on average (the content's
    minutes_per_case), a median of about 17 and one case in ten over 35."""
    return rng.lognormvariate(math.log(20) - 0.6**2 / 2, 0.6)


@dataclass
class Desk:
    """A simulated counsellor: takes the first case of the queue when free."""

    account: int
    case: int | None = None
    until: float = 0.0


# ------------------------------------------------------------------ the run


@dataclass
class Report:
    backend: str
    residents: int
    counsellors: int
    events: int
    unanswered: int
    place_increases: int
    updates_pushed: int
    nets_offered: int  # first answers at the handoff that offered the safety net
    claimed: int
    errors: list[float]  # |real − told midpoint|, minutes, one per case told a figure
    inside: int
    baseline_errors: list[float]
    simulated_hours: float
    seconds: float

    @property
    def measured(self) -> int:
        return len(self.errors)

    @property
    def inside_share(self) -> float:
        return self.inside / self.measured if self.measured else 0.0

    @property
    def passed(self) -> bool:
        return (self.unanswered == 0 and self.place_increases == 0
                and self.claimed == self.residents and self.measured > 0
                and self.inside_share >= INSIDE_TARGET)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def send(sessions: sessionmaker[Session], library: FlowLibrary, event: dict[str, Any]) -> None:
    with transaction(sessions) as session:
        store_batch(session=session, bodies=[[event]])
    process_source(sessions, source_key(event), lambda: library, reply_ttl_seconds=60)


def simulate(options: argparse.Namespace, database_url: str, backend: str) -> Report:
    rng = random.Random(SEED)
    people = residents(options.residents, rng)
    clock = SimClock(START)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tsunagu-waiting-") as tmp, clock.installed():
        content: Content = load_content(open_content(Path(tmp)))
        library = FlowLibrary(content, clock=lambda: clock.now)
        engine = make_engine(database_url)
        sessions = make_session_factory(engine)
        try:
            desks = staff(sessions, options.counsellors)
            pushed = run(options, sessions, library, content, clock, people, desks, rng)
            report = measure(sessions, content, people, backend, options, pushed,
                             (clock.now - START).total_seconds() / 3600,
                             time.perf_counter() - started)
        finally:
            engine.dispose()
    return report


def staff(sessions: sessionmaker[Session], count: int) -> list[Desk]:
    desks = []
    with transaction(sessions) as session:
        for i in range(count):
            c = add_counsellor(session=session, username=f"bench{i}", display_name=f"相談員{i}",
                               password="correct horse battery staple", team_id=TEAM)
            c.presence = Presence.AVAILABLE
            session.add(ConsoleSession(token_hash=f"{i:064d}", counsellor_id=c.id))
            session.flush()
            desks.append(Desk(account=c.id))
    return desks


def run(options: argparse.Namespace, sessions: sessionmaker[Session], library: FlowLibrary,
        content: Content, clock: SimClock, people: list[Resident], desks: list[Desk],
        rng: random.Random) -> int:
    pushed = 0
    arriving = list(people)
    minute = 0.0
    open_cases = True
    while arriving or open_cases:
        # Counsellors: close what is done, take the next case (their consoles are seen).
        with transaction(sessions) as session:
            session.execute(update(ConsoleSession).values(last_seen_at=clock.now))
            for desk in desks:
                if desk.case is not None and minute >= desk.until:
                    session.execute(update(Case).where(Case.id == desk.case).values(
                        status=CaseStatus.CLOSED, outcome="info", closed_at=clock.now))
                    desk.case = None
                    if rng.random() < 1 / 7:  # a break, still marked available
                        desk.until = minute + 15
                if desk.case is None:
                    first = next(iter(queue.waiting(session=session, team_ids=[TEAM])), None)
                    me = session.get(Counsellor, desk.account)
                    if first is not None and me is not None and minute >= desk.until and \
                            queue.claim(session=session, case_id=first.id, counsellor=me).won:
                        desk.case, desk.until = first.id, minute + case_minutes(rng)
        # Residents arriving: ask for a person and consent (buttons, as most do).
        while arriving and arriving[0].arrives <= minute:
            r = arriving.pop(0)
            for event in (line_events.follow_event(r.user),
                          line_events.text_event(r.user, "人と話したい"),
                          line_events.postback_event(r.user, choice_data("consent_counsel",
                                                                         "agree"))):
                send(sessions, library, {**event, "timestamp": clock.ms()})
                if r.urgent and event["type"] == "follow":
                    # What the intake's 「今夜寝る場所がない」 records: the case opens urgent.
                    with transaction(sessions) as session:
                        session.execute(update(Conversation).where(
                            Conversation.line_user_id == r.user).values(
                            answers={"urgent_needs": ["shelter"]}))
            r.handed_off_at = minute
        # Residents waiting: asking, writing, giving up.
        waiting_now = still_waiting(sessions, people)
        for r in people:
            if r.handed_off_at is None or r.user not in waiting_now:
                continue
            for what, after, words in (("ask", r.asks_after, "まだですか"),
                                       ("write", r.writes_after, "家賃のことも相談したいです"),
                                       ("give_up", r.gives_up_after, "待つのをやめます")):
                if after is not None and what not in r.done and \
                        minute - r.handed_off_at >= after:
                    r.done.add(what)
                    send(sessions, library,
                         {**line_events.text_event(r.user, words), "timestamp": clock.ms()})
        # The updates job, as the scheduler runs it.
        with transaction(sessions) as session:
            pushed += waiting.send_due_updates(
                session=session, places=content.places, messages=content.messages,
                resources=content.resources, now=clock.now)
        with sessions() as session:
            open_cases = bool(session.scalar(select(func.count(Case.id)).where(
                Case.status != CaseStatus.CLOSED)))
        minute += 1
        clock.advance(1)
        if minute > options.max_minutes:
            break
    return pushed


def still_waiting(sessions: sessionmaker[Session], people: list[Resident]) -> set[str]:
    with sessions() as session:
        return set(session.scalars(select(Conversation.line_user_id).join(
            Case, Case.conversation_id == Conversation.id).where(
            Case.status == CaseStatus.OPEN)))


def told_places(rows: Sequence[tuple[str, list[dict[str, Any]]]],
                messages: Any) -> dict[str, list[int]]:
    """Each resident's place as they read it, in the order sent: the people before them."""
    pattern = re.compile(re.escape(messages.wait_place).replace(re.escape("{ahead}"), r"(\d+)"))
    told: dict[str, list[int]] = defaultdict(list)
    for user, batch in rows:
        for m in batch:
            body = str(m.get("text") or "")
            found = pattern.search(body)
            if found:
                told[user].append(int(found.group(1)))
            elif messages.wait_next in body:
                told[user].append(0)
    return told


def place_increases(told: dict[str, list[int]]) -> int:
    """How often a resident was told more people were before them than the time before."""
    return sum(1 for seq in told.values() for a, b in itertools.pairwise(seq) if b > a)


def measure(sessions: sessionmaker[Session], content: Content, people: list[Resident],
            backend: str, options: argparse.Namespace, pushed: int, hours: float,
            seconds: float) -> Report:
    users = {r.user for r in people}
    rules = content.places.desk.waiting
    with sessions() as session:
        answered = exists().where(OutboxMessage.source_event_id == InboxEvent.id)
        events = session.scalar(select(func.count(InboxEvent.id)).where(
            InboxEvent.line_user_id.in_(users))) or 0
        unanswered = session.scalar(select(func.count(InboxEvent.id)).where(
            InboxEvent.line_user_id.in_(users), ~answered)) or 0
        rows = [(user, batch) for user, batch in session.execute(
            select(OutboxMessage.line_user_id, OutboxMessage.messages)
            .order_by(OutboxMessage.id))]
        nets = sum(1 for _, batch in rows for m in batch if m.get("type") == "template")
        increases = place_increases(told_places(rows, content.messages))
        cases = list(session.scalars(select(Case)))
    errors, baseline = [], []
    inside = claimed = 0
    for case in cases:
        if case.claimed_at is not None:
            claimed += 1
        error = waiting.wait_error(case)
        first = Told.from_json(case.wait_first)
        if error is None or first is None:
            continue
        errors.append(error.error)
        inside += error.inside
        baseline.append(abs(error.real - first.place * rules.minutes_per_case))
    return Report(backend=backend, residents=len(people), counsellors=options.counsellors,
                  events=int(events), unanswered=int(unanswered), place_increases=increases,
                  updates_pushed=pushed, nets_offered=nets, claimed=claimed, errors=errors,
                  inside=inside, baseline_errors=baseline, simulated_hours=hours,
                  seconds=seconds)


def print_report(r: Report) -> None:
    print(f"waiting benchmark on {r.backend}: {r.residents} residents, {r.counsellors} "
          f"counsellors, {r.simulated_hours:.1f} simulated hours in {r.seconds:.0f} s")
    print(f"  resident events:               {r.events} ({r.unanswered} unanswered)")
    print(f"  told a higher place than before: {r.place_increases} times")
    print(f"  updates pushed by the job:     {r.updates_pushed}")
    print(f"  safety nets offered:           {r.nets_offered}")
    print(f"  cases claimed:                 {r.claimed} of {r.residents}")
    print(f"  cases told a figure:           {r.measured}")
    if r.errors:
        print(f"  |real wait - told midpoint|:   median {statistics.median(r.errors):.1f} min, "
              f"p90 {percentile(r.errors, 0.9):.1f} min")
        print(f"  real waits inside the range:   {r.inside_share:.0%} "
              f"(target >= {INSIDE_TARGET:.0%})")
        print("  baseline (place x minutes_per_case): median "
              f"{statistics.median(r.baseline_errors):.1f} min, "
              f"p90 {percentile(r.baseline_errors, 0.9):.1f} min")
    print(f"  result: {'PASS' if r.passed else 'FAIL'}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--counsellors", type=int, default=3)
    parser.add_argument("--database-url", default=None,
                        help="run on a throw-away database on this PostgreSQL server")
    parser.add_argument("--max-minutes", type=float, default=3 * 24 * 60,
                        help="stop the simulation after this many simulated minutes")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> Report:
    options = parse_args(argv)
    with fresh_database(options.database_url) as (url, backend):
        report = simulate(options, url, backend)
    print_report(report)
    return report


if __name__ == "__main__":
    sys.exit(0 if main().passed else 1)
