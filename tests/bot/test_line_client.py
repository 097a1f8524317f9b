"""bot/edge/line_client.py through the real SDK against the emulator: outcomes LINE can give."""

from __future__ import annotations

from typing import Any

import pytest

from bot.edge.line_client import LineClient, Outcome
from tests.live import TOKEN, LiveApp, Resident

# The module's server (the emulator is what these tests talk to), on SQLite, with no worker.
pytestmark = pytest.mark.sqlite_only


@pytest.fixture(scope="module")
def live_settings() -> dict[str, Any]:
    return {"background": False}


def client(live: LiveApp, token: str = TOKEN) -> LineClient:
    return LineClient(base_url=f"{live.url}/emulator", access_token=token, timeout_seconds=5)


async def test_loading_animation_and_profile(live: LiveApp) -> None:
    r = Resident(live)
    line = client(live)
    try:
        assert (await line.show_loading(r.user_id, 10)).outcome == Outcome.SENT
        profile = await line.get_profile(r.user_id)
        assert profile.user_id == r.user_id and profile.display_name
    finally:
        await line.close()
    assert live.emulator.profile_fetches == [r.user_id]


async def test_outcomes_are_classified(live: LiveApp) -> None:
    r = Resident(live)
    text = [{"type": "text", "text": "こんにちは"}]
    line = client(live)
    try:
        token = r.token()
        assert (await line.reply(token, text)).outcome == Outcome.SENT
        used = await line.reply(token, text)
        assert used.outcome == Outcome.INVALID_REPLY_TOKEN and used.status == 400
        key = "123e4567-e89b-12d3-a456-426614174000"
        assert (await line.push(r.user_id, text, key)).outcome == Outcome.SENT
        assert (await line.push(r.user_id, text, key)).outcome == Outcome.ALREADY_ACCEPTED
        live.emulator.inject_faults([429, 503])
        assert (await line.push(r.user_id, text, key.replace("0", "1"))).outcome == \
            Outcome.RETRYABLE
        assert (await line.push(r.user_id, text, key.replace("0", "2"))).outcome == \
            Outcome.RETRYABLE
        bad = await line.push(r.user_id, [{"type": "text", "text": ""}], key.replace("0", "3"))
        assert bad.outcome == Outcome.REJECTED and bad.status == 400
    finally:
        await line.close()
    unauthorised = client(live, token="wrong")
    try:
        assert (await unauthorised.push(r.user_id, text, key.replace("0", "4"))).outcome == \
            Outcome.REJECTED
    finally:
        await unauthorised.close()


async def test_an_unreachable_api_is_retryable() -> None:
    line = LineClient(base_url="http://127.0.0.1:9", access_token=TOKEN, timeout_seconds=2)
    try:
        result = await line.push("U" + "0" * 32, [{"type": "text", "text": "x"}],
                                 "123e4567-e89b-12d3-a456-426614174000")
    finally:
        await line.close()
    assert result.outcome == Outcome.RETRYABLE and result.status is None
