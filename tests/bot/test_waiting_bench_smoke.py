"""benchmarks/waiting_bench.py end to end on a small queue: every resident event answered, no
resident told a higher place than before, every case taken and its first figure measured. A
correctness smoke only: the figures are the benchmark's to print."""

from __future__ import annotations

import pytest

from benchmarks.waiting_bench import main, place_increases, told_places
from bot.releases.load import load_content
from bot.settings import DEFAULT_CONTENT_DIR
from tests.conftest import POSTGRES_URL


@pytest.mark.parametrize("extra", [
    pytest.param([], id="sqlite"),
    pytest.param(["--database-url", POSTGRES_URL or ""], id="postgresql",
                 marks=[pytest.mark.postgres,
                        pytest.mark.skipif(not POSTGRES_URL,
                                           reason="TSUNAGU_TEST_POSTGRES_URL is not set")]),
])
def test_every_resident_is_answered_and_never_moved_back(extra: list[str]) -> None:
    # Enough residents that some wait past the update interval (30 minutes): shorter waits
    # rightly hear nothing more than the figure told at the handoff.
    report = main(["--residents", "50", *extra])
    # Each resident: follow, 「人と話したい」 and the consent tap at least.
    assert report.events >= 50 * 3 and report.unanswered == 0
    assert report.place_increases == 0
    assert report.claimed == 50 and report.measured == 50
    assert len(report.baseline_errors) == report.measured
    assert report.updates_pushed > 0  # the queue moved and the job told people


def test_the_benchmark_counts_a_place_that_went_up() -> None:
    """The check must be able to fail: a resident told 2, then 1, then 3 people before them."""
    messages = load_content(DEFAULT_CONTENT_DIR).messages

    def said(ahead: int) -> list[dict[str, str]]:
        body = messages.wait_next if ahead == 0 else messages.wait_place.format(ahead=ahead)
        return [{"type": "text", "text": f"順番のお知らせです。\n{body}"}]

    rows = [("U1", said(2)), ("U2", said(5)), ("U1", said(1)), ("U1", said(3)),
            ("U2", said(0))]
    told = told_places(rows, messages)
    assert told == {"U1": [2, 1, 3], "U2": [5, 0]}
    assert place_increases(told) == 1
