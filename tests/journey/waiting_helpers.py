"""Shared by the waiting tests: content whose desks are always open (or closed today), a quiet
queue, counsellors marked available, and residents brought to the handoff."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import select, update

from bot.db.models import Conversation, utcnow
from bot.settings import DEFAULT_CONTENT_DIR
from handoff import queue
from handoff.estimate import Told
from handoff.models import Case, CaseMessage, CaseStatus, Counsellor
from handoff.presence import Presence, set_presence
from tests.live import LiveApp, Resident, logged_in, texts, wait_for

TOKYO = ZoneInfo("Asia/Tokyo")
ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# A desk's own night line, for the tests only.
NIGHT_LINE = {"label": "みどり市 夜間休日福祉ダイヤル", "tel": "0120-000-111",
              "hours": "夜間・休日"}


def content_copy(folder: Path, *, open_always: bool = False, closed_today: bool = False) -> Path:
    """The shipped content with every desk open all week, day and night, or closed from
    yesterday to the day after tomorrow (a 研修日), and a night line for みどり市."""
    target = folder / "content"
    shutil.copytree(DEFAULT_CONTENT_DIR, target)
    path = target / "places.yaml"
    places: dict[str, Any] = yaml.safe_load(path.read_text())
    today = datetime.now(TOKYO).date()
    for team in places["teams"]:
        if open_always:
            team["hours"] = {"days": ALL_DAYS, "open": "00:00", "close": "24:00"}
            team["open_on_holidays"] = True
        if closed_today:
            team["closures"] = [{"from": (today - timedelta(days=1)).isoformat(),
                                 "to": (today + timedelta(days=2)).isoformat(),
                                 "note": "研修日"}]
        if team["id"] == "midori":
            team["after_hours"]["contacts"].insert(0, dict(NIGHT_LINE))
    path.write_text(yaml.safe_dump(places, allow_unicode=True, sort_keys=False))
    return target


def quiet_queue(live: LiveApp) -> None:
    """Nobody waiting, no recent pick-ups, nobody on duty: each test sets up its own queue."""
    long_ago = utcnow() - timedelta(days=2)
    with live.session() as s, s.begin():
        s.execute(update(Case).where(Case.status != CaseStatus.CLOSED)
                  .values(status=CaseStatus.CLOSED, outcome="info", closed_at=long_ago))
        s.execute(update(Case).where(Case.claimed_at.is_not(None)).values(claimed_at=long_ago))
        for c in s.scalars(select(Counsellor)):
            c.presence = Presence.OFF


def on_duty(live: LiveApp, *usernames: str) -> None:
    """These counsellors log in to the console and say they are available."""
    for name in usernames:
        logged_in(live, name).close()  # a console session, seen now
        with live.session() as s, s.begin():
            me = s.scalars(select(Counsellor).where(Counsellor.username == name)).one()
            set_presence(session=s, counsellor=me, presence=Presence.AVAILABLE, now=utcnow())


def to_handoff(r: Resident) -> list[dict[str, Any]]:
    """Asks for a person at once and consents (the case goes to the default desk, pref)."""
    r.send(r.follow())
    r.wait_messages(4)
    r.say("人と話したい")
    # Buttons, as most people answer: typed words are read for risk too.
    return r.tap("同意する")


def case_of(live: LiveApp, r: Resident) -> Case:
    with live.session() as s:
        return s.scalars(select(Case).join(Conversation, Conversation.id == Case.conversation_id)
                         .where(Conversation.line_user_id == r.user_id)
                         .order_by(Case.id.desc())).first() or _missing(r)


def _missing(r: Resident) -> Case:
    raise AssertionError(f"no case for {r.user_id}")


def conversation_answers(live: LiveApp, r: Resident) -> dict[str, Any]:
    with live.session() as s:
        return dict(s.scalars(select(Conversation.answers).where(
            Conversation.line_user_id == r.user_id)).one())


def case_words(live: LiveApp, case_id: int) -> list[str]:
    with live.session() as s:
        return list(s.scalars(select(CaseMessage.text).where(CaseMessage.case_id == case_id)
                              .order_by(CaseMessage.id)))


def told_long_ago(live: LiveApp, case_id: int, minutes: float = 35) -> None:
    """As if the wait had been told `minutes` ago (updates come at most every 30)."""
    with live.session() as s, s.begin():
        case = s.get(Case, case_id)
        assert case is not None
        told = Told.from_json(case.wait_told)
        assert told is not None
        earlier = Told(told.at - timedelta(minutes=minutes), told.place, told.low, told.high,
                       told.net)
        case.wait_told = earlier.to_json()


def claim(live: LiveApp, case_id: int, username: str) -> None:
    with live.session() as s, s.begin():
        me = s.scalars(select(Counsellor).where(Counsellor.username == username)).one()
        assert queue.claim(session=s, case_id=case_id, counsellor=me).won


def said(messages: list[dict[str, Any]]) -> str:
    return texts(messages)


def settle(r: Resident) -> None:
    wait_for(r.all_sent)
