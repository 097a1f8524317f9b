"""The outcome dashboard (成果把握) for supervisors and administrators: aggregates only.

Charts are drawn here as plain geometry and rendered as inline SVG by the template: no script,
no inline style, nothing fetched from the internet (the console's CSP allows only 'self').
Every CSV export is written to the audit log with its filter.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from bot.content.schema import Places
from bot.db.models import utcnow
from bot.flows.routing import TOKYO
from handoff import audit, indicators
from handoff.console.host import host
from handoff.console.security import Supervisor
from handoff.console.views import (
    FOLLOWUP_KIND_LABEL,
    OUTCOME_LABEL,
    PRIORITY_LABEL,
    RISK_LABEL,
    _page,
    answer_labels,
)
from handoff.desk_status import sla_minutes, staffed_minutes
from handoff.durations import minutes_text
from handoff.indicators import Indicators
from handoff.models import PRIORITY_RANK, Counsellor, sees_every_team
from handoff.outcomes import (
    NO_SOURCE,
    NOT_GIVEN,
    Desk,
    Figures,
    SlaRule,
    TimeToHuman,
    case_place,
    compute,
    japan_day,
    period_bounds,
)

router = APIRouter(prefix="/console/outcomes", include_in_schema=False)

DEFAULT_DAYS = 30
MAX_DAYS = 366  # a year of daily bars is the most one page can show legibly
STATUS_LABEL = {"open": "担当待ち", "claimed": "対応中", "closed": "終了"}
FOLLOWUP_LABEL = {**FOLLOWUP_KIND_LABEL, "all": "合計"}
NOT_GIVEN_LABEL = "答えていない・一覧にない"
NO_SOURCE_LABEL = "記録なし（不明）"
WEEKDAYS = "月火水木金土日"


# ---------------------------------------------------------------------- filter


@dataclass(frozen=True)
class Filter:
    start: date
    end: date
    municipality: str | None  # an id, NOT_GIVEN, or None for all

    def query(self) -> str:
        return urlencode({"from": self.start.isoformat(), "to": self.end.isoformat(),
                          "municipality": self.municipality or ""})

    def audit_detail(self) -> str:
        """What an export covered: dates and a municipality id, never anything personal."""
        return f"from={self.start} to={self.end} municipality={self.municipality or 'all'}"


class FilterError(ValueError):
    """A filter the page cannot use; the message is shown to the supervisor."""


def _date(text: str, name: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise FilterError(f"{name}の日付は 2025-04-01 の形で入力してください。") from None


def parse_filter(start: str, end: str, municipality: str, *, known: Sequence[str],
                 today: date) -> Filter:
    """The query's filter; blank dates default to the last DEFAULT_DAYS days up to today."""
    last = _date(end, "終わり") or max(today, _date(start, "始め") or today)
    first = _date(start, "始め") or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise FilterError("期間の始めが終わりより後になっています。")
    if (last - first).days + 1 > MAX_DAYS:
        raise FilterError(f"期間は{MAX_DAYS}日以内で指定してください。")
    town = municipality.strip() or None
    if town is not None and town != NOT_GIVEN and town not in known:
        raise FilterError("市町村の指定が正しくありません。")
    return Filter(first, last, town)


# ---------------------------------------------------------------------- charts


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # written on the axis ("" when there is no room)
    value: str  # written at the bar's end ("" when there is no room)
    label_x: float
    label_y: float
    value_x: float
    value_y: float
    title: str  # the tooltip: full label and value
    css: str = ""


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    axis: tuple[float, float, float, float]  # x1, y1, x2, y2 of the baseline
    empty: bool
    title: str
    kind: str  # "columns" (a time series) or "rows" (categories): the CSS lays text out by it


def column_chart(points: Sequence[tuple[str, int | None]], *, title: str, unit: str = "件",
                 tooltips: Sequence[str] | None = None) -> Chart:
    """Vertical bars for a time series; axis labels thinned out so they never overlap. A value
    of None (nothing measured that day) draws no bar and says 「—」, unlike a zero."""
    left, top, plot, below = 8.0, 20.0, 140.0, 24.0
    n = max(len(points), 1)
    slot = min(48.0, max(8.0, 720.0 / n))
    every = math.ceil(n / 16)  # at most 16 labels along the axis
    peak = max((v for _, v in points if v is not None), default=0) or 1
    bars = []
    for i, (label, value) in enumerate(points):
        height = plot * (value or 0) / peak
        x = left + i * slot
        centre = x + slot / 2
        bars.append(Bar(
            x=x + slot * 0.14, y=top + plot - height, width=slot * 0.72, height=height,
            label=label if i % every == 0 else "",
            value=str(value) if value and n <= 31 else "",
            label_x=centre, label_y=top + plot + 16, value_x=centre,
            value_y=top + plot - height - 4,
            title=f"{tooltips[i] if tooltips else label}: "
                  f"{'—' if value is None else f'{value}{unit}'}"))
    width = int(left * 2 + n * slot)
    return Chart(width=width, height=int(top + plot + below), bars=bars,
                 axis=(left, top + plot, width - left, top + plot),
                 empty=not any(v for _, v in points), title=title, kind="columns")


def row_chart(points: Sequence[tuple[str, int]], *, title: str, unit: str = "件",
              css: Mapping[str, str] | None = None, keys: Sequence[str] | None = None) -> Chart:
    """Horizontal bars for categories, whose Japanese labels are too long to stand upright."""
    label_width, bar_width, value_width, row = 200.0, 360.0, 70.0, 28.0
    peak = max((v for _, v in points), default=0) or 1
    bars = []
    for i, (label, value) in enumerate(points):
        length = bar_width * value / peak
        y = 4 + i * row
        short = label if len(label) <= 14 else label[:13] + "…"
        bars.append(Bar(
            x=label_width, y=y + 4, width=length, height=row - 8, label=short,
            value=f"{value}{unit}", label_x=label_width - 8, label_y=y + row / 2 + 5,
            value_x=label_width + length + 6, value_y=y + row / 2 + 5,
            title=f"{label}: {value}{unit}",
            css=(css or {}).get(keys[i] if keys else label, "")))
    height = int(8 + row * max(len(points), 1))
    return Chart(width=int(label_width + bar_width + value_width), height=height, bars=bars,
                 axis=(label_width, 0, label_width, height), empty=not any(
                     v for _, v in points), title=title, kind="rows")


# ---------------------------------------------------------------------- wording


def percent_text(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def day_text(day: date) -> str:
    return f"{day.month}/{day.day}（{WEEKDAYS[day.weekday()]}）"


def _names(request: Request) -> dict[str, dict[str, str]]:
    places = host(request).content.places
    towns = {m.id: m.name for m in places.municipalities}
    return {"town": {**towns, NOT_GIVEN: NOT_GIVEN_LABEL},
            "area": answer_labels(host(request)).get("life_areas", {}),
            "risk": RISK_LABEL, "status": STATUS_LABEL,
            "outcome": {str(k): v for k, v in OUTCOME_LABEL.items()},
            "followup": FOLLOWUP_LABEL,
            "source": {**{s.id: s.name for s in places.referrals.sources},
                       NO_SOURCE: NO_SOURCE_LABEL}}


def _areas_per_person(fig: Figures) -> list[tuple[str, int]]:
    return [("0（未回答）" if n == 0 else f"{n}つ", persons)
            for n, persons in fig.life_areas.per_person]


def _charts(fig: Figures, names: dict[str, dict[str, str]]) -> dict[str, Chart]:
    def named(points: Sequence[tuple[str, int]], kind: str) -> list[tuple[str, int]]:
        return [(names[kind].get(key, key), count) for key, count in points]

    return {
        "per_day": column_chart(
            [(f"{d.month}/{d.day}", n) for d, n in fig.per_day], title="日別の相談件数",
            tooltips=[day_text(d) for d, _ in fig.per_day]),
        "per_week": column_chart(
            [(f"{d.month}/{d.day}〜", n) for d, n in fig.per_week], title="週別の相談件数",
            tooltips=[f"{day_text(d)}からの週" for d, _ in fig.per_week]),
        "time_per_day": column_chart(
            [(f"{d.month}/{d.day}", _whole(t.median_minutes))
             for d, t in fig.time_to_human_per_day],
            title="人につながるまでの時間（日別の中央値）", unit="分",
            tooltips=[day_text(d) for d, _ in fig.time_to_human_per_day]),
        "areas_per_person": row_chart(_areas_per_person(fig), title="1人あたりの困りごとの数",
                                      unit="人"),
        "areas": row_chart(named(fig.life_areas.counts, "area"), title="困りごと別の人数",
                           unit="人"),
        "case_risk": row_chart(named(fig.case_risk, "risk"), title="相談の危険度",
                               css={k: f"risk-{k}" for k, _ in fig.case_risk},
                               keys=[k for k, _ in fig.case_risk]),
        "conversation_risk": row_chart(
            named(fig.conversation_risk, "risk"), title="会話で見られた最も高い危険度",
            css={k: f"risk-{k}" for k, _ in fig.conversation_risk},
            keys=[k for k, _ in fig.conversation_risk]),
        "status": row_chart(named(fig.status, "status"), title="相談の状況"),
        "outcomes": row_chart(named(fig.outcomes, "outcome"), title="終了時の結果"),
        "referrals": row_chart(fig.referrals, title="つないだ先"),
        "sources": row_chart(named(fig.sources, "source"), title="相談経路"),
    }


# ---------------------------------------------------------------------- CSV


def _safe_cell(value: str) -> str:
    """Referral destinations are typed by staff: never let Excel run one as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def csv_rows(fig: Figures, names: dict[str, dict[str, str]]) -> list[tuple[str, str, str]]:
    """Section, item, value: one table that Excel opens as it is."""
    rows: list[tuple[str, str, str]] = [
        ("条件", "期間（日本時間）", f"{fig.start.isoformat()}〜{fig.end.isoformat()}"),
        ("条件", "市町村", names["town"].get(fig.municipality or "", "すべて")),
        ("条件", "集計日時（日本時間）",
         fig.computed_at.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")),
        ("相談件数", "合計", str(fig.cases)),
    ]
    rows += [("相談件数（日別）", d.isoformat(), str(n)) for d, n in fig.per_day]
    rows += [("相談件数（週別・月曜始まり）", f"{d.isoformat()}〜", str(n))
             for d, n in fig.per_week]
    t = fig.time_to_human
    rows += [
        ("最初の連絡から人につながるまで", "人につながった方（初回）", str(t.reached)),
        ("最初の連絡から人につながるまで", "中央値（分）", _number(t.median_minutes)),
        ("最初の連絡から人につながるまで", "90パーセンタイル（分）", _number(t.p90_minutes)),
        ("最初の連絡から人につながるまで", "担当待ちの相談", str(t.not_reached)),
    ]
    for d, per_day in fig.time_to_human_per_day:
        rows += _time_rows("最初の連絡から人につながるまで（日別）", d.isoformat(), per_day)
    for town, per_town in fig.time_to_human_by_town:
        rows += _time_rows("最初の連絡から人につながるまで（市町村別）",
                           names["town"].get(town, town), per_town)
    for share in fig.within_sla:
        section = f"受付から担当が決まるまで（目安 {sla_label(share.priority, share.minutes)}）"
        rows += [(section, "時間内", str(share.within)),
                 (section, "時間を過ぎた", str(share.missed)),
                 (section, "数えない（まだ目安の時間内・担当が決まる前に終わった）",
                  str(share.pending)),
                 (section, "時間内の割合", percent_text(share.share))]
    rows += [
        ("困りごと", "人数", str(fig.life_areas.persons)),
        ("困りごと", "平均の数（1つ以上選んだ方）", _number(fig.life_areas.mean_answered, 2)),
    ]
    rows += [("困りごとの数（1人あたり）", label, str(n)) for label, n in _areas_per_person(fig)]
    rows += [("困りごと別の人数", names["area"].get(k, k), str(n))
             for k, n in fig.life_areas.counts]
    rows += [("相談の危険度", names["risk"].get(k, k), str(n)) for k, n in fig.case_risk]
    rows += [("会話で見られた最も高い危険度", names["risk"].get(k, k), str(n))
             for k, n in fig.conversation_risk]
    c = fig.consent
    rows += [("同意", label, value) for label, value in (
        ("新しく始まった会話", str(c.conversations)),
        ("同意（相談員が読む）をお尋ねして答えがあった会話", str(c.asked)),
        ("同意いただいた会話（その後に取り消した会話を含む）", str(c.agreed)),
        ("同意のうえ相談員につながった会話", str(c.handed_off)),
        ("関係機関との共有にもいま同意いただいている会話", str(c.shared)),
        ("同意を取り消した会話", str(c.withdrawn)),
        ("生命を守るための例外でつないだ会話", str(c.life_safety)),
        ("同意のうえつながった割合", percent_text(c.handoff_rate)),
        ("同意いただいた割合", percent_text(c.agree_rate)),
        ("共有に同意いただいた割合（同意いただいた会話のうち）", percent_text(c.share_rate)))]
    sp = fig.support
    rows += [("支援の経過", label, str(value)) for label, value in (
        ("合意した支援計画", sp.plans), ("支援調整会議", sp.meetings),
        ("モニタリング", sp.monitorings), ("モニタリングでの計画の見直し", sp.replans),
        ("支援を終えた（終結）", sp.ended), ("期間の終わりに支援中", sp.in_support))]
    rows += [("相談の状況", names["status"].get(k, k), str(n)) for k, n in fig.status]
    rows += [("終了時の結果", names["outcome"].get(k, k), str(n)) for k, n in fig.outcomes]
    rows += [("つないだ先", _safe_cell(k or "（記入なし）"), str(n)) for k, n in fig.referrals]
    rows += [("相談経路", names["source"].get(k, k), str(n)) for k, n in fig.sources]
    for f in [fig.followups, *fig.followups_by_kind]:
        section = f"フォローアップ（{names['followup'].get(f.kind, f.kind)}）"
        rows += [(section, "送った数", str(f.sent)), (section, "返信あり", str(f.answered)),
                 (section, "返信なし", str(f.unanswered)),
                 (section, "返信を待っている（送ってから7日以内）", str(f.pending)),
                 (section, "返信率", percent_text(f.answer_rate))]
    return rows


def _whole(minutes: float | None) -> int | None:
    return None if minutes is None else round(minutes)


def sla_label(priority: str, minutes: int) -> str:
    """「最優先（差し迫った危険）：5分以内」"""
    return f"{PRIORITY_LABEL.get(priority, priority)}：{minutes_text(minutes)}以内"


def _time_rows(section: str, key: str, t: TimeToHuman) -> list[tuple[str, str, str]]:
    return [(f"{section}・人につながった方（初回）", key, str(t.reached)),
            (f"{section}・中央値（分）", key, _number(t.median_minutes)),
            (f"{section}・90パーセンタイル（分）", key, _number(t.p90_minutes)),
            (f"{section}・担当待ちの相談", key, str(t.not_reached))]


def _number(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def csv_bytes(rows: Sequence[tuple[str, str, str]]) -> bytes:
    """UTF-8 with a BOM and CRLF line ends: what Excel in Japan opens without garbling."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(("区分", "項目", "値"))
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# ---------------------------------------------------------------------- routes


def _filter(request: Request, start: str, end: str, municipality: str,
            now: datetime) -> Filter:
    places = host(request).content.places
    return parse_filter(start, end, municipality,
                        known=[m.id for m in places.municipalities], today=japan_day(now))


def desk_of(request: Request, me: Counsellor) -> Desk | None:
    """A supervisor's own desk; None (every desk) for a lead or an administrator."""
    if sees_every_team(me.role):
        return None
    places = host(request).content.places
    return Desk(team=me.team_id, town_teams={m.id: m.team or places.default_team
                                                       for m in places.municipalities},
                default_team=places.default_team, team_ids=tuple(t.id for t in places.teams))


def sla_rule(places: Places) -> SlaRule:
    """The content's time to a person, waits counted while each team's desk is open (a team
    no longer in the content: every minute)."""
    teams = {t.id: t for t in places.teams}

    def staffed(team_id: str, start: datetime, end: datetime) -> float:
        team = teams.get(team_id)
        if team is None:
            return max(0.0, (end - start).total_seconds() / 60)
        return staffed_minutes(team, start, end)

    return SlaRule(minutes={p.value: sla_minutes(places.desk.sla, p.value)
                            for p in sorted(PRIORITY_RANK, key=PRIORITY_RANK.__getitem__)},
                   staffed=staffed)


def _indicators(request: Request, chosen: Filter, me: Counsellor) -> Indicators:
    places = host(request).content.places
    desk = desk_of(request, me)
    first, after = period_bounds(chosen.start, chosen.end)
    known = [m.id for m in places.municipalities]
    referrals = places.referrals
    with host(request).sessions() as session:
        return indicators.compute(
            session=session,
            place=[*case_place(chosen.municipality, known),
                   *([desk.cases()] if desk is not None else [])],
            first=first, after=after, municipalities=known,
            destinations=[d.id for d in referrals.destinations],
            welfare={d.id for d in referrals.destinations if d.welfare},
            results=list(referrals.results), staffed=sla_rule(places).staffed, zone=TOKYO)


def indicator_names(request: Request) -> dict[str, dict[str, str]]:
    labels = answer_labels(host(request))
    referrals = host(request).content.places.referrals
    not_asked = {indicators.NOT_ASKED: "回答前・たずねていない"}
    return {"asking_for": {**labels.get("consulting_for", {}), **not_asked},
            "age_band": {**labels.get("age_band", {}), **not_asked},
            "destination": {d.id: d.name for d in referrals.destinations},
            "result": dict(referrals.results),
            "contacts": {"0": "0日（やりとり前）", "1": "1日", "2-5": "2〜5日", "6+": "6日以上"}}


def indicator_rows(ind: Indicators, names: dict[str, dict[str, str]],
                   towns: dict[str, str]) -> list[tuple[str, str, str]]:
    """The indicators as CSV rows (section, item, value): counts and categories only."""
    rows = [("どなたの相談", names["asking_for"].get(k, k), str(n)) for k, n in ind.asking_for]
    rows += [("年代", names["age_band"].get(k, k), str(n)) for k, n in ind.age_bands]
    if ind.in_hours is not None:
        hours = "相談の時間帯（人につなぐ相談が始まった時刻）"
        rows += [(hours, "窓口の時間内", str(ind.in_hours)),
                 (hours, "時間外", str(ind.out_of_hours)),
                 (hours, "時間外の割合", percent_text(ind.out_of_hours_share))]
    rows += [("相談員とやりとりした日数（1件あたり）", names["contacts"].get(k, k), str(n))
             for k, n in ind.contacts]
    rows.append(("相談員とやりとりした日数（1件あたり）", "平均",
                 _number(ind.contacts_mean, 1)))
    for r in ind.referrals:
        section = f"つなぐ（{names['destination'].get(r.destination, r.destination)}）"
        rows += [(section, label, str(value)) for label, value in (
            ("たずねた・例外で記録", r.asked), ("同意", r.agreed), ("断り", r.declined),
            ("取り消し", r.withdrawn), ("生命を守るための例外", r.life_safety),
            ("シートを渡した", r.sent), ("受け入れられた", r.accepted))]
    rows += [("生活保護へのつなぎ", "同意（例外を含む）", str(ind.welfare_agreed)),
             ("生活保護へのつなぎ", "シートを渡した", str(ind.welfare_sent))]
    rows += [("支援の成果", names["result"].get(k, k), str(n)) for k, n in ind.results]
    for t in ind.by_town:
        section = f"市町村別（{towns.get(t.town, t.town)}）"
        rows += [(section, "相談件数", str(t.cases)),
                 (section, "時間外に始まった相談",
                  "" if t.out_of_hours is None else str(t.out_of_hours)),
                 (section, "つないだ（シートを渡した）", str(t.referred)),
                 (section, "うち生活保護", str(t.welfare)),
                 (section, "仕事が見つかった・続けられた", str(t.work_found))]
    return rows


def _figures(request: Request, chosen: Filter, now: datetime, me: Counsellor) -> Figures:
    places = host(request).content.places
    with host(request).sessions() as session:
        return compute(session=session, start=chosen.start, end=chosen.end,
                       municipality=chosen.municipality,
                       municipalities=[m.id for m in places.municipalities], now=now,
                       desk=desk_of(request, me), sla=sla_rule(places),
                       sources=[s.id for s in places.referrals.sources])


def _desk_name(request: Request, me: Counsellor) -> str | None:
    desk = desk_of(request, me)
    if desk is None:
        return None
    teams = {t.id: t.name for t in host(request).content.places.teams}
    return teams.get(desk.team or "", "担当の窓口なし")


FromDate = Annotated[str, Query(alias="from")]
ToDate = Annotated[str, Query(alias="to")]


@router.get("")
def outcomes_page(request: Request, me: Supervisor, start: FromDate = "", end: ToDate = "",
                  municipality: str = "") -> HTMLResponse:
    now = utcnow()
    towns = host(request).content.places.municipalities
    try:
        chosen = _filter(request, start, end, municipality, now)
    except FilterError as e:
        page = _page(request, "outcomes.html", me=me, error=str(e), fig=None, towns=towns,
                     desk=_desk_name(request, me),
                     not_given=NOT_GIVEN, not_given_label=NOT_GIVEN_LABEL,
                     form={"from": start, "to": end, "municipality": municipality})
        page.status_code = 400
        return page
    fig = _figures(request, chosen, now, me)
    names = _names(request)
    return _page(request, "outcomes.html", me=me, error=None, fig=fig, names=names,
                 ind=_indicators(request, chosen, me), ind_names=indicator_names(request),
                 desk=_desk_name(request, me),
                 charts=_charts(fig, names), towns=towns, not_given=NOT_GIVEN,
                 not_given_label=NOT_GIVEN_LABEL, csv_query=chosen.query(),
                 areas_per_person=_areas_per_person(fig),
                 form={"from": chosen.start.isoformat(), "to": chosen.end.isoformat(),
                       "municipality": chosen.municipality or ""},
                 minutes=minutes_text, percent=percent_text, day=day_text,
                 sla_label=sla_label)


@router.get("/csv")
def outcomes_csv(request: Request, me: Supervisor, start: FromDate = "", end: ToDate = "",
                 municipality: str = "") -> Response:
    now = utcnow()
    try:
        chosen = _filter(request, start, end, municipality, now)
    except FilterError as e:
        return Response(str(e), status_code=400, media_type="text/plain; charset=utf-8")
    fig = _figures(request, chosen, now, me)
    names = _names(request)
    body = csv_bytes(csv_rows(fig, names) + indicator_rows(
        _indicators(request, chosen, me), indicator_names(request), names["town"]))
    with host(request).sessions() as session, session.begin():
        audit.record(session=session, counsellor=me, action="export_outcomes", case_id=None,
                     detail=chosen.audit_detail())
    filename = f"outcomes_{chosen.start:%Y%m%d}_{chosen.end:%Y%m%d}.csv"
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
