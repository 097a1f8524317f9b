"""One runner stepped from many threads at once, as the worker does for many residents."""

from __future__ import annotations

import threading

from bot.flows.engine import Dialogue, FlowRunner

from .helpers import text


def test_identical_dialogues_stepped_at_once_all_succeed(runner: FlowRunner) -> None:
    # Same state, same answers: what many residents typing the same thing look like.
    expected = runner.step(Dialogue("welcome"), text("はじめる")).state
    results: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def resident() -> None:
        start.wait()
        for _ in range(200):
            try:
                results.append(runner.step(Dialogue("welcome"), text("はじめる")).state)
            except Exception as e:  # the race shows as a ValueError from the machine
                errors.append(e)

    threads = [threading.Thread(target=resident) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert results == [expected] * 1600
