"""CPU and SQL statements per message on the worker's path, without HTTP or LINE.

    python benchmarks/hot_path_profile.py [--residents 20] [--database-url URL] [--profile]

Each resident follows, then types the intake of latency_bench.py and free text. Every event is
stored the way the webhook stores it (store_batch, one transaction) and then processed the way
the inbox worker processes it (process_source, one transaction per event), one at a time, on a
freshly migrated database (a temporary SQLite file by default). Prints, per event, the SQL
statements and the CPU time of each half; `--profile` adds a cProfile of the processing half.
The SQL count comes from a `before_cursor_execute` listener, so it counts what reaches the
driver (BEGIN and COMMIT are not statements there).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from line_emulator import events as line_events  # noqa: E402
from sqlalchemy import event  # noqa: E402

from benchmarks.latency_bench import script  # noqa: E402
from bot.db.engine import make_engine, make_session_factory, transaction  # noqa: E402
from bot.db.migrations import upgrade  # noqa: E402
from bot.edge.inbox import source_key, store_batch  # noqa: E402
from bot.journey.conversation import FlowLibrary  # noqa: E402
from bot.journey.worker import process_source  # noqa: E402
from bot.releases.load import load_content  # noqa: E402
from bot.settings import DEFAULT_CONTENT_DIR  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=20)
    parser.add_argument("--messages", type=int, default=16, help="texts after the follow")
    parser.add_argument("--database-url", help="a migrated database (default: temporary SQLite)")
    parser.add_argument("--profile", action="store_true", help="cProfile the processing")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--show", action="store_true",
                        help="print the statements of the last event processed")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/profile.db"
        upgrade(url)
        engine = make_engine(url)
        sessions = make_session_factory(engine)
        library = FlowLibrary(load_content(DEFAULT_CONTENT_DIR))

        counter = {"n": 0}
        last: list[str] = []

        @event.listens_for(engine, "before_cursor_execute")
        def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            counter["n"] += 1
            last.append(" ".join(statement.split())[:160])

        texts = script(args.messages)
        users = [line_events.new_user_id() for _ in range(args.residents)]
        store_sql = store_cpu = work_sql = work_cpu = 0.0
        events = 0
        profiler = cProfile.Profile() if args.profile else None
        started = time.perf_counter()
        for i in range(1 + len(texts)):
            for user in users:
                e = line_events.follow_event(user) if i == 0 else \
                    line_events.text_event(user, texts[i - 1])
                n0, c0 = counter["n"], time.process_time()
                with transaction(sessions) as session:
                    store_batch(session=session, bodies=[[e]])
                n1, c1 = counter["n"], time.process_time()
                last.clear()
                if profiler is not None:
                    profiler.enable()
                handled = process_source(sessions, source_key(e), lambda: library,
                                         reply_ttl_seconds=60)
                if profiler is not None:
                    profiler.disable()
                n2, c2 = counter["n"], time.process_time()
                assert handled == 1, handled
                if i >= 2:  # past the follow and the first text (a new conversation's work)
                    store_sql += n1 - n0
                    store_cpu += c1 - c0
                    work_sql += n2 - n1
                    work_cpu += c2 - c1
                    events += 1
        wall = time.perf_counter() - started
        print(f"{events} ordinary text events (of {args.residents} residents), {wall:.1f} s wall")
        print(f"store:   {store_sql / events:.2f} statements, "
              f"{store_cpu / events * 1000:.2f} ms CPU per event")
        print(f"process: {work_sql / events:.2f} statements, "
              f"{work_cpu / events * 1000:.2f} ms CPU per event")
        if args.show:
            print("\n".join(last))
        if profiler is not None:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.top)
        engine.dispose()


if __name__ == "__main__":
    main()
