"""Routing (pure): which team takes a consultation, what to suggest, when counsellors are in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.content.schema import Closure, Hours, Places, Team
from bot.flows.routing import (
    closure_of,
    hours_text,
    next_opening,
    on_duty,
    opened_at,
    option_sets,
    places_matcher,
    route,
    variables,
)
from bot.releases.load import Content

from .helpers import TOKYO

# Hours of the demo teams in content/places.yaml.
MIDORI = Hours(days=["mon", "tue", "wed", "thu", "fri"], open="08:30", close="17:15")
PREF = Hours(days=["mon", "tue", "wed", "thu", "fri", "sat"], open="09:00", close="18:00")


def team(hours: Hours, **more: Any) -> Team:
    return Team(id="t", name="テスト窓口", hours=hours, share_with=["福祉課"], **more)


def tokyo(day: int, hour: int, minute: int = 0, month: int = 11, year: int = 2026) -> datetime:
    """A moment in November 2026 in Tokyo (the 23rd is a Monday and 勤労感謝の日, a national
    holiday; the 28th a Saturday)."""
    return datetime(year, month, day, hour, minute, tzinfo=TOKYO)


@pytest.fixture
def places(content: Content) -> Places:
    return content.places


def team_of(places: Places, **answers: Any) -> str:
    return route(places, answers).team.id


# --------------------------------------------------------------------------- teams


@pytest.mark.parametrize(("municipality", "team"), [
    ("midori", "midori"), ("kawabe", "kawabe"), ("aoba", "pref"), ("umi", "pref")])
def test_the_municipality_picks_its_team(places: Places, municipality: str, team: str) -> None:
    assert team_of(places, municipality=municipality) == team


def test_a_chosen_centre_wins_over_the_municipality(places: Places) -> None:
    assert team_of(places, municipality="midori", centre="kawabe") == "kawabe"


def test_returning_to_the_own_centre_uses_the_municipality(places: Places) -> None:
    assert team_of(places, municipality="kawabe", centre="own") == "kawabe"


@pytest.mark.parametrize("answers", [
    {}, {"municipality": "no_answer"}, {"municipality": "elsewhere"},
    {"municipality": "atlantis"}, {"centre": "nowhere"}])
def test_without_a_known_municipality_the_default_team_takes_it(
        places: Places, answers: dict[str, Any]) -> None:
    assert route(places, answers).team.id == places.default_team == "pref"


def test_the_route_keeps_only_a_known_municipality(places: Places) -> None:
    assert route(places, {"municipality": "aoba"}).municipality == "aoba"
    assert route(places, {"municipality": "elsewhere"}).municipality is None


# --------------------------------------------------------------------------- programmes


def test_programmes_from_urgent_needs_first_then_life_areas(places: Places) -> None:
    r = route(places, {"urgent_needs": ["shelter", "food"], "life_areas": ["money", "housing"]})
    assert r.programmes == ["ichiji", "jukyo", "foodbank", "kinkyu", "jiritsu", "seiho"]


def test_programmes_have_no_duplicates(places: Places) -> None:
    every_area = list(places.routing.life_areas)
    every_need = list(places.routing.urgent_needs)
    r = route(places, {"life_areas": every_area, "urgent_needs": every_need})
    assert len(r.programmes) == len(set(r.programmes))
    assert set(r.programmes) <= set(places.programmes)


def test_the_always_programmes_are_suggested_even_with_no_answers(places: Places) -> None:
    assert route(places, {}).programmes == places.routing.always == ["jiritsu"]


def test_answers_with_no_programme_are_ignored(places: Places) -> None:
    assert route(places, {"urgent_needs": ["none"], "life_areas": ["x"]}).programmes == \
        ["jiritsu"]


def test_option_sets_offer_municipalities_and_teams(places: Places) -> None:
    sets = option_sets(places)
    assert sets["municipalities"][0] == ("midori", "みどり市")
    assert [value for value, _ in sets["teams"]] == ["midori", "kawabe", "pref"]
    assert all(len(label) <= 20 for _, label in sets["teams"])


# --------------------------------------------------------------------------- hours


def test_hours_text() -> None:
    assert hours_text(MIDORI) == "月・火・水・木・金 8:30〜17:15"
    assert hours_text(PREF) == "月・火・水・木・金・土 9:00〜18:00"


@pytest.mark.parametrize(("moment", "expected"), [
    (tokyo(24, 10), True),  # Tuesday morning
    (tokyo(24, 8, 29), False),  # a minute before opening
    (tokyo(24, 8, 30), True),
    (tokyo(24, 17, 14), True),
    (tokyo(24, 17, 15), False),  # closing time
    (tokyo(28, 10), False),  # Saturday
    (tokyo(28, 22), False),  # Saturday night
    (tokyo(29, 12), False),  # Sunday
])
def test_on_duty(moment: datetime, expected: bool) -> None:
    assert on_duty(team(MIDORI), moment) is expected


def test_on_duty_reads_any_time_zone_as_tokyo() -> None:
    # Monday 00:30 UTC is Monday 09:30 in Tokyo; Sunday 23:00 UTC is Monday 08:00.
    assert on_duty(team(MIDORI), datetime(2026, 11, 30, 0, 30, tzinfo=UTC)) is True
    assert on_duty(team(MIDORI), datetime(2026, 11, 29, 23, 0, tzinfo=UTC)) is False


def test_a_national_holiday_is_closed_unless_the_team_opens_on_holidays() -> None:
    new_year = tokyo(1, 10, month=1, year=2027)  # 元日, a Friday
    assert on_duty(team(MIDORI), new_year) is False
    assert closure_of(team(MIDORI), new_year.date()) == "元日"
    assert on_duty(team(MIDORI, open_on_holidays=True), new_year) is True
    assert on_duty(team(MIDORI), tokyo(23, 10)) is False  # 勤労感謝の日, a Monday


def test_a_closure_of_the_team_is_closed_and_skipped() -> None:
    winter = team(MIDORI, closures=[Closure.model_validate(
        {"from": "2026-12-29", "to": "2027-01-03", "note": "年末年始"})])
    assert on_duty(winter, tokyo(29, 10, month=12)) is False
    assert closure_of(winter, tokyo(29, 10, month=12).date()) == "年末年始"
    # Friday the 25th in the evening: the next opening is Monday the 28th (the 29th to the
    # 3rd are closed), and from the 28th's evening it is Monday the 4th.
    assert next_opening(winter, tokyo(25, 18, month=12)) == tokyo(28, 8, 30, month=12)
    assert next_opening(winter, tokyo(28, 18, month=12)) == tokyo(4, 8, 30, month=1, year=2027)


def test_a_closure_must_not_end_before_it_starts() -> None:
    with pytest.raises(ValueError, match="before"):
        Closure.model_validate({"from": "2027-01-03", "to": "2026-12-29"})


def test_next_opening_after_a_saturday_night_is_monday_morning() -> None:
    assert next_opening(team(MIDORI), tokyo(28, 22)) == tokyo(30, 8, 30)


def test_next_opening_for_a_saturday_team_skips_only_sunday() -> None:
    assert next_opening(team(PREF), tokyo(28, 22)) == tokyo(30, 9)
    assert next_opening(team(PREF), tokyo(27, 19)) == tokyo(28, 9)  # Friday evening → Saturday


def test_next_opening_early_in_the_morning_is_the_same_day() -> None:
    assert next_opening(team(MIDORI), tokyo(24, 6)) == tokyo(24, 8, 30)


def test_next_opening_while_on_duty_is_now() -> None:
    assert next_opening(team(MIDORI), tokyo(24, 10)) == tokyo(24, 10)


def test_next_opening_is_in_tokyo_time() -> None:
    saturday_night = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)  # 22:00 in Tokyo
    assert next_opening(team(MIDORI), saturday_night) == tokyo(30, 8, 30)


def test_next_opening_while_on_duty_until_midnight_is_now() -> None:
    late = Hours(days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"], open="09:00",
                 close="24:00")
    assert on_duty(team(late), tokyo(24, 20)) is True
    assert next_opening(team(late), tokyo(24, 20)) == tokyo(24, 20)


# --------------------------------------------------------------------------- copy variables


def test_variables_on_a_saturday_night_name_the_next_opening(places: Places) -> None:
    values = variables(places, {"municipality": "midori"}, tokyo(28, 22))
    assert values["on_duty"] == (
        "いまは相談員がいない時間です。11月30日（月）8:30以降に、順番にお返事します。")
    assert values["team_name"] == "みどり市 くらし相談センター"
    assert values["hours"] == "月・火・水・木・金 8:30〜17:15"


def test_variables_on_new_years_day_say_nobody_is_in_and_why(places: Places) -> None:
    values = variables(places, {"municipality": "midori"}, tokyo(1, 10, month=1, year=2027))
    assert values["on_duty"] == ("いまは相談員がいない時間です（きょうは元日のため、お休みです）。"
                                 "1月4日（月）8:30以降に、順番にお返事します。")


def test_variables_while_on_duty(places: Places) -> None:
    values = variables(places, {"municipality": "kawabe"}, tokyo(24, 10))
    assert values["on_duty"].startswith("いまは相談員がいる時間です")
    assert values["share_with"] == "かわべ市 生活福祉課、かわべ市 社会福祉協議会"
    assert values["municipality"] == "かわべ市"
    assert values["retention_days"] == "90"


def test_variables_without_a_municipality(places: Places) -> None:
    values = variables(places, {}, tokyo(24, 10))
    assert values["municipality"] == ""
    assert values["team_name"] == "県社協 くらしサポート（町村の相談窓口）"


def test_opened_at_is_todays_opening_while_open() -> None:
    assert opened_at(team(MIDORI), tokyo(24, 10)) == tokyo(24, 8, 30)  # a Tuesday morning
    assert opened_at(team(MIDORI), tokyo(24, 18)) is None  # closed for the evening
    assert opened_at(team(MIDORI), tokyo(23, 10)) is None  # 勤労感謝の日


# --------------------------------------------------------------------------- many towns


def test_a_town_served_elsewhere_goes_to_the_default_team_and_keeps_its_name(
        places: Places) -> None:
    r = route(places, {"municipality": "hanasaki"})
    assert r.team.id == places.default_team and r.municipality == "hanasaki"
    told = variables(places, {"municipality": "hanasaki"}, tokyo(24, 10))
    assert told["own_office"] == "はなさき市 生活支援課" and told["municipality"] == "はなさき市"
    assert told["first_contact"] == ""


def test_an_office_is_named_with_its_number_when_content_gives_one(places: Places) -> None:
    data = places.model_dump()
    data["municipalities"][-1]["tel"] = "0120-000-111"
    told = variables(Places.model_validate(data), {"municipality": "hanasaki"}, tokyo(24, 10))
    assert told["own_office"] == "はなさき市 生活支援課（電話 0120-000-111）"


def test_a_town_names_its_first_contact_while_our_team_takes_the_case(places: Places) -> None:
    assert route(places, {"municipality": "aoba"}).team.id == "pref"
    told = variables(places, {"municipality": "aoba"}, tokyo(24, 10))
    assert told["first_contact"] == "あおば町役場 福祉係" and told["own_office"] == ""
    assert variables(places, {"municipality": "midori"}, tokyo(24, 10))["first_contact"] == ""


@pytest.mark.parametrize("answer", ["elsewhere", "not_found", "no_answer", "unknown_id"])
def test_no_known_town_goes_to_the_default_team(places: Places, answer: str) -> None:
    r = route(places, {"municipality": answer})
    assert r.team.id == places.default_team and r.municipality is None


def test_the_buttons_match_only_our_towns_and_a_typed_name_any(places: Places) -> None:
    match = places_matcher(places)
    assert match("known_municipalities", "はなさき") == ["hanasaki"]
    assert match("municipalities", "はなさき") == []
    assert match("municipalities", "みどり") == ["midori"]
    assert match("teams", "みどり") == []
