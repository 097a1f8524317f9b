"""Logs hold ids, states and counts: never a resident's words, a counsellor's words, a LINE user
id, a password or a secret (docs/ARCHITECTURE.md, "Logs").

The whole product runs on a real port with every logger at INFO, uvicorn's access log included
(stricter than `tsunagu serve`, which turns it off), while a resident in danger writes, a
counsellor logs in, answers and writes a note. Then the captured text, tracebacks included, is
searched for each of those values, also JSON-escaped and URL-encoded.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote, quote_plus

import httpx
from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError

from bot.db import logsafety
from bot.db.engine import make_engine
from bot.db.models import Conversation, InboxEvent
from handoff.accounts import add_counsellor
from handoff.models import Case
from tests.live import SECRET, TOKEN, LiveApp, Resident, csrf_of, texts, wait_for

PASSWORD = "log-test passphrase: blue heron 4417"
WRONG_PASSWORD = "log-test wrong guess: red fox 9031"
SESSION_SECRET = "log-test-session-secret-6c2e91f0"
DANGER = "今夜死のうと思う 秘密のことば123"
LATER = "まだここにいます 合言葉はひなたぼっこ"
REPLY = "相談員からの返事 あおぞら789"
NOTE = "メモ 家賃滞納三か月 ゆうやけ456"

# Every logger the product or its libraries write to. uvicorn's own handlers do not propagate,
# so the capture handler goes on them too.
LOGGERS = ["", "bot", "handoff", "uvicorn", "uvicorn.error", "uvicorn.access", "httpx",
           "httpcore", "linebot", "aiohttp", "sqlalchemy", "apscheduler", "sse_starlette"]


@contextmanager
def captured_logs() -> Iterator[io.StringIO]:
    """Everything logged at INFO or above, with tracebacks, until the block ends."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    saved = {name: logging.getLogger(name).level for name in LOGGERS}
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if name in ("", "uvicorn", "uvicorn.access"):
            logger.addHandler(handler)
        if name not in ("sqlalchemy", "httpcore"):  # their INFO is SQL and sockets: noise
            logger.setLevel(logging.INFO)
    try:
        yield buffer
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)
            logging.getLogger(name).removeHandler(handler)


def forms(value: str) -> set[str]:
    """The value as it could appear in a log line: plain, JSON-escaped (also inside a repr, as
    in an exception's parameters) or URL-encoded."""
    escaped = json.dumps(value)[1:-1]
    return {value, escaped, escaped.replace("\\", "\\\\"),
            json.dumps(value, ensure_ascii=False)[1:-1], quote(value), quote_plus(value)}


def test_logs_hold_no_words_ids_passwords_or_secrets(fresh_database_url: str) -> None:
    # Constructed first: uvicorn's Config sets its loggers up, the capture then widens them.
    live = LiveApp(fresh_database_url, session_secret=SESSION_SECRET)
    with live.session() as s, s.begin():
        add_counsellor(session=s, username="sato", display_name="佐藤", password=PASSWORD,
                       team_id="pref")
    with captured_logs() as buffer:
        live.start()
        try:
            r = Resident(live)
            r.send(r.follow())
            r.wait_messages(4)
            r.say(DANGER)  # imminent: emergency contacts at once and a top-priority case
            wait_for(r.all_sent)
            with live.session() as s:
                case_id = s.scalars(select(Case.id).join(
                    Conversation, Conversation.id == Case.conversation_id).where(
                    Conversation.line_user_id == r.user_id)).one()

            console = httpx.Client(base_url=live.url, timeout=10, trust_env=False)
            wrong = console.post("/console/login", data={
                "username": "sato", "password": WRONG_PASSWORD,
                "csrf": csrf_of(console, "/console/login")})
            assert "違います" in wrong.text
            right = console.post("/console/login", data={
                "username": "sato", "password": PASSWORD,
                "csrf": csrf_of(console, "/console/login")}, follow_redirects=False)
            assert right.status_code == 303
            token = csrf_of(console, f"/console/cases/{case_id}")
            for action, form in (("claim", {}), ("reply", {"words": REPLY}),
                                 ("notes", {"words": NOTE})):
                done = console.post(f"/console/cases/{case_id}/{action}",
                                    data={**form, "csrf": token}, follow_redirects=False)
                assert done.status_code == 303, action
            wait_for(lambda: REPLY in texts(r.bot_messages()))
            r.send(r.text(LATER))  # reaches the counsellor's transcript
            wait_for(r.all_sent)
            page = console.get(f"/console/cases/{case_id}/fragments/transcript").text
            assert LATER in page and REPLY in page
            console.close()
        finally:
            live.stop()
    logged = buffer.getvalue()

    # The capture worked: INFO lines of the product and of uvicorn's access log are there.
    assert "INFO bot.edge.webhook webhook: 1 events accepted" in logged
    assert "POST /console/cases/" in logged and "POST /line/webhook" in logged

    secrets = {"resident's words": [DANGER, *DANGER.split(), LATER, *LATER.split()],
               "counsellor's words": [REPLY, *REPLY.split(), NOTE, *NOTE.split()[1:]],
               "password": [PASSWORD, WRONG_PASSWORD], "channel secret": [SECRET],
               "channel access token": [TOKEN], "session secret": [SESSION_SECRET],
               # Pseudonymous, but it lets anyone with the channel write to the person.
               "LINE user id": [r.user_id, r.user_id[1:]]}
    found = {what: sorted(v for value in values for v in forms(value) if v in logged)
             for what, values in secrets.items()}
    assert {what: hits for what, hits in found.items() if hits} == {}, logged[-3000:]


def test_a_failing_statement_logs_no_values(fresh_database_url: str) -> None:
    """What `log.exception` prints for a database error names where and what kind, never the
    row: not SQLAlchemy's parameters, not PostgreSQL's "Failing row contains (...)"."""
    logsafety.install()  # as the app does at start
    engine = make_engine(fresh_database_url)
    user_id = "U" + "5" * 32
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("tsunagu.test.logsafety")
    logger.addHandler(handler)
    try:
        try:
            with engine.begin() as conn:  # NULL in a NOT NULL column: every backend refuses it
                conn.execute(insert(InboxEvent).values(
                    webhook_event_id=None, source_key=f"user:{user_id}", line_user_id=user_id,
                    event_type="message", event_timestamp=0, payload={"text": DANGER}))
        except DBAPIError:
            logger.exception("inbox event %s failed", 1)
    finally:
        logger.removeHandler(handler)
        engine.dispose()
    shown = stream.getvalue()
    assert "inbox event 1 failed" in shown and "IntegrityError" in shown
    assert "Traceback" in shown  # where it happened is kept
    assert DANGER not in shown and json.dumps(DANGER)[1:-1] not in shown
    assert user_id not in shown
