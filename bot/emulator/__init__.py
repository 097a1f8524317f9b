"""A built-in stand-in for the LINE Messaging API, plus a phone-like chat page (demo and tests).

`mount_emulator` puts everything under `/emulator`: the Messaging API routes the real SDK calls
(`Configuration(host=".../emulator")`), the page at `/emulator/` and its backend, which signs
webhook events and POSTs them to the bot's `/line/webhook`. What the bot sent is read from
`app.state.emulator` (an `EmulatorState`): `calls`, `chat_log(user_id)`, `bot_messages(user_id)`.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from bot.emulator.api import PREFIX, build_api_router
from bot.emulator.page import STATIC_DIR, build_page_router
from bot.emulator.state import ChatEntry, EmulatorState, RecordedCall
from bot.emulator.validation import validate_messages
from bot.settings import Settings

__all__ = [
    "PREFIX",
    "ChatEntry",
    "EmulatorState",
    "RecordedCall",
    "mount_emulator",
    "validate_messages",
]


def mount_emulator(app: FastAPI, settings: Settings) -> EmulatorState:
    """Mounts everything under /emulator; the state is returned and kept as app.state.emulator."""
    if not settings.secret.strip() or not settings.access_token.strip():
        # What the page sends is signed with the secret: an empty one would sign for anyone.
        raise ValueError("the emulator needs a non-empty channel secret and access token")
    state = EmulatorState(channel_secret=settings.secret, access_token=settings.access_token)
    app.include_router(build_page_router(state), prefix=PREFIX)
    app.include_router(build_api_router(state), prefix=PREFIX)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC_DIR), name="emulator-static")
    app.state.emulator = state
    return state
