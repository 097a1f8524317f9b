"""GET /metrics (Prometheus text format) and GET /healthz, through the whole product."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bot.platform.app import create_app
from bot.settings import Settings
from tests.live import (
    METRICS_AUTH,
    METRICS_TOKEN,
    SECRET,
    TOKEN,
    LiveApp,
    Resident,
    free_port,
    wait_for,
)

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Every sample of an exposition, by name and labels."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def scrape(live: LiveApp) -> tuple[str, Samples]:
    response = live.http.get("/metrics", headers=METRICS_AUTH)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text, parse(response.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_a_conversation_shows_in_the_counters_and_the_gauges(fresh_live: LiveApp) -> None:
    # Its own database: the gauges count every resident's rows.
    live = fresh_live
    _, before = scrape(live)
    r = Resident(live)
    words = "家賃が払えなくて困っています"
    r.send(r.follow())
    r.wait_messages(1)
    r.say(words)
    event = r.text("もう一度")
    r.send(event)
    r.send(event)  # LINE redelivers: the inbox keeps one
    wait_for(r.all_sent)

    def grown() -> Samples:
        _, now = scrape(live)  # the sender counts a row just after the emulator shows it
        return now if value(now, "tsunagu_outbox_messages_sent_total", via="reply") >= \
            value(before, "tsunagu_outbox_messages_sent_total", via="reply") + 3 else {}

    after = wait_for(grown)
    text, _ = scrape(live)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("tsunagu_webhook_events_total", outcome="accepted") == 3
    assert delta("tsunagu_webhook_events_total", outcome="duplicate") == 1
    assert delta("tsunagu_webhook_request_duration_seconds_count") == 4
    assert delta("tsunagu_inbox_events_processed_total", outcome="done") == 3
    assert delta("tsunagu_outbox_messages_sent_total", via="reply") >= 3
    assert delta("tsunagu_outbox_messages_failed_total", via="reply") == 0
    # The gauges are read from the database when scraped: present, with today's values.
    assert value(after, "tsunagu_database_up") == 1
    assert value(after, "tsunagu_inbox_pending_events") == 0
    assert value(after, "tsunagu_outbox_unfinished_messages") == 0
    for priority in ("imminent", "high", "normal"):
        assert ("tsunagu_cases_open", (("priority", priority),)) in after
    for counter in ("tsunagu_outbox_retries_total", "tsunagu_followups_queued_total"):
        assert f"# TYPE {counter} counter" in text
    # Nothing that identifies the resident or says what they wrote.
    assert r.user_id not in text
    assert words not in text and "もう一度" not in text
    assert SECRET not in text and TOKEN not in text


def test_a_case_waiting_in_the_queue_is_counted_by_priority(live: LiveApp) -> None:
    _, before = scrape(live)
    r = Resident(live)
    r.say("今夜死のうと思う")  # imminent danger opens a top-priority case, consent or not

    def counted() -> Samples:
        _, now = scrape(live)
        return now if value(now, "tsunagu_cases_open", priority="imminent") == \
            value(before, "tsunagu_cases_open", priority="imminent") + 1 else {}

    wait_for(counted)


def test_a_bad_signature_is_counted_as_rejected(live: LiveApp) -> None:
    _, before = scrape(live)
    r = Resident(live)
    assert live.post([r.text("こんにちは")], secret="not-our-secret").status_code == 400
    assert live.post_raw(b'{"events": [1, 2]}').status_code == 400
    text, after = scrape(live)
    assert value(after, "tsunagu_webhook_rejected_total", reason="bad_signature") == \
        value(before, "tsunagu_webhook_rejected_total", reason="bad_signature") + 1
    assert value(after, "tsunagu_webhook_rejected_total", reason="malformed") == \
        value(before, "tsunagu_webhook_rejected_total", reason="malformed") + 1
    assert value(after, "tsunagu_webhook_events_total", outcome="accepted") == \
        value(before, "tsunagu_webhook_events_total", outcome="accepted")
    assert r.user_id not in text and "こんにちは" not in text


def test_healthz_is_ok_with_the_database_up(live: LiveApp) -> None:
    response = live.http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_healthz_is_503_when_the_database_is_unreachable() -> None:
    settings = Settings(
        database_url=f"postgresql+psycopg://tsunagu@127.0.0.1:{free_port()}/tsunagu",
        emulator=True, line_channel_secret=SECRET, line_channel_access_token=TOKEN,
        metrics_token=METRICS_TOKEN)
    app = create_app(settings, background=False)
    # No lifespan (it would migrate and read content releases): just the routes.
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            response = await client.get("/healthz")
            assert response.status_code == 503
            assert response.json() == {"status": "unavailable"}  # up or down, nothing more
            # /metrics still answers, and says the database gauges could not be read.
            metrics = await client.get("/metrics", headers=METRICS_AUTH)
        assert metrics.status_code == 200
        samples = parse(metrics.text)
        assert value(samples, "tsunagu_database_up") == 0
        assert ("tsunagu_inbox_pending_events", ()) not in samples
        assert "127.0.0.1" not in metrics.text  # no connection details either
    finally:
        app.state.runtime.engine.dispose()
