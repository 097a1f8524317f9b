"""What the case page shows of the wait: what the resident was told (first and last), whether
they stopped waiting, and their call-back request. Display strings only, in Japan's time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from handoff.estimate import Told
from handoff.models import Case
from handoff.waiting import wait_error

TOKYO = ZoneInfo("Asia/Tokyo")


def _at(moment: datetime) -> str:
    return moment.astimezone(TOKYO).strftime("%m/%d %H:%M")


def _told(told: Told | None) -> str | None:
    if told is None:
        return None
    where = "次の番" if told.place <= 1 else f"前に{told.place - 1}人"
    if told.low is None:
        figure = "見込みは伝えていません（時間外か、対応できる相談員がいなかったため）"
    else:
        figure = f"およそ{told.low}〜{told.high}分"
    net = "・時間外や長い待ちの案内つき" if told.net else ""
    return f"{_at(told.at)}：{where}、{figure}{net}"


@dataclass(frozen=True)
class Panel:
    callback: dict[str, Any] | None  # window, phone (only with consent), phone_consent, at
    gave_up: str | None  # when they stopped waiting
    came_back: str | None  # when they were told the wait again afterwards
    first: str | None
    last: str | None
    real: str | None  # how the first figure compared with the real wait, once claimed

    @property
    def shown(self) -> bool:
        return bool(self.callback or self.gave_up or self.first or self.last)


def panel(case: Case) -> Panel:
    callback = None
    if case.callback:
        at = case.callback.get("at")
        callback = {**case.callback,
                    "at": _at(datetime.fromisoformat(at)) if isinstance(at, str) else ""}
    last = Told.from_json(case.wait_told)
    gave_up = _at(case.gave_up_at) if case.gave_up_at else None
    came_back = _at(last.at) if case.gave_up_at and last and last.at > case.gave_up_at else None
    error = wait_error(case)
    real = None if error is None else (
        f"実際の待ち時間は{error.real:.0f}分（伝えた範囲{'の内' if error.inside else 'の外'}）")
    return Panel(callback=callback, gave_up=gave_up, came_back=came_back,
                 first=_told(Told.from_json(case.wait_first)), last=_told(last), real=real)
