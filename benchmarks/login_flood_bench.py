"""A flood of anonymous console logins against the webhook's latency, in one tsunagu process.

    python benchmarks/login_flood_bench.py [--flooders N] [--seconds S] [--rate R]
                                           [--database-url URL]

`tsunagu serve` runs on a fresh database with its LINE API pointing at the product's LINE
emulator in another process (as webhook_bench.py does). Two phases of `--seconds` each, with
signed one-event webhooks posted at `--rate` per second (open loop: latency counts from each
request's scheduled time):
(a) idle: only the webhooks;
(b) flood: the same webhooks while `--flooders` clients each post wrong logins (unknown names,
    wrong passwords) back to back for the whole phase.
The server runs with the address limit switched off (TSUNAGU_LOGIN_ADDRESS_FAILURES very high):
every attempt reaches the password check, as a flood from very many addresses would, so this is
the worst case for the gate that bounds argon2 (handoff/console/security.py), not the easy case
of one address being refused before hashing.

Printed: the webhook's acknowledgement latency (p50, p95) in each phase and their ratio (the
target: the flood's p50 within 2x of the idle p50, measured in the same run), what the logins
got (200 wrong password, 503 busy, 429 limited), and the server's resident memory before and at
its peak. Read the ratios: absolute figures depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from benchmarks.webhook_bench import (  # noqa: E402
    Client,
    Load,
    Server,
    fresh_database,
    loop_factory,
    new_users,
    open_loop,
    signed_text_webhooks,
    start_emulator,
    start_tsunagu,
    stopping,
)

P50_RATIO_TARGET = 2.0


@dataclass
class Report:
    backend: str
    flooders: int
    rate: float
    idle: Load
    flood: Load
    logins: Counter[int] = field(default_factory=Counter)  # status -> count; 0: no answer
    login_seconds: float = 0.0
    rss_before_mib: float | None = None
    rss_peak_mib: float | None = None

    @property
    def p50_ratio(self) -> float:
        return self.flood.ms(50) / self.idle.ms(50) if self.idle.latencies else float("nan")

    @property
    def all_acknowledged(self) -> bool:
        return all(load.acknowledged == load.sent for load in (self.idle, self.flood))

    @property
    def passed(self) -> bool:
        return self.all_acknowledged and self.p50_ratio <= P50_RATIO_TARGET


def _memory_mib(pid: int, field_name: str) -> float | None:
    """VmRSS (now) or VmHWM (peak) of a process, from Linux's /proc."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(rf"^{field_name}:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) / 1024 if found else None


def _login_form(server: Server) -> tuple[str, str]:
    """A session cookie and its CSRF token, as a browser gets them from the login page."""
    with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client:
        page = client.get("/console/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        cookie = client.cookies.get("tsunagu_console")
        assert token and cookie, page.text[:200]
        return cookie, token.group(1)


async def flood(server: Server, flooders: int, stop: asyncio.Event,
                logins: Counter[int]) -> None:
    """`flooders` clients posting wrong logins back to back until `stop` is set."""
    import aiohttp

    cookie, token = _login_form(server)
    url = f"{server.url}/console/login"
    async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=flooders),
            timeout=aiohttp.ClientTimeout(total=60)) as session:

        async def one(i: int) -> None:
            n = 0
            while not stop.is_set():
                n += 1
                form = {"username": f"nobody-{i}-{n}", "password": f"wrong guess {n}",
                        "csrf": token}
                try:
                    async with session.post(url, data=form, allow_redirects=False,
                                            headers={"Cookie": f"tsunagu_console={cookie}"}
                                            ) as answer:
                        await answer.read()
                        logins[answer.status] += 1
                except (aiohttp.ClientError, TimeoutError):
                    logins[0] += 1

        await asyncio.gather(*(one(i) for i in range(flooders)))


async def measure(options: argparse.Namespace, server: Server, backend: str) -> Report:
    users = new_users(20)
    count = int(options.rate * options.seconds)
    client = Client("aiohttp", connections=32)
    async with client:
        await open_loop(client, server, signed_text_webhooks(20, users), options.rate)  # warm
        idle = await open_loop(client, server, signed_text_webhooks(count, users), options.rate)
        idle.server = "idle"
        pid = server.process.pid
        rss_before = _memory_mib(pid, "VmRSS")
        logins: Counter[int] = Counter()
        stop = asyncio.Event()
        start = time.perf_counter()
        flooding = asyncio.create_task(flood(server, options.flooders, stop, logins))
        await asyncio.sleep(1.0)  # the flood is on before the webhooks are measured
        loaded = await open_loop(client, server, signed_text_webhooks(count, users),
                                 options.rate)
        loaded.server = "flood"
        stop.set()
        await flooding
        login_seconds = time.perf_counter() - start
        rss_peak = _memory_mib(pid, "VmHWM")
    return Report(backend=backend, flooders=options.flooders, rate=options.rate, idle=idle,
                  flood=loaded, logins=logins, login_seconds=login_seconds,
                  rss_before_mib=rss_before, rss_peak_mib=rss_peak)


def print_report(r: Report) -> None:
    print(f"\nlogin flood: {r.flooders} concurrent wrong logins, webhooks at {r.rate:.0f}/s, "
          f"{r.backend}")
    for load in (r.idle, r.flood):
        print(f"  webhook ack ({load.server:5}): p50 {load.ms(50):7.1f} ms  "
              f"p95 {load.ms(95):7.1f} ms  acknowledged {load.acknowledged}/{load.sent}")
    total = sum(r.logins.values())
    answered = ", ".join(f"{status or 'no answer'}: {n}" for status, n in sorted(r.logins.items()))
    print(f"  logins: {total} in {r.login_seconds:.1f} s ({answered}; 200 = wrong password "
          f"checked, 503 = turned away by the gate)")
    if r.rss_before_mib is not None and r.rss_peak_mib is not None:
        print(f"  server memory: {r.rss_before_mib:.0f} MiB before the flood, peak "
              f"{r.rss_peak_mib:.0f} MiB")
    print(f"  ratio flood/idle p50: {r.p50_ratio:.2f} (target <= {P50_RATIO_TARGET:.1f}); "
          f"p95: {r.flood.ms(95) / r.idle.ms(95):.2f}")
    print(f"  {'PASS' if r.passed else 'FAIL'}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flooders", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--database-url", default=None,
                        help="run on a throw-away database on this PostgreSQL server")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> Report:
    options = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tsunagu-login-flood-") as tmp:
        workdir = Path(tmp)
        with fresh_database(options.database_url, workdir) as (url, backend), \
                stopping([]) as servers:
            print(f"starting tsunagu ({backend}) ...", flush=True)
            line = start_emulator(workdir)
            servers.append(line)
            servers.append(start_tsunagu("tsunagu", url, workdir, api_url=f"{line.url}/emulator",
                                         reply_token_ttl_seconds="0",
                                         login_address_failures="1000000000"))
            try:
                with asyncio.Runner(loop_factory=loop_factory()) as runner:
                    report = runner.run(measure(options, servers[1], backend))
            except BaseException:
                for server in servers:
                    print(f"--- {server.name} log (last lines)\n{server.log_tail()}",
                          file=sys.stderr)
                raise
    print_report(report)
    return report


if __name__ == "__main__":
    sys.exit(0 if main().passed else 1)
