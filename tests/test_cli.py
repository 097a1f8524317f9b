"""The `tsunagu` command as a newcomer meets it: demo, serve, db upgrade."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import inspect

from bot.db.engine import make_engine
from bot.db.migrations import upgrade
from bot.db.models import InboxEvent, InboxStatus
from bot.settings import Settings
from tests.live import SECRET, TOKEN, LiveApp, Resident, free_port, wait_for

TSUNAGU = str(Path(sys.executable).parent / "tsunagu")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TSUNAGU_")}
    return {**env, **extra}


def test_serve_refuses_to_start_without_a_channel(tmp_path: Path) -> None:
    result = subprocess.run([TSUNAGU, "serve"], cwd=tmp_path, env=clean_env(),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "TSUNAGU_LINE_CHANNEL_SECRET" in result.stderr and "tsunagu demo" in result.stderr


def test_secrets_never_print() -> None:
    settings = Settings(line_channel_secret="s3cr3t-value", line_channel_access_token="t0k3n")
    assert "s3cr3t-value" not in repr(settings) and "t0k3n" not in str(settings.model_dump())
    assert settings.secret == "s3cr3t-value"


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/fresh.db"
    result = subprocess.run([TSUNAGU, "db", "upgrade"], cwd=tmp_path,
                            env=clean_env(TSUNAGU_DATABASE_URL=url),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    engine = make_engine(url)
    assert {"inbox_events", "conversations", "outbox_messages"} <= set(
        inspect(engine).get_table_names())
    engine.dispose()


DEMO_LOGIN: list[str] = []
DEMO_ADMIN_LOGIN: list[str] = []


@contextlib.contextmanager
def running(command: str, *, cwd: Path, env: dict[str, str],
            port: int) -> Iterator[subprocess.Popen[bytes]]:
    """`tsunagu COMMAND --port PORT`, up (its /healthz answers 200) until the block ends; its
    output goes to COMMAND.log in `cwd`."""
    log_path = cwd / f"{command}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([TSUNAGU, command, "--port", str(port)], cwd=cwd, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

        def up() -> bool:
            assert proc.poll() is None, log_path.read_text()
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz",
                                 trust_env=False).status_code == 200
            except httpx.TransportError:
                return False

        try:
            wait_for(up, timeout=60, interval=0.3)
            yield proc
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(20)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / "demo.log").open("w")
    proc = subprocess.Popen([TSUNAGU, "demo", "--port", str(port)], cwd=tmp_path,
                            env=clean_env(), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert proc.poll() is None, (tmp_path / "demo.log").read_text()
        try:
            return httpx.get(f"{url}/healthz", trust_env=False).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(up, timeout=60, interval=0.3)
        printed = (tmp_path / "demo.log").read_text()
        login = re.search(r"ログイン: (\S+) / (\S+)", printed)
        assert login, printed
        DEMO_LOGIN[:] = login.groups()
        admin = re.search(r"管理者.*ログイン: (\S+) / (\S+)", printed)
        assert admin, printed
        DEMO_ADMIN_LOGIN[:] = admin.groups()
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
        log.close()
    assert (tmp_path / "tsunagu.db").exists()  # the embedded default, in the working folder


def test_demo_answers_a_resident_typing_in_the_emulator_page(demo: str) -> None:
    with httpx.Client(base_url=demo, trust_env=False, timeout=10) as http:
        page = http.get("/emulator/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        user = "U" + "a" * 32
        # What the page's script does when a person types and presses send.
        sent = http.post(f"/emulator/api/users/{user}/events",
                         json={"type": "text", "text": "どうしたらいいかわからない"})
        assert sent.status_code == 200 and sent.json()["status"] == 200

        def answered() -> list[dict[str, object]]:
            entries = http.get(f"/emulator/api/users/{user}/messages").json()["entries"]
            return [e for e in entries if e["sender"] == "bot"]

        bot = wait_for(answered, timeout=15)
        assert "ありがとう" in bot[0]["message"]["text"]  # type: ignore[index]
        assert bot[0]["via"] == "reply"


def test_content_validate_accepts_the_shipped_content(tmp_path: Path) -> None:
    result = subprocess.run([TSUNAGU, "content", "validate"], cwd=tmp_path, env=clean_env(),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "content is valid" in result.stdout and "intake (version" in result.stdout
    assert "emergency numbers: 12 (5 general); dangers: injury, child" in result.stdout


def test_content_validate_names_file_state_and_problem(tmp_path: Path) -> None:
    import shutil

    from bot.settings import DEFAULT_CONTENT_DIR

    content = tmp_path / "content"
    shutil.copytree(DEFAULT_CONTENT_DIR, content)
    flow = content / "flows" / "intake.yaml"
    flow.write_text(flow.read_text().replace("next: declined,", "next: declind,"))
    result = subprocess.run([TSUNAGU, "content", "validate", str(content)], env=clean_env(),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "content/flows/intake.yaml: state 'consent_counsel': choice 'decline': unknown " \
           "target state 'declind'" in result.stderr
    assert "state 'declined': unreachable" in result.stderr


def test_content_validate_refuses_numbers_that_cannot_be_called(tmp_path: Path) -> None:
    import shutil

    from bot.settings import DEFAULT_CONTENT_DIR

    content = tmp_path / "content"
    shutil.copytree(DEFAULT_CONTENT_DIR, content)
    resources = content / "resources.yaml"
    resources.write_text(resources.read_text().replace("tel: 0120-279-889", "tel: 0120-279-88"))
    result = subprocess.run([TSUNAGU, "content", "validate", str(content)], env=clean_env(),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "content/resources.yaml: hotlines.9.tel: Value error, '0120-279-88' is not a phone " \
           "number" in result.stderr


def test_content_validate_refuses_a_danger_naming_an_unknown_number(tmp_path: Path) -> None:
    import shutil

    from bot.settings import DEFAULT_CONTENT_DIR

    content = tmp_path / "content"
    shutil.copytree(DEFAULT_CONTENT_DIR, content)
    resources = content / "resources.yaml"
    resources.write_text(resources.read_text().replace("first: [child_guidance, police]",
                                                       "first: [jidou, police]"))
    result = subprocess.run([TSUNAGU, "content", "validate", str(content)], env=clean_env(),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "content/resources.yaml: dangers.1.first.0: unknown number 'jidou'" in result.stderr


def test_content_diagram_prints_mermaid(tmp_path: Path) -> None:
    result = subprocess.run([TSUNAGU, "content", "diagram"], cwd=tmp_path, env=clean_env(),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("---") and "stateDiagram-v2" in result.stdout
    assert "consent_counsel --> handoff: choose__agree" in result.stdout
    assert "人と話したい → consent_counsel" in result.stdout


def test_serve_refuses_broken_content(tmp_path: Path) -> None:
    import shutil

    from bot.settings import DEFAULT_CONTENT_DIR

    content = tmp_path / "content"
    shutil.copytree(DEFAULT_CONTENT_DIR, content)
    (content / "flows" / "intake.yaml").write_text("id: intake\nstart: nowhere\n")
    env = clean_env(TSUNAGU_CONTENT_DIR=str(content), TSUNAGU_LINE_CHANNEL_SECRET="s",
                    TSUNAGU_LINE_CHANNEL_ACCESS_TOKEN="t",
                    TSUNAGU_DATABASE_URL=f"sqlite:///{tmp_path}/x.db")
    result = subprocess.run([TSUNAGU, "serve"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert "content is not valid" in result.stderr and "intake.yaml" in result.stderr


def test_the_documented_diagram_is_the_current_flow() -> None:
    from bot.flows.diagram import mermaid
    from bot.releases.load import load_content
    from bot.settings import DEFAULT_CONTENT_DIR

    documented = (Path(__file__).resolve().parents[1] / "docs" / "intake-flow.mmd").read_text()
    current = mermaid(load_content(DEFAULT_CONTENT_DIR).flows["intake"].flow)
    assert documented == current, "run: tsunagu content diagram > docs/intake-flow.mmd"


def _demo_login(http: httpx.Client, username: str, password: str) -> None:
    page = http.get("/console/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    done = http.post("/console/login", data={"username": username, "password": password,
                                             "csrf": token.group(1)})
    assert done.status_code == 303


def test_the_demo_prints_a_counsellor_login_that_works(demo: str) -> None:
    username, password = DEMO_LOGIN
    with httpx.Client(base_url=demo, trust_env=False, timeout=10) as http:
        _demo_login(http, username, password)
        assert "受付一覧" in http.get("/console/").text
        # A counsellor of the default desk: not an administrator.
        assert http.get("/console/admin/").status_code == 403


def test_the_demo_prints_an_administrator_login_that_sees_everything(demo: str) -> None:
    username, password = DEMO_ADMIN_LOGIN
    assert [username, password] != DEMO_LOGIN
    with httpx.Client(base_url=demo, trust_env=False, timeout=10) as http:
        _demo_login(http, username, password)
        assert http.get("/console/admin/").status_code == 200
        assert http.get("/console/audit").status_code == 200


def test_web_replicas_store_and_a_separate_worker_answers(tmp_path: Path) -> None:
    """`TSUNAGU_RUN_WORKER=false` serves HTTP only: an event is stored and acknowledged but not
    answered, until a `tsunagu worker` process on the same database answers it."""
    url = f"sqlite:///{tmp_path}/split.db"
    upgrade(url)
    web = LiveApp(url, run_worker=False).start()
    try:
        resident = Resident(web)
        resident.send(resident.text("どうしたらいいかわからない"))
        time.sleep(1.0)  # several of the web's poll intervals: it would have answered by now
        assert web.count(InboxEvent, InboxEvent.status == InboxStatus.PENDING) == 1
        assert resident.bot_messages() == []  # stored, and nobody works on it

        api = f"{web.url}/emulator"
        env = clean_env(TSUNAGU_DATABASE_URL=url, TSUNAGU_LINE_CHANNEL_SECRET=SECRET,
                        TSUNAGU_LINE_CHANNEL_ACCESS_TOKEN=TOKEN, TSUNAGU_METRICS_TOKEN="m-token",
                        TSUNAGU_LINE_API_BASE_URL=api, TSUNAGU_LINE_DATA_API_BASE_URL=api)
        log_path = tmp_path / "worker.log"
        metrics_port = free_port()
        with log_path.open("wb") as log:
            worker = subprocess.Popen(
                [TSUNAGU, "worker", "--metrics-port", str(metrics_port)], cwd=tmp_path,
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                answer = wait_for(resident.bot_messages, timeout=60, interval=0.3)
                assert "ありがとう" in answer[0]["text"], answer
                # The worker's own counts are scraped from it, behind the same token.
                scrape = f"http://127.0.0.1:{metrics_port}/metrics"
                assert httpx.get(scrape, trust_env=False).status_code == 404
                counted = httpx.get(scrape, trust_env=False,
                                    headers={"Authorization": "Bearer m-token"}).text
                assert 'tsunagu_inbox_events_processed_total{outcome="done"} 1.0' in counted
            finally:
                os.killpg(worker.pid, signal.SIGTERM)
                assert worker.wait(20) == 0, log_path.read_text()
        assert web.count(InboxEvent, InboxEvent.status == InboxStatus.DONE) == 1
    finally:
        web.stop()
