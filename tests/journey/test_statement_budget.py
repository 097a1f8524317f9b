"""How many SQL statements the worker spends on an ordinary text message: a count, pinned, so
that a change which makes the hot path chattier shows up here (never a wall-clock limit)."""

from __future__ import annotations

from typing import Any

from line_emulator import events as line_events
from sqlalchemy import event

from benchmarks.latency_bench import INTAKE, script
from bot.db.engine import make_engine, make_session_factory, transaction
from bot.edge.inbox import source_key, store_batch
from bot.journey.conversation import FlowLibrary
from bot.journey.worker import process_source
from bot.releases.load import load_content
from bot.settings import DEFAULT_CONTENT_DIR

# Words for the counsellor, once the intake has opened a case: reading the source's pending
# events, claiming the event, the conversation with its case, the risk window, the follow-up
# plan; writing the risk record, the conversation, the case message, the outbox rows and the
# event's status. An intake answer moving the flow on costs at most one more; the one
# that opens the case writes it and plans its follow-ups too. PostgreSQL adds the source's
# advisory lock to each.
ORDINARY = 10
OPENING_A_CASE = 14
# The handoff also tells the resident where they stand: one read of the team's queue (with its
# pace and who is answering, in the same statement) and one write of what was told.
TELLING_THE_WAIT = 2


def test_an_ordinary_text_message_stays_within_its_statement_budget(database_url: str) -> None:
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    library = FlowLibrary(load_content(DEFAULT_CONTENT_DIR))
    counted: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        counted.append(statement)


    user = line_events.new_user_id()
    per_message: list[int] = []
    try:
        for i, words in enumerate(["", *script(16)]):
            e = line_events.follow_event(user) if i == 0 else line_events.text_event(user, words)
            with transaction(sessions) as session:
                store_batch(session=session, bodies=[[e]])
            counted.clear()
            assert process_source(sessions, source_key(e), lambda: library,
                                  reply_ttl_seconds=60) == 1
            if i >= 2:  # the follow and the first text create the conversation
                per_message.append(len(counted))
    finally:
        engine.dispose()
    lock = 1 if engine.dialect.name == "postgresql" else 0
    to_the_case = per_message[-3:]
    assert max(to_the_case) <= ORDINARY + lock, per_message
    handoff = per_message.pop(INTAKE.index("同意する") - 1)  # per_message starts at i = 2
    assert handoff <= OPENING_A_CASE + TELLING_THE_WAIT + lock, per_message
    assert sorted(per_message)[-2] <= ORDINARY + 1 + lock, per_message
    assert max(per_message) <= OPENING_A_CASE + lock, per_message
