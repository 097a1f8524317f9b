"""Where a consultation goes: team, suggested programmes, counsellor hours. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.content.schema import Hours, Places, Team

TOKYO = ZoneInfo("Asia/Tokyo")
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAY_NAMES = {"mon": "月", "tue": "火", "wed": "水", "thu": "木", "fri": "金", "sat": "土",
             "sun": "日"}
# The `{name}`s that flow copy may use; `variables` fills them.
COPY_VARIABLES = ("team_name", "hours", "on_duty", "share_with", "municipality", "retention_days")


@dataclass(frozen=True)
class Route:
    team: Team
    municipality: str | None  # its id, None when not given
    programmes: list[str]  # programme ids, most relevant first


def option_sets(places: Places) -> dict[str, list[tuple[str, str]]]:
    """Lists flows can offer as choices (`choices_from`): (value, label)."""
    return {
        "municipalities": [(m.id, m.name) for m in places.municipalities],
        "teams": [(t.id, t.name[:20]) for t in places.teams],
    }


def route(places: Places, answers: Mapping[str, Any]) -> Route:
    """The team for these answers, and programmes worth suggesting to the counsellor."""
    municipality = next((m for m in places.municipalities
                         if m.id == answers.get("municipality")), None)
    chosen = str(answers.get("centre") or "")
    team_id = chosen if any(t.id == chosen for t in places.teams) else (
        municipality.team if municipality else places.default_team)
    programmes: list[str] = []
    for key, table in (("urgent_needs", places.routing.urgent_needs),
                       ("life_areas", places.routing.life_areas)):
        for value in answers.get(key) or []:
            programmes += table.get(value, [])
    programmes += places.routing.always
    return Route(team=places.team(team_id), municipality=municipality.id if municipality else None,
                 programmes=list(dict.fromkeys(programmes)))


def hours_text(hours: Hours) -> str:
    """「月・火・水・木・金 8:30〜17:15」"""
    days = "・".join(DAY_NAMES[d] for d in DAYS if d in hours.days)
    return f"{days} {hours.open.lstrip('0')}〜{hours.close.lstrip('0')}"


def on_duty(hours: Hours, now: datetime) -> bool:
    local = now.astimezone(TOKYO)
    return DAYS[local.weekday()] in hours.days and hours.open <= local.strftime("%H:%M") < \
        hours.close


def next_opening(hours: Hours, now: datetime) -> datetime:
    """When counsellors are next on duty (now, if they are)."""
    local = now.astimezone(TOKYO)
    for ahead in range(8):
        day = local + timedelta(days=ahead)
        if DAYS[day.weekday()] not in hours.days:
            continue
        h, m = (int(x) for x in hours.open.split(":"))
        opening = day.replace(hour=h, minute=m, second=0, microsecond=0)
        ch, cm = (int(x) for x in hours.close.split(":"))
        # "24:00" closes at the end of the day, not at its start.
        closing = day.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(
            hours=ch, minutes=cm)
        if ahead == 0 and opening <= local < closing:
            return local
        if opening > local:
            return opening
    return local  # unreachable with at least one day; keeps the type total


def variables(places: Places, answers: Mapping[str, Any], now: datetime) -> dict[str, str]:
    """Values for the copy's `{name}` placeholders."""
    r = route(places, answers)
    hours = r.team.hours
    if on_duty(hours, now):
        duty = "いまは相談員がいる時間です。順番にお返事します。"
    else:
        nxt = next_opening(hours, now)
        duty = (f"いまは相談員がいない時間です。{nxt.month}月{nxt.day}日"
                f"（{DAY_NAMES[DAYS[nxt.weekday()]]}）{nxt.hour}:{nxt.minute:02d}以降に、"
                "順番にお返事します。")
    names = {m.id: m.name for m in places.municipalities}
    return {
        "team_name": r.team.name,
        "hours": hours_text(hours),
        "on_duty": duty,
        "share_with": "、".join(r.team.share_with),
        "municipality": names.get(r.municipality or "", ""),
        "retention_days": str(places.retention_days),
    }
