"""Console live updates: a page hears of a change at once, from this process or another one."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import httpx
import pytest

from bot.db.changes import ChangeFeed
from bot.db.models import Conversation
from handoff.accounts import add_counsellor
from handoff.models import Case
from tests.live import PASSWORD, LiveApp, logged_in, wait_for

NEVER = 300.0  # the fallback re-check: far beyond the test, so only a signal can explain it


def test_a_change_from_another_thread_wakes_every_waiter() -> None:
    async def scenario() -> tuple[list[int], int]:
        feed = ChangeFeed()
        feed.attach(asyncio.get_running_loop())
        seen: list[str] = []
        feed.subscribe(seen.append)
        waiters = [asyncio.create_task(feed.wait(0, NEVER)) for _ in range(3)]
        await asyncio.sleep(0.05)
        threading.Thread(target=feed.changed, args=("cases",)).start()
        versions = await asyncio.wait_for(asyncio.gather(*waiters), 5)
        assert seen == ["cases"]
        return versions, await feed.wait(feed.version, 0.05)  # nothing new: times out

    versions, after = asyncio.run(scenario())
    assert versions == [1, 1, 1]
    assert after == 1


def test_an_unattached_feed_ignores_changes() -> None:
    feed = ChangeFeed()
    feed.changed("cases")  # e.g. a CLI commit with no running app: nothing to wake
    assert feed.version == 0


def _open_case(app: LiveApp, user: str) -> None:
    with app.session() as s, s.begin():
        conversation = Conversation(line_user_id=user, flow_id="intake", flow_version="v",
                                    state="handoff")
        s.add(conversation)
        s.flush()
        s.add(Case(conversation_id=conversation.id, team_id="t"))


@pytest.fixture
def apps(fresh_database_url: str) -> Iterator[list[LiveApp]]:
    count = 1 if fresh_database_url.startswith("sqlite") else 2  # SQLite runs one process
    started = [LiveApp(fresh_database_url, background=False, live_fallback_seconds=NEVER).start()
               for _ in range(count)]
    with started[0].session() as s, s.begin():
        add_counsellor(session=s, username="sato", display_name="佐藤", password=PASSWORD,
                       team_id="t")  # the team of the cases _open_case writes
    yield started
    for app in started:
        app.stop()


def test_the_queue_page_hears_of_a_new_case_from_any_process(apps: list[LiveApp]) -> None:
    watcher, writer = apps[0], apps[-1]  # on PostgreSQL: two apps with their own engines
    cookies = logged_in(watcher, "sato").cookies

    async def page() -> list[str]:
        heard: list[str] = []
        async with httpx.AsyncClient(base_url=watcher.url, cookies=cookies,
                                     trust_env=False) as client, \
                client.stream("GET", "/console/stream", timeout=None) as stream:
            lines = stream.aiter_lines()

            async def next_event() -> str:
                while True:
                    line = await asyncio.wait_for(anext(lines), 10)
                    if line.startswith("event:"):
                        return line.split(":", 1)[1].strip()

            # The stream says when it has read its first fingerprint: the page fetches then.
            assert await next_event() == "ready"
            for n in (1, 2):
                await asyncio.to_thread(_open_case, writer, "U" + str(n) * 32)
                heard.append(await next_event())
        return heard  # leaving the block closes the stream, as a page being left does

    assert asyncio.run(page()) == ["changed", "changed"]


def test_the_listener_comes_back_after_losing_its_connection(apps: list[LiveApp]) -> None:
    app = apps[0]
    if app.settings.is_sqlite:
        pytest.skip("SQLite signals in memory; there is no connection to lose")
    from sqlalchemy import create_engine, text

    from bot.db.changes import libpq_url

    feed = app.runtime.changes
    before = feed.version
    admin = create_engine(app.settings.database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:  # what a database restart does to a listening session
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid() "
                          "AND datname = current_database()"))
    admin.dispose()
    assert libpq_url(app.settings.database_url).startswith("postgresql://")
    wait_for(lambda: feed.version > before + 1)  # 'unknown' then 'reconnected'
    seen = feed.version
    _open_case(apps[-1], "U" + "3" * 32)
    wait_for(lambda: feed.version > seen)
