"""Throughput of the risk analyser against bare fugashi tokenisation of the same corpus.

    python benchmarks/nlp_bench.py [--repeat N]

Both are measured in this run, on this machine, so the ratio is what to read (target ≥ 0.5:
the analyser may cost at most twice what tokenising alone costs).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.nlp.analyzer import default_analyzer  # noqa: E402
from bot.nlp.evaluate import load_labelled  # noqa: E402
from bot.nlp.tokens import tagger  # noqa: E402


def corpus() -> list[str]:
    return [item.text for item in load_labelled(ROOT / "tests" / "nlp" / "eval_set.yaml")]


def seconds(work: list[str], run: Callable[[str], object]) -> float:
    start = time.perf_counter()
    for text in work:
        run(text)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="corpus copies per pass")
    parser.add_argument("--rounds", type=int, default=9, help="alternating rounds")
    args = parser.parse_args()
    work = corpus() * args.repeat
    chars = sum(len(t) for t in work)
    tag = tagger()
    analyzer = default_analyzer()
    analyzer.analyze("warm-up")
    # Rounds alternate baseline and analyser, so both see the same machine at the same moment;
    # the median of the per-round ratios is robust to a noisy neighbour.
    base_times, analyze_times = [], []
    for _ in range(args.rounds):
        base_times.append(seconds(work, lambda text: [w.feature.lemma for w in tag(text)]))
        analyze_times.append(seconds(work, analyzer.analyze))
    ratio = statistics.median(b / a for b, a in zip(base_times, analyze_times, strict=True))
    print(f"corpus: {len(work)} messages, {chars} characters, {args.rounds} rounds")
    print(f"bare fugashi tokenisation: {len(work) / statistics.median(base_times):10.0f} "
          "messages/s")
    print(f"analyze():                 {len(work) / statistics.median(analyze_times):10.0f} "
          "messages/s")
    print(f"ratio analyze/fugashi:     {ratio:10.2f}  (median of rounds; target >= 0.5)")


if __name__ == "__main__":
    main()
