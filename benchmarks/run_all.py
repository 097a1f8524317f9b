"""Every benchmark in one command, then one summary table.

    python benchmarks/run_all.py [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Runs nlp_bench.py, followups_bench.py, webhook_bench.py, latency_bench.py,
login_flood_bench.py and waiting_bench.py with their default sizes, one after the other (each
prints its own full report as it goes), on SQLite; the webhook and latency benchmarks run
twice, with TSUNAGU_WORKER_PROCESS off and on. With `--database-url`, all but nlp run again on
throw-away PostgreSQL databases on that server (follow-ups with two dispatchers, latency with
two tsunagu processes). The default run takes
about 10 minutes on the 2-core machine; the PostgreSQL variants add about as much again.

Every figure is a ratio against a baseline measured in the same run, so read the ratios, not
the absolute numbers. Exits 1 if any target is missed.
"""

from __future__ import annotations

import argparse
import functools
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import (  # noqa: E402
    followups_bench,
    latency_bench,
    login_flood_bench,
    waiting_bench,
    webhook_bench,
)

NLP_TARGET = 0.5  # nlp_bench.py: analyze() at least half as fast as bare fugashi


@dataclass(frozen=True)
class Row:
    benchmark: str
    database: str
    figure: str  # what tsunagu achieved
    baseline: str  # the same-run baseline
    ratio: str
    target: str
    passed: bool | None  # None: the benchmark did not finish
    seconds: float


def nlp() -> Row:
    """nlp_bench.py takes no arguments from a caller, so it runs as its own process."""
    start = time.perf_counter()
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "nlp_bench.py")],
                            capture_output=True, text=True, check=False)
    print(result.stdout, end="", flush=True)
    print(result.stderr, end="", file=sys.stderr)
    seconds = time.perf_counter() - start

    def number(label: str) -> float | None:
        found = re.search(rf"{re.escape(label)}\s+([0-9.]+)", result.stdout)
        return float(found.group(1)) if found else None

    ratio = number("ratio analyze/fugashi:")
    analyzed, bare = number("analyze():"), number("bare fugashi tokenisation:")
    return Row("risk analysis (nlp)", "-",
               f"{analyzed:.0f} msg/s" if analyzed else "?",
               f"fugashi {bare:.0f} msg/s" if bare else "?",
               f"{ratio:.2f}" if ratio is not None else "?", f">= {NLP_TARGET}",
               None if ratio is None else ratio >= NLP_TARGET, seconds)


def followups(database_url: str | None) -> Row:
    start = time.perf_counter()
    extra = ["--database-url", database_url, "--dispatchers", "2"] if database_url else []
    r = followups_bench.main(extra)
    product = f"{r.product_seconds:.1f} s" if r.product_seconds is not None else "incomplete"
    ratio = f"{r.product_seconds / r.baseline_seconds:.2f}" \
        if r.product_seconds is not None else "-"
    return Row(f"10,000 due follow-ups ({r.dispatchers} dispatcher(s))", _database(r.backend),
               f"{product}, {r.duplicates} duplicates", f"bare pushes {r.baseline_seconds:.1f} s",
               ratio, f"< {followups_bench.TARGET_SECONDS:.0f} s, 0 duplicates", r.passed,
               time.perf_counter() - start)


def _arguments(database_url: str | None, worker_process: bool) -> list[str]:
    return ((["--database-url", database_url] if database_url else [])
            + (["--worker-process"] if worker_process else []))


def _mode(worker_process: bool) -> str:
    return ", worker process" if worker_process else ""


def webhook(database_url: str | None, worker_process: bool) -> list[Row]:
    start = time.perf_counter()
    r = webhook_bench.main(_arguments(database_url, worker_process))
    s = webhook_bench.summary(r)
    seconds = time.perf_counter() - start
    checked = r.all_acknowledged and r.all_stored_and_answered
    return [
        Row(f"webhook ingest throughput{_mode(worker_process)}", _database(r.backend),
            f"{s['tsunagu_throughput']:.0f}/s", f"echo bot {s['echo_throughput']:.0f}/s",
            f"{s['throughput_ratio']:.2f}", f">= {webhook_bench.THROUGHPUT_RATIO_TARGET}",
            r.throughput_passed and checked, seconds),
        Row(f"webhook ack p99 at {r.rate:.0f}/s{_mode(worker_process)}", _database(r.backend),
            f"{s['tsunagu_p99_ms']:.1f} ms (p50 {s['tsunagu_p50_ms']:.1f})",
            f"echo bot {s['echo_p99_ms']:.1f} ms",
            f"{s['tsunagu_p99_ms'] / s['echo_p99_ms']:.1f}" if s["echo_p99_ms"] else "-",
            f"<= {webhook_bench.P99_TARGET_MS:.0f} ms", r.latency_passed and checked, 0.0),
    ]


def latency(database_url: str | None, worker_process: bool) -> Row:
    start = time.perf_counter()
    r = latency_bench.main(_arguments(database_url, worker_process))
    s = latency_bench.summary(r)
    return Row(f"text -> reply p95, {s['residents']} residents, {s['processes']} process(es)"
               f"{_mode(worker_process)}",
               _database(r.backend),
               f"{s['tsunagu_p95_ms']:.0f} ms (p50 {s['tsunagu_p50_ms']:.0f})",
               f"echo bot {s['echo_p95_ms']:.0f} ms", f"{s['ratio']:.1f}",
               f"<= {latency_bench.P95_RATIO_TARGET:.0f}x echo", r.passed,
               time.perf_counter() - start)


def login_flood(database_url: str | None) -> Row:
    start = time.perf_counter()
    r = login_flood_bench.main(["--database-url", database_url] if database_url else [])
    return Row(f"webhook ack p50 during {r.flooders} concurrent wrong logins",
               _database(r.backend), f"{r.flood.ms(50):.1f} ms (p95 {r.flood.ms(95):.0f})",
               f"idle {r.idle.ms(50):.1f} ms", f"{r.p50_ratio:.2f}",
               f"<= {login_flood_bench.P50_RATIO_TARGET:.0f}x idle", r.passed,
               time.perf_counter() - start)


def waiting(database_url: str | None) -> Row:
    start = time.perf_counter()
    r = waiting_bench.main(["--database-url", database_url] if database_url else [])
    median = statistics.median(r.errors) if r.errors else float("nan")
    p90 = waiting_bench.percentile(r.errors, 0.9)
    baseline = statistics.median(r.baseline_errors) if r.baseline_errors else float("nan")
    return Row(f"wait told to {r.residents} residents, {r.counsellors} counsellors",
               _database(r.backend),
               f"|error| median {median:.0f} min (p90 {p90:.0f}), {r.inside_share:.0%} inside",
               f"constant estimate {baseline:.0f} min",
               f"{median / baseline:.2f}" if baseline else "-",
               f">= {waiting_bench.INSIDE_TARGET:.0%} inside, all answered, places never up",
               r.passed, time.perf_counter() - start)


def _database(backend: str) -> str:
    return "PostgreSQL" if backend.startswith("PostgreSQL") else "SQLite"


def print_table(rows: list[Row]) -> None:
    headers = ("benchmark", "database", "tsunagu", "baseline (same run)", "ratio", "target",
               "result", "took")
    cells = [[row.benchmark, row.database, row.figure, row.baseline, row.ratio, row.target,
              {True: "PASS", False: "FAIL", None: "ERROR"}[row.passed],
              f"{row.seconds:.0f} s" if row.seconds else ""] for row in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    print()
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for c in cells:
        print("  ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)))


def main(argv: Sequence[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None,
                        help="also run on throw-away databases on this PostgreSQL server")
    options = parser.parse_args(argv)
    databases: list[str | None] = [None]
    if options.database_url:
        databases.append(options.database_url)

    steps: list[tuple[str, Callable[[], Row | list[Row]]]] = [("nlp", nlp)]
    for url in databases:
        where = "PostgreSQL" if url else "SQLite"
        steps.append((f"followups ({where})", functools.partial(followups, url)))
        for worker_process in (False, True):  # TSUNAGU_WORKER_PROCESS off, then on
            mode = _mode(worker_process)
            steps += [(f"webhook ({where}{mode})", functools.partial(webhook, url, worker_process)),
                      (f"latency ({where}{mode})", functools.partial(latency, url, worker_process))]
        steps.append((f"login flood ({where})", functools.partial(login_flood, url)))
        steps.append((f"waiting ({where})", functools.partial(waiting, url)))
    rows: list[Row] = []
    start = time.perf_counter()
    for name, step in steps:
        print(f"\n===== {name} =====", flush=True)
        try:
            result = step()
        except Exception as e:  # one broken benchmark must not hide the others' figures
            print(f"{name} failed: {type(e).__name__}: {e}", file=sys.stderr)
            rows.append(Row(name, "-", "-", "-", "-", "-", None, 0.0))
            continue
        rows.extend(result if isinstance(result, list) else [result])
    print_table(rows)
    print(f"\nall benchmarks: {time.perf_counter() - start:.0f} s")
    return rows


if __name__ == "__main__":
    sys.exit(0 if all(row.passed for row in main()) else 1)
