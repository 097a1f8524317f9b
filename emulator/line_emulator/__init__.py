"""A stand-in for the LINE Messaging API, plus a phone-like chat page (demo and tests). Its own
distribution (`tsunagu[demo]`): a production install has no emulator. It imports nothing of
tsunagu, and checks messages by LINE's documented limits, written here independently of the
bot's, so a wrong limit in the bot is caught rather than mirrored.

`mount_emulator` puts everything under `/emulator`: the Messaging API routes the real SDK calls
(`Configuration(host=".../emulator")`), the page at `/emulator/` and its backend, which signs
webhook events and POSTs them to the bot's `/line/webhook`. What the bot sent is read from
`app.state.emulator` (an `EmulatorState`): `calls`, `chat_log(user_id)`, `bot_messages(user_id)`.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from line_emulator.api import PREFIX, build_api_router
from line_emulator.page import STATIC_DIR, build_page_router
from line_emulator.state import ChatEntry, ChatMode, EmulatorState, RecordedCall, RichMenu
from line_emulator.validation import validate_messages

__all__ = [
    "PREFIX",
    "ChatEntry",
    "ChatMode",
    "EmulatorState",
    "RecordedCall",
    "RichMenu",
    "mount_emulator",
    "validate_messages",
]


def mount_emulator(
    app: FastAPI, *, channel_secret: str, access_token: str, chat_mode: ChatMode = "bot",
    basic_id: str | None = None,
) -> EmulatorState:
    """Mounts everything under /emulator; the state is returned and kept as app.state.emulator.
    `chat_mode="chat"`: the account's chat is on, so a resident's messages show 既読 only once
    the bot marks them read (LINE's markAsRead); "bot": LINE marks them read itself.
    `basic_id`: the account's LINE ID (its oaMessage links open the page; default @tsunagu)."""
    if not channel_secret.strip() or not access_token.strip():
        # What the page sends is signed with the secret: an empty one would sign for anyone.
        raise ValueError("the emulator needs a non-empty channel secret and access token")
    state = EmulatorState(
        channel_secret=channel_secret, access_token=access_token, chat_mode=chat_mode
    )
    if basic_id:
        state.bot_basic_id = basic_id
    app.include_router(build_page_router(state), prefix=PREFIX)
    app.include_router(build_api_router(state), prefix=PREFIX)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC_DIR), name="emulator-static")
    app.state.emulator = state
    return state
