"""Queue order and exclusive claims, with real concurrent writers on every backend."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.db.engine import make_engine, make_session_factory
from bot.db.models import Conversation, utcnow
from handoff.accounts import add_counsellor
from handoff.models import Case, CaseStatus, Counsellor, Priority
from handoff.queue import ClaimResult, claim, waiting

PASSWORD = "correct horse battery staple"


@pytest.fixture
def sessions(fresh_database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(fresh_database_url)
    yield make_session_factory(engine)
    engine.dispose()


def new_case(s: Session, *, priority: Priority, waited_minutes: int, team: str = "midori",
             municipality: str | None = "midori") -> Case:
    conv = Conversation(line_user_id=f"U{utcnow().timestamp()}{id(s)}{waited_minutes}{priority}",
                        flow_id="intake", flow_version="v", state="handoff", answers={},
                        consent={})
    s.add(conv)
    s.flush()
    c = Case(conversation_id=conv.id, priority=priority, team_id=team,
             municipality=municipality,
             opened_at=utcnow() - timedelta(minutes=waited_minutes))
    s.add(c)
    s.flush()
    return c


def counsellor(s: Session, name: str) -> Counsellor:
    return add_counsellor(session=s, username=name, display_name=f"{name}さん",
                          password=PASSWORD)


def test_most_urgent_first_then_longest_waiting(sessions: sessionmaker[Session]) -> None:
    with sessions() as s, s.begin():
        normal_old = new_case(s, priority=Priority.NORMAL, waited_minutes=90)
        high_new = new_case(s, priority=Priority.HIGH, waited_minutes=1)
        imminent = new_case(s, priority=Priority.IMMINENT, waited_minutes=0)
        high_old = new_case(s, priority=Priority.HIGH, waited_minutes=30)
        other_team = new_case(s, priority=Priority.IMMINENT, waited_minutes=5, team="pref",
                              municipality="aoba")
        closed = new_case(s, priority=Priority.IMMINENT, waited_minutes=100)
        closed.status = CaseStatus.CLOSED
        ids = [imminent.id, high_old.id, high_new.id, normal_old.id]
    with sessions() as s:
        assert [c.id for c in waiting(session=s, team_ids=["midori"])] == ids
        # Two imminent cases: the one waiting longer (5 minutes) comes first.
        assert [c.id for c in waiting(session=s)] == [other_team.id, *ids]
        assert [c.id for c in waiting(session=s, municipality="aoba")] == [other_team.id]
        assert closed.id not in [c.id for c in waiting(session=s)]


def race(sessions: sessionmaker[Session], case_id: int, who: list[int]) -> dict[int, ClaimResult]:
    """Each counsellor claims the case on their own connection, released at the same moment."""
    results: dict[int, ClaimResult] = {}
    start = threading.Barrier(len(who))

    def take(counsellor_id: int) -> None:
        with sessions() as s, s.begin():
            me = s.get(Counsellor, counsellor_id)
            assert me is not None
            start.wait()
            results[counsellor_id] = claim(session=s, case_id=case_id, counsellor=me)

    threads = [threading.Thread(target=take, args=(c,)) for c in who]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_two_counsellors_claiming_at_once_exactly_one_wins(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as s, s.begin():
        a, b = counsellor(s, "sato"), counsellor(s, "suzuki")
        people = {a.id: a.display_name, b.id: b.display_name}
        case_ids = [new_case(s, priority=Priority.HIGH, waited_minutes=n).id for n in range(8)]
    for case_id in case_ids:
        results = race(sessions, case_id, list(people))
        winners = [who for who, r in results.items() if r.won]
        assert len(results) == 2 and len(winners) == 1
        [loser] = [r for who, r in results.items() if who not in winners]
        assert loser.holder == people[winners[0]]  # told who has it
        with sessions() as s:
            taken = s.get(Case, case_id)
            assert taken is not None and taken.status == CaseStatus.CLAIMED
            assert taken.claimed_by == winners[0]


def test_a_claimed_case_leaves_the_queue(sessions: sessionmaker[Session]) -> None:
    with sessions() as s, s.begin():
        me = counsellor(s, "tanaka")
        c = new_case(s, priority=Priority.NORMAL, waited_minutes=3)
        assert claim(session=s, case_id=c.id, counsellor=me).won
        assert waiting(session=s) == []
        again = claim(session=s, case_id=c.id, counsellor=me)
        assert not again.won and again.holder == "tanakaさん"
