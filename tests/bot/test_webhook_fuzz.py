"""POST /line/webhook under random input, against the real app on a real port.

Whatever arrives, the webhook answers 200 or 400, never 500 (a 500 makes LINE redeliver a body
that will fail again, and hides a crash). A body that is not signed with our channel secret is
400 and stores nothing; a signed body is either stored whole (200) or refused whole (400); an
event is stored once per webhookEventId.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from line_emulator import events as line_events
from sqlalchemy import select

from bot.db.models import InboxEvent
from tests.live import SECRET, LiveApp

# Shared by every example of a test: the module's app is started once, not per example.
FUZZ = settings(max_examples=30, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def live_settings() -> dict[str, Any]:
    # No worker: what the webhook stores stays in the inbox to be counted.
    return {"background": False}


def stored_ids(live: LiveApp, user_id: str | None = None) -> set[str]:
    """Every stored event id (the module's other tests' too), or one resident's."""
    stmt = select(InboxEvent.webhook_event_id)
    if user_id is not None:
        stmt = stmt.where(InboxEvent.line_user_id == user_id)
    with live.session() as s:
        return set(s.scalars(stmt))


def post(live: LiveApp, body: bytes, headers: dict[str, Any]) -> tuple[int, str]:
    answer = live.http.post("/line/webhook", content=body, headers=headers)
    return answer.status_code, answer.text


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {"Content-Type": "application/json; charset=utf-8",
            "X-Line-Signature": line_events.sign(body, secret)}


# ---------------------------------------------------------------------- strategies

# Japanese, emoji (outside the BMP, so surrogate pairs when escaped), combining marks, controls.
ALPHABET = st.one_of(
    st.characters(codec="utf-8"),
    st.sampled_from("あいうえお死にたい今夜薬😀🙏🏻👨‍👩‍👧\u200d\ufe0f\u3000\x00\x1f\u202e"),
)
TEXT = st.text(ALPHABET, max_size=40)
HUGE_TEXT = st.text(ALPHABET, min_size=4000, max_size=6000)
ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Ids LINE would send (mostly), repeated ones, and odd ones: empty, long, with NUL or surrogates.
EVENT_ID = st.one_of(
    st.text(CROCKFORD, min_size=26, max_size=26),  # a ULID, as LINE sends
    st.text(CROCKFORD, min_size=26, max_size=26),
    st.sampled_from(["dup-1", "dup-2", ""]),
    st.text(ALPHABET, min_size=1, max_size=80),
)
USER_ID = st.uuids().map(lambda u: "U" + u.hex)
ODD_USER_ID = st.one_of(TEXT, st.text(min_size=60, max_size=90), ANY_JSON)
LINE_TIME = st.integers(min_value=1_600_000_000_000, max_value=2_000_000_000_000)
TIMESTAMP = st.one_of(LINE_TIME, LINE_TIME, LINE_TIME,
                      st.sampled_from([-1, 0, 2**63 - 1, 2**63, 2**70, True]),
                      st.integers(), st.floats(), TEXT)
KNOWN = ["text", "follow", "unfollow", "postback", "sticker", "image"]
NEW_TYPES = st.one_of(st.sampled_from(["membership", "module", "activated", "botSuspended",
                                       "somethingLineAddsLater"]), TEXT)


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    """A LINE event (often well formed), then perhaps one field dropped, replaced or odd."""
    user = draw(USER_ID)
    kind = draw(st.sampled_from([*KNOWN, "unknown"]))
    event: dict[str, Any]
    if kind == "text":
        event = line_events.text_event(user, draw(st.one_of(TEXT, HUGE_TEXT)))
    elif kind == "follow":
        event = line_events.follow_event(user)
    elif kind == "unfollow":
        event = line_events.unfollow_event(user)
    elif kind == "postback":
        event = line_events.postback_event(user, draw(TEXT))
    elif kind == "sticker":
        event = line_events.sticker_event(user)
    elif kind == "image":
        event = line_events.image_event(user)
    else:  # a type this SDK does not know yet
        event = line_events.base_event(draw(NEW_TYPES), user, reply_token="r" * 32)
        event[draw(TEXT)] = draw(ANY_JSON)
    # The builders' random ids and times are replaced by drawn ones: examples must replay.
    event["webhookEventId"] = draw(EVENT_ID)
    event["timestamp"] = draw(TIMESTAMP)
    if "replyToken" in event:
        event["replyToken"] = draw(st.uuids()).hex
    if isinstance(event.get("message"), dict):
        event["message"]["id"] = str(draw(st.integers(10**17, 10**18)))
        event["message"]["quoteToken"] = "q"
    mutation = draw(st.sampled_from(["none", "none", "none", "drop", "replace", "source",
                                     "extra"]))
    key = draw(st.sampled_from(sorted(event)))
    if mutation == "drop":
        del event[key]
    elif mutation == "replace":
        event[key] = draw(ANY_JSON)
    elif mutation == "source":
        event["source"] = draw(st.one_of(ANY_JSON, st.fixed_dictionaries(
            {"type": st.sampled_from(["user", "group", "room", "x"]), "userId": ODD_USER_ID},
            optional={"groupId": ODD_USER_ID, "roomId": ODD_USER_ID})))
    elif mutation == "extra":
        event[draw(TEXT)] = draw(ANY_JSON)
    return event


def event_lists() -> st.SearchStrategy[list[dict[str, Any]]]:
    # Duplicates within one body: LINE redelivers, and a body may repeat an event.
    return st.lists(events(), max_size=3).flatmap(
        lambda evs: st.lists(st.sampled_from(evs), max_size=2).map(lambda extra: evs + extra)
        if evs else st.just(evs))


def encode(payload: Any, ascii_only: bool) -> bytes:
    """JSON as LINE sends it (UTF-8) or fully escaped; lone surrogates only survive escaping."""
    text = json.dumps(payload, ensure_ascii=ascii_only)
    return text.encode("utf-8", "surrogatepass")


# ---------------------------------------------------------------------- the properties


def check_signed(live: LiveApp, body: bytes, events_in_body: list[Any] | None) -> None:
    """A signed body: 200 with every new id stored once, or 400 with nothing stored."""
    before = stored_ids(live)
    status, text = post(live, body, signed(body))
    after = stored_ids(live)
    assert status in (200, 400), (status, text[:300])
    if status == 400:
        assert after == before, "a refused body stored something"
        return
    assert events_in_body is not None, f"not a LINE body, yet accepted: {body[:200]!r}"
    ids = [e.get("webhookEventId") if isinstance(e, dict) else None for e in events_in_body]
    named = {i for i in ids if isinstance(i, str) and i}
    unnamed = len(ids) - sum(1 for i in ids if isinstance(i, str) and i)
    # Each new id once; an event LINE sent without an id gets a stand-in of its own.
    assert len(after) - len(before) == len(named - before) + unnamed, (named, before, after)
    assert named <= after
    # The same body again (LINE's redelivery) stores nothing more, unless it had unnamed events.
    status, text = post(live, body, signed(body))
    assert status == 200, (status, text[:300])
    assert len(stored_ids(live)) == len(after) + unnamed


def check_refused_unsigned(live: LiveApp, body: bytes, headers: dict[str, Any]) -> None:
    before = stored_ids(live)
    status, text = post(live, body, headers)
    assert status == 400, (status, text[:300])
    assert stored_ids(live) == before


def line_event(name: str, **fields: Any) -> dict[str, Any]:
    """A complete LINE text event (the SDK accepts it), with fixed ids and some fields set."""
    event = line_events.text_event("U" + "2" * 32, "こんにちは", reply_token="r" * 32)
    event["message"].update(id="100000000000000001", quoteToken="q")
    event.update({"webhookEventId": f"example-{name}", "timestamp": 1_700_000_000_000,
                  **fields})
    return event


def with_source(name: str, **source: Any) -> dict[str, Any]:
    return line_event(name, source={"type": "user", **source})


@FUZZ
@given(evs=event_lists(), ascii_only=st.booleans())
# Each of these was a 500 (an INSERT the database refused) before bot/inbox.check_storable.
@example(evs=[line_event("ts", timestamp=2**70)], ascii_only=True)
@example(evs=[line_event("long", webhookEventId="x" * 65)], ascii_only=True)
@example(evs=[line_event("nul", webhookEventId="nul\x00id")], ascii_only=True)
@example(evs=[line_event("lone", webhookEventId="lone\ud800")], ascii_only=True)
@example(evs=[with_source("uid-long", userId="U" * 65)], ascii_only=True)
@example(evs=[with_source("uid-nul", userId="U\x00")], ascii_only=True)
@example(evs=[with_source("kind-nul", userId="U" + "3" * 32, type="us\x00er")],
         ascii_only=True)
@example(evs=[line_event("nan", extra=float("nan"))], ascii_only=True)
@example(evs=[line_event("source", source="not an object")], ascii_only=True)
@example(evs=[line_event("context", deliveryContext=[])], ascii_only=True)
# A resident's long message with emoji, NUL and a broken surrogate: stored, not refused.
@example(evs=[line_event("text", message={"id": "1", "type": "text", "quoteToken": "q",
                                          "text": "😀死にたい\x00\ud83d" * 750})],
         ascii_only=True)
@example(evs=[line_event("dup"), line_event("dup"), line_event("other")], ascii_only=False)
def test_signed_line_shaped_bodies_are_stored_once_or_refused(
        live: LiveApp, evs: list[dict[str, Any]], ascii_only: bool) -> None:
    payload = {"destination": "U" + "0" * 32, "events": evs}
    check_signed(live, encode(payload, ascii_only), evs)


@FUZZ
@given(payload=ANY_JSON, wrap=st.sampled_from(["bare", "events", "events_list"]))
@example(payload=None, wrap="events")
@example(payload=[], wrap="events_list")
def test_signed_json_of_any_shape_is_never_a_500(live: LiveApp, payload: Any, wrap: str) -> None:
    body: Any = {"bare": payload, "events": {"events": payload},
                 "events_list": {"events": [payload]}}[wrap]
    events_in_body = body["events"] if isinstance(body, dict) and isinstance(
        body.get("events"), list) else None
    check_signed(live, encode(body, True), events_in_body)


@FUZZ
@given(raw=st.one_of(
    st.binary(max_size=3000),
    # Broken UTF-8: a LINE-shaped body with bytes cut out or a stray byte put in.
    st.tuples(st.integers(0, 400), st.binary(min_size=1, max_size=3)).map(
        lambda cut: (lambda b: b[:cut[0]] + cut[1] + b[cut[0] + 2:])(
            line_events.webhook_body([line_events.text_event("U" + "1" * 32, "こんにちは😀")],
                                     destination="U" + "0" * 32))),
))
@example(raw=b"[" * 100_000)  # deeper than any JSON parser recursion limit
@example(raw=b'{"events": [' + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"]}")
def test_signed_bytes_are_never_a_500(live: LiveApp, raw: bytes) -> None:
    try:
        parsed = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        parsed = None
    events_in_body = parsed.get("events") if isinstance(parsed, dict) and isinstance(
        parsed.get("events"), list) else None
    check_signed(live, raw, events_in_body)


@FUZZ
@given(
    body=st.one_of(st.binary(max_size=2000), event_lists().map(lambda evs: encode(
        {"destination": "U" + "0" * 32, "events": evs}, True))),
    signature=st.one_of(
        st.none(),  # no header at all
        st.just(""),
        st.text(st.characters(min_codepoint=0x21, max_codepoint=0xFF), max_size=60),
        st.just("wrong-secret"),  # marker: signed, but with another channel's secret
        st.just("other-body"),  # marker: our secret, but over a different body
    ),
)
def test_unsigned_or_wrongly_signed_bodies_are_400_and_store_nothing(
        live: LiveApp, body: bytes, signature: str | None) -> None:
    headers: dict[str, Any] = {"Content-Type": "application/json"}
    if signature == "wrong-secret":
        headers["X-Line-Signature"] = line_events.sign(body, "not-" + SECRET)
    elif signature == "other-body":
        headers["X-Line-Signature"] = line_events.sign(body + b" ", SECRET)
    elif signature is not None:
        headers["X-Line-Signature"] = signature.encode("latin-1")  # as raw header bytes
    check_refused_unsigned(live, body, headers)


def test_duplicated_event_ids_are_stored_once_and_counted(
        live: LiveApp, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.edge.webhook")
    user = line_events.new_user_id()
    first = line_events.text_event(user, "一通目")
    again = dict(first, deliveryContext={"isRedelivery": True})
    other = line_events.text_event(user, "二通目")
    body, headers = line_events.signed_webhook([first, again, other, first], secret=SECRET)
    assert post(live, body, headers)[0] == 200
    assert post(live, body, headers)[0] == 200
    redelivered, headers = line_events.signed_webhook([again], secret=SECRET)
    assert post(live, redelivered, headers)[0] == 200
    assert stored_ids(live, user) == {first["webhookEventId"], other["webhookEventId"]}
    # The webhook's own account (log line; the metrics count the same numbers).
    counted = [r.getMessage() for r in caplog.records if r.name == "bot.edge.webhook"]
    assert counted == ["webhook: 2 events accepted, 2 duplicates",
                       "webhook: 0 events accepted, 4 duplicates",
                       "webhook: 0 events accepted, 1 duplicates"]
