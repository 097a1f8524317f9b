"""benchmarks/webhook_bench.py and latency_bench.py end to end on tiny sizes: real server
processes, every webhook acknowledged, every event stored and answered, every message replied
to. A correctness smoke only: timings are the benchmarks' to print, never a test's to assert
(they depend on the machine)."""

from __future__ import annotations

import pytest
from line_emulator.state import EmulatorState

from benchmarks import latency_bench, webhook_bench
from tests.conftest import POSTGRES_URL

BACKENDS = [
    pytest.param([], id="sqlite"),
    pytest.param(["--database-url", POSTGRES_URL or ""], id="postgresql",
                 marks=[pytest.mark.postgres,
                        pytest.mark.skipif(not POSTGRES_URL,
                                           reason="TSUNAGU_TEST_POSTGRES_URL is not set")]),
]


@pytest.mark.parametrize("extra", BACKENDS)
def test_webhook_bench_acknowledges_stores_and_answers_every_webhook(extra: list[str]) -> None:
    report = webhook_bench.main(["--requests", "24", "--concurrency", "4", "--rounds", "2",
                                 "--rate", "20", "--seconds", "1", "--users", "6",
                                 "--warmup", "4", "--drain-timeout", "120", *extra])

    for load in report.loads:
        assert load.sent and load.acknowledged == load.sent, (load.server, load.statuses)
        assert len(load.latencies) == load.sent
    assert [len(report.rounds_echo), len(report.rounds_tsunagu)] == [2, 2]
    assert report.open_tsunagu.sent == 20
    assert report.sent_to_tsunagu == 4 + 2 * 24 + 20
    assert report.backlog.stored == report.sent_to_tsunagu  # every event in the inbox
    assert report.backlog.idle and report.backlog.failed == 0  # processed and answered
    assert report.all_acknowledged and report.all_stored_and_answered


@pytest.mark.parametrize("extra", BACKENDS)
def test_latency_bench_answers_every_message_of_every_resident(extra: list[str]) -> None:
    report = latency_bench.main(["--residents", "3", "--messages", "3", "--reply-timeout", "60",
                                 *extra])

    processes = 2 if extra else 1
    for run in (report.baseline, report.product):
        assert run.processes == processes
        assert len(run.exchanges) == run.expected == 3 * (1 + 3)
        assert run.acknowledged == run.answered == run.expected
        assert all(e.reply_seconds is not None and e.reply_seconds > 0 for e in run.exchanges)
        assert set(run.per_process) == set(range(processes))  # webhooks reached every process
    assert report.stored == report.product.expected and report.failed == 0
    assert report.complete


async def test_a_late_message_of_an_earlier_answer_is_not_taken_for_the_next_reply() -> None:
    """The reply finder must be able to miss: a push finishing the previous answer, arriving
    after the resident's next message, is not the bot's answer to that message."""
    emulator = EmulatorState(channel_secret="s", access_token="t")
    user = "U" + "1" * 32
    message = [{"type": "text", "text": "x"}]
    resident = latency_bench.Resident(emulator, user)
    try:
        resident.text("first")
        emulator.deliver(user, message, "reply")
        assert await resident.reply_to(1, 1.0) is not None

        resident.text("second")
        emulator.deliver(user, message, "push")  # the rest of the first answer, late
        assert await resident.reply_to(2, 0.2) is None

        emulator.deliver(user, message, "reply")
        assert await resident.reply_to(2, 1.0) is not None
    finally:
        resident.close()


def test_login_flood_bench_answers_every_webhook_and_every_login() -> None:
    """benchmarks/login_flood_bench.py on a tiny flood: the webhooks are all acknowledged and
    every login gets an answer (checked, or turned away politely), none a 5xx other than the
    gate's 503."""
    from benchmarks import login_flood_bench

    report = login_flood_bench.main(["--flooders", "6", "--seconds", "1", "--rate", "10"])
    assert report.all_acknowledged and report.idle.sent == report.flood.sent == 10
    assert report.logins and set(report.logins) <= {200, 503}
    assert report.logins[200] >= 1
