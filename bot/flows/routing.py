"""Where a consultation goes: team, suggested programmes, counsellor hours (weekly hours, national
holidays from the calendar, the team's own closures). Pure: no I/O."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import jpholiday

from bot.content.languages import IDENTITY, Translator
from bot.content.schema import Hours, Places, Team
from bot.content.texts import CODE_TEXTS
from bot.flows.places_match import Place, match

TOKYO = ZoneInfo("Asia/Tokyo")
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAY_NAMES = {"mon": "月", "tue": "火", "wed": "水", "thu": "木", "fri": "金", "sat": "土",
             "sun": "日"}
# The `{name}`s that flow copy may use; `variables` fills them.
COPY_VARIABLES = ("team_name", "hours", "on_duty", "share_with", "municipality", "retention_days",
                  "first_contact", "own_office")


@dataclass(frozen=True)
class Route:
    team: Team
    municipality: str | None  # its id, None when not given
    programmes: list[str]  # programme ids, most relevant first


def option_sets(places: Places) -> dict[str, list[tuple[str, str]]]:
    """Lists flows can offer as choices (`choices_from`): (value, label). `municipalities` are
    those our teams serve (the buttons); `known_municipalities` every one the content names
    (a typed name may be one whose support is elsewhere)."""
    return {
        "municipalities": [(m.id, m.name) for m in places.municipalities if m.team],
        "known_municipalities": [(m.id, m.name) for m in places.municipalities],
        "areas": [(a.id, a.name) for a in places.areas],
        "teams": [(t.id, t.name[:20]) for t in places.teams],
    }


def option_groups(places: Places) -> dict[str, dict[str, list[str]]]:
    """Each option set's areas: area id -> the values of its options in that area."""
    groups: dict[str, dict[str, list[str]]] = {"municipalities": {}, "known_municipalities": {}}
    for m in places.municipalities:
        if m.area is None:
            continue
        groups["known_municipalities"].setdefault(m.area, []).append(m.id)
        if m.team:
            groups["municipalities"].setdefault(m.area, []).append(m.id)
    return groups


def option_counts(places: Places) -> dict[str, int]:
    """How many options each list has, and the most offered at once within an area, for the
    flow checks."""
    counts = {name: len(options) for name, options in option_sets(places).items()}
    for name, groups in option_groups(places).items():
        counts[f"{name}.within"] = max((len(g) for g in groups.values()), default=0)
    return counts


def places_matcher(places: Places) -> Callable[[str, str], list[str]]:
    """(option set, typed words) -> the municipalities they name (bot/flows/places_match.py);
    `places` may be in the resident's language: the Japanese names match too."""
    served = {m.id for m in places.municipalities if m.team}

    def matcher(options: str, text: str) -> list[str]:
        if options not in ("municipalities", "known_municipalities"):
            return []
        return match((Place(m.id, m.name, m.kana, tuple(m.aliases)) for m in places.municipalities
                      if options == "known_municipalities" or m.id in served), text)
    return matcher


def route(places: Places, answers: Mapping[str, Any]) -> Route:
    """The team for these answers, and programmes worth suggesting to the counsellor. A town
    whose support is not ours keeps its name on the case, and `default_team` takes it."""
    municipality = next((m for m in places.municipalities
                         if m.id == answers.get("municipality")), None)
    chosen = str(answers.get("centre") or "")
    team_id = chosen if any(t.id == chosen for t in places.teams) else (
        municipality.team if municipality and municipality.team else places.default_team)
    programmes: list[str] = []
    for key, table in (("urgent_needs", places.routing.urgent_needs),
                       ("life_areas", places.routing.life_areas)):
        for value in answers.get(key) or []:
            programmes += table.get(value, [])
    programmes += places.routing.always
    return Route(team=places.team(team_id), municipality=municipality.id if municipality else None,
                 programmes=list(dict.fromkeys(programmes)))


def hours_text(hours: Hours, tr: Translator = IDENTITY) -> str:
    """「月・火・水・木・金 8:30〜17:15」, in the resident's language."""
    days = tr(CODE_TEXTS["day_separator"]).join(tr(DAY_NAMES[d]) for d in DAYS
                                                if d in hours.days)
    return tr(CODE_TEXTS["hours"]).format(days=days, open=hours.open.lstrip("0"),
                                          close=hours.close.lstrip("0"))


def closure_of(team: Team, day: date) -> str | None:
    """Why the desk is closed all day (a closure's note, 「祝日」), or None when it opens."""
    for closure in team.closures:
        if closure.start <= day <= closure.end:
            return closure.note or CODE_TEXTS["closed_day"]
    if not team.open_on_holidays and jpholiday.is_holiday(day):
        return jpholiday.is_holiday_name(day) or CODE_TEXTS["holiday"]
    return None


def _span(hours: Hours, day: datetime) -> tuple[datetime, datetime]:
    h, m = (int(x) for x in hours.open.split(":"))
    ch, cm = (int(x) for x in hours.close.split(":"))
    midnight = day.replace(hour=0, minute=0, second=0, microsecond=0)
    # "24:00" closes at the end of the day, not at its start.
    return midnight + timedelta(hours=h, minutes=m), midnight + timedelta(hours=ch, minutes=cm)


def on_duty(team: Team, now: datetime) -> bool:
    """Within the team's weekly hours, on a day it is not closed (祝日, 年末年始...)."""
    local = now.astimezone(TOKYO)
    if DAYS[local.weekday()] not in team.hours.days or closure_of(team, local.date()):
        return False
    opening, closing = _span(team.hours, local)
    return opening <= local < closing


def opened_at(team: Team, now: datetime) -> datetime | None:
    """When the desk opened today, while it is open (None when closed)."""
    if not on_duty(team, now):
        return None
    return _span(team.hours, now.astimezone(TOKYO))[0]


# Closures may be long (a month's renovation): look this far ahead for the next opening.
LOOKAHEAD_DAYS = 400


def next_opening(team: Team, now: datetime) -> datetime:
    """When counsellors are next on duty (now, if they are)."""
    local = now.astimezone(TOKYO)
    for ahead in range(LOOKAHEAD_DAYS):
        day = local + timedelta(days=ahead)
        if DAYS[day.weekday()] not in team.hours.days or closure_of(team, day.date()):
            continue
        opening, closing = _span(team.hours, day)
        if ahead == 0 and opening <= local < closing:
            return local
        if opening > local:
            return opening
    return local  # unreachable unless closed for over a year; keeps the type total


def duty_text(team: Team, now: datetime, tr: Translator = IDENTITY) -> str:
    """Whether a person reads now and, if not, from when (and why the desk is closed today)."""
    if on_duty(team, now):
        return tr(CODE_TEXTS["on_duty"])
    local = now.astimezone(TOKYO)
    closed = closure_of(team, local.date())
    if closed and not tr.has(closed):  # a holiday's Japanese name: say what it is instead
        closed = tr(CODE_TEXTS["holiday"])
    why = tr(CODE_TEXTS["closed_why"]).format(closed=tr(closed)) if closed else ""
    nxt = next_opening(team, now)
    return tr(CODE_TEXTS["off_duty"]).format(why=why, date=date_text(nxt.date(), tr),
                                             time=f"{nxt.hour}:{nxt.minute:02d}")


def date_text(day: date, tr: Translator = IDENTITY) -> str:
    """A date as the resident reads it, in their language (12月5日（金）, Fri 12/5 ...)."""
    return tr(CODE_TEXTS["date"]).format(month=day.month, day=day.day,
                                         weekday=tr(DAY_NAMES[DAYS[day.weekday()]]))


def variables(places: Places, answers: Mapping[str, Any], now: datetime,
              tr: Translator = IDENTITY) -> dict[str, str]:
    """Values for the copy's `{name}` placeholders (`places` already in the resident's
    language; `tr` puts the words the code adds into it)."""
    r = route(places, answers)
    names = {m.id: m.name for m in places.municipalities}
    town = next((m for m in places.municipalities if m.id == r.municipality), None)
    # Its own office first (町村役場), unless the resident chose another desk.
    first = town.first_contact if town and r.team.id == (town.team or places.default_team) \
        else None
    own = town.office if town and not town.team else None
    if own and town and town.tel:
        own = tr(CODE_TEXTS["office_tel"]).format(office=own, tel=town.tel)
    return {
        "team_name": r.team.name,
        "hours": hours_text(r.team.hours, tr),
        "on_duty": duty_text(r.team, now, tr),
        "share_with": tr(CODE_TEXTS["list_separator"]).join(r.team.share_with),
        "municipality": names.get(r.municipality or "", ""),
        "retention_days": str(places.retention_days),
        "first_contact": first or "",
        "own_office": own or "",
    }
