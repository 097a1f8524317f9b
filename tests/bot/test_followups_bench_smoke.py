"""benchmarks/followups_bench.py end to end on a small count: each follow-up reaches the emulator
exactly once and every row ends sent. A correctness smoke only: timings are the benchmark's to
print, never a test's to assert (they depend on the machine)."""

from __future__ import annotations

import pytest
from line_emulator.state import EmulatorState, RecordedCall

from benchmarks.followups_bench import PUSH_PATH, delivery, main, user_id
from tests.conftest import POSTGRES_URL

COUNT = 50


@pytest.mark.parametrize("extra", [
    pytest.param([], id="sqlite"),
    pytest.param(["--database-url", POSTGRES_URL or "", "--dispatchers", "2"], id="postgresql",
                 marks=[pytest.mark.postgres,
                        pytest.mark.skipif(not POSTGRES_URL,
                                           reason="TSUNAGU_TEST_POSTGRES_URL is not set")]),
])
def test_every_due_follow_up_is_delivered_once(extra: list[str]) -> None:
    report = main(["--count", str(COUNT), *extra])

    assert report.product_seconds is not None  # everything arrived (well within the timeout)
    assert report.duplicates == 0
    assert report.product.accepted == COUNT and report.product.missing == 0
    assert report.product.unexpected == 0
    assert report.followups_sent == COUNT
    assert report.outbox_rows == COUNT and report.outbox_sent == COUNT
    assert report.all_sent
    assert sum(report.sent_per_dispatcher) == COUNT
    # The baseline is a measurement too: it must have delivered the same pushes cleanly.
    assert report.baseline.accepted == COUNT and report.baseline.duplicates == 0


def test_the_benchmark_counts_a_second_delivery_as_a_duplicate() -> None:
    """The counter must be able to fail: a push repeated to one resident (new retry key, as
    a second outbox row would have) and a retry key accepted twice are both caught."""
    emulator = EmulatorState(channel_secret="s", access_token="t")
    messages = [{"type": "text", "text": "x"}]
    a, b, c = user_id(0), user_id(1), user_id(2)
    for to, key in [(a, "k1"), (a, "k2"), (b, "k3"), (b, "k3")]:
        emulator.record_call(RecordedCall(time=0.0, method="POST", path=PUSH_PATH, status=200,
                                          retry_key=key, body={"to": to, "messages": messages},
                                          auth_ok=True))
    counted = delivery(emulator, 0, {a, b, c}, messages)
    assert counted.duplicates_by_user == 2 and counted.duplicates_by_retry_key == 1
    assert counted.missing == 1 and counted.accepted == 4
