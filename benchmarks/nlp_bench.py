"""Throughput of the risk analyser (rules and model, as the product runs it) against bare
fugashi tokenisation of the same messages: the corpus and the evaluation set.

    python benchmarks/nlp_bench.py [--repeat N] [--dir CONTENT]

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

from bot.nlp import trained as risk_models  # noqa: E402
from bot.nlp.analyzer import Analyzer  # noqa: E402
from bot.nlp.corpus import load_corpus  # noqa: E402
from bot.nlp.evaluate import load_labelled  # noqa: E402
from bot.nlp.load import load_lexicon  # noqa: E402
from bot.nlp.tokens import tagger  # noqa: E402


def corpus(content: Path) -> list[str]:
    written = [e.text for e in load_corpus(content / "risk" / "corpus").examples]
    return written + [m.text for m in load_labelled(ROOT / "tests" / "nlp" / "eval_set.yaml")]


def product_analyzer(content: Path) -> Analyzer:
    risk = content / "risk"
    return Analyzer(load_lexicon(risk), risk_models.model_for(load_corpus(risk / "corpus")))


def seconds(work: list[str], run: Callable[[str], object]) -> float:
    start = time.perf_counter()
    for text in work:
        run(text)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=1, help="corpus copies per pass")
    parser.add_argument("--rounds", type=int, default=9, help="alternating rounds")
    parser.add_argument("--dir", type=Path, default=ROOT / "content", help="content folder")
    args = parser.parse_args()
    work = corpus(args.dir) * args.repeat
    chars = sum(len(t) for t in work)
    tag = tagger()
    analyzer = product_analyzer(args.dir)
    analyzer.analyze("warm-up")
    print(f"model: {analyzer.model.version if analyzer.model else 'none (rules alone)'}")
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
