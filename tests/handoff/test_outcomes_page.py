"""The outcome dashboard over HTTP: supervisors only, figures as SVG, CSV export audited."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from bot.db.models import Conversation, utcnow
from handoff.console.dashboard import (
    FilterError,
    column_chart,
    csv_bytes,
    minutes_text,
    parse_filter,
    percent_text,
    row_chart,
)
from handoff.console.dashboard import router as dashboard_router
from handoff.models import AuditEntry, Case, CaseMessage, CaseStatus, Role
from handoff.outcomes import japan_day
from tests.live import LiveApp, Staff, console_client, logged_in

SECRET_WORDS = "ひみつのことば"


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("sato", "佐藤", Role.COUNSELLOR, "pref"),
            Staff("boss", "主任", Role.SUPERVISOR, "pref"),
            Staff("root", "管理者", Role.ADMIN),
            # Every desk's figures: the prefecture's lead. A desk's own: its supervisor.
            Staff("lead", "統括", Role.LEAD),
            Staff("midoriboss", "みどり主任", Role.SUPERVISOR, "midori")]


def add_figures(app: LiveApp) -> None:
    """The only conversations and cases on the module's server: the figures count them all
    (no test here adds any)."""
    now = utcnow()
    with app.session() as s, s.begin():
        # Two people reached a counsellor after 30 and 90 minutes; a third declined consent.
        for n, (town, minutes, outcome, detail, areas) in enumerate([
                ("midori", 30, "referred", "ハローワークみどり", ["money", "work"]),
                ("kawabe", 90, "plan", None, ["debt"])]):
            first = now - timedelta(days=2, hours=n)
            conv = Conversation(
                line_user_id=f"U{n:032d}", flow_id="intake", flow_version="v",
                state="welcome", answers={"municipality": town, "notes": [SECRET_WORDS]},
                consent={"counsellor": {"granted": True, "at": first.isoformat()}},
                created_at=first)
            s.add(conv)
            s.flush()
            case = Case(conversation_id=conv.id, team_id=town, municipality=town,
                        status=CaseStatus.CLOSED, opened_at=first + timedelta(minutes=5),
                        claimed_at=first + timedelta(minutes=minutes), outcome=outcome,
                        outcome_detail=detail, life_areas=areas, pseudonym=f"相談者 AB0{n}")
            s.add(case)
            s.flush()
            s.add(CaseMessage(case_id=case.id, sender="resident", text=SECRET_WORDS))
        s.add(Conversation(line_user_id="U" + "9" * 32, flow_id="intake", flow_version="v",
                           state="declined", answers={"municipality": "midori"},
                           consent={"counsellor": {"granted": False, "at": now.isoformat()}},
                           created_at=now - timedelta(days=1)))


@pytest.fixture(scope="module")
def live_setup() -> Callable[[LiveApp], None]:
    return add_figures


def test_filters_default_to_the_last_thirty_days_and_refuse_nonsense() -> None:
    today = date(2024, 6, 30)
    towns = ["midori", "kawabe"]
    chosen = parse_filter("", "", "", known=towns, today=today)
    assert (chosen.start, chosen.end, chosen.municipality) == (date(2024, 6, 1), today, None)
    assert parse_filter("", "2024-05-31", "kawabe", known=towns, today=today).start == \
        date(2024, 5, 2)
    assert parse_filter("2024-07-05", "", "-", known=towns, today=today).end == \
        date(2024, 7, 5)
    for start, end, town in [("2024-02-30", "", ""), ("2024-06-02", "2024-06-01", ""),
                             ("2023-01-01", "2024-06-01", ""), ("", "", "atlantis")]:
        with pytest.raises(FilterError):
            parse_filter(start, end, town, known=towns, today=today)


def test_wording_and_csv_encoding() -> None:
    assert [minutes_text(m) for m in (None, 0.4, 45, 60, 125, 1440, 1530)] == [
        "—", "0分", "45分", "1時間", "2時間5分", "1日", "1日1時間"]
    assert percent_text(None) == "—" and percent_text(2 / 3) == "66.7%"
    body = csv_bytes([("つないだ先", "法テラス", "1")])
    assert body == "\ufeff区分,項目,値\r\nつないだ先,法テラス,1\r\n".encode()


def test_charts_are_plain_geometry() -> None:
    days = column_chart([(str(n), n % 3) for n in range(60)], title="日別")
    assert len(days.bars) == 60 and not days.empty
    assert sum(1 for b in days.bars if b.label) == 15  # thinned out: labels never overlap
    assert all(b.value == "" for b in days.bars)  # too many bars for values on top
    tallest = max(days.bars, key=lambda b: b.height)
    assert tallest.height == 140 and tallest.y == 20
    assert column_chart([("6/1", 0)], title="x").empty
    rows = row_chart([("とても長いつなぎ先の名前がここに入ります", 4), ("短い", 2)], title="先")
    assert rows.bars[0].label.endswith("…") and "とても長いつなぎ先の名前がここに入ります" in \
        rows.bars[0].title
    assert rows.bars[1].width == rows.bars[0].width / 2


def figure(page: str, figure_id: str) -> str:
    found = re.search(rf'id="{figure_id}">([^<]*)<', page)
    assert found, figure_id
    return found.group(1)


def exports(live: LiveApp) -> list[AuditEntry]:
    with live.session() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == "export_outcomes")
                              .order_by(AuditEntry.id)))


def test_the_dashboard_needs_a_login(live: LiveApp) -> None:
    paths = [route.path for route in dashboard_router.routes]  # type: ignore[attr-defined]
    assert sorted(paths) == ["/console/outcomes", "/console/outcomes/csv"]
    client = console_client(live)
    for path in paths:
        answer = client.get(path)
        assert answer.status_code == 303 and answer.headers["location"] == "/console/login"


def test_counsellors_are_refused(live: LiveApp) -> None:
    before = len(exports(live))
    client = logged_in(live, "sato")
    assert client.get("/console/outcomes").status_code == 403
    assert client.get("/console/outcomes/csv").status_code == 403
    assert 'href="/console/outcomes"' not in client.get("/console/").text
    assert len(exports(live)) == before


def test_supervisors_see_the_figures_as_svg_charts(live: LiveApp) -> None:
    before = len(exports(live))
    client = logged_in(live, "lead")
    assert 'href="/console/outcomes">成果</a>' in client.get("/console/").text
    page = client.get("/console/outcomes")
    assert page.status_code == 200, page.text[:500]
    text = page.text
    assert "成果の把握" in text
    assert figure(text, "fig-cases") == "2件"
    assert figure(text, "fig-conversations") == "3件"
    assert figure(text, "fig-median") == "1時間"  # 30 and 90 minutes
    assert "1時間24分" in text  # p90: 30 + (90 - 30) × 0.9 minutes
    assert figure(text, "fig-consent") == "66.7%"  # 2 of the 3 asked reached a counsellor
    assert figure(text, "fig-followup") == "—"  # nothing sent: no rate, not 0 %
    assert '<svg class="chart columns" id="chart-per-day"' in text
    assert '<svg class="chart rows" id="chart-outcomes"' in text
    assert "ハローワークみどり" in text and "お金・生活費" in text
    # Aggregates only: no words, no pseudonyms; and nothing the CSP would block.
    assert SECRET_WORDS not in text and "相談者 AB0" not in text
    assert "style=" not in text and "<style" not in text
    assert all('src="/console/static/' in tag for tag in re.findall(r"<script[^>]*>", text))
    assert 'href="/console/static/outcomes.css"' in text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/console/static/outcomes.css").status_code == 200
    assert len(exports(live)) == before  # viewing aggregates is not an export

    kawabe = client.get("/console/outcomes", params={"municipality": "kawabe"}).text
    assert figure(kawabe, "fig-cases") == "1件" and figure(kawabe, "fig-median") == "1時間30分"
    assert '<option value="kawabe" selected>' in kawabe

    wrong = client.get("/console/outcomes", params={"from": "2025-13-01"})
    assert wrong.status_code == 400 and "2025-04-01 の形" in wrong.text
    backwards = client.get("/console/outcomes", params={"from": "2025-05-02",
                                                        "to": "2025-05-01"})
    assert backwards.status_code == 400 and "終わりより後" in backwards.text
    assert client.get("/console/outcomes", params={"municipality": "atlantis"}
                      ).status_code == 400
    assert logged_in(live, "root").get("/console/outcomes").status_code == 200
    assert 'id="desk"' not in text  # a lead sees every desk


def test_a_supervisor_sees_their_own_desks_figures(live: LiveApp) -> None:
    page = logged_in(live, "midoriboss").get("/console/outcomes").text
    assert 'id="desk"' in page and "みどり市 くらし相談センター" in page
    assert figure(page, "fig-cases") == "1件"  # not かわべ市's
    assert figure(page, "fig-conversations") == "2件"  # the one who declined lives here too
    assert figure(page, "fig-median") == "30分"
    other = logged_in(live, "boss").get("/console/outcomes").text  # the prefecture's desk
    assert figure(other, "fig-cases") == "0件"


def test_the_csv_export_opens_in_excel_and_is_audited(live: LiveApp) -> None:
    before = len(exports(live))
    client = logged_in(live, "lead")
    answer = client.get("/console/outcomes/csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith('attachment; filename="outcomes_')
    assert answer.content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for UTF-8
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0] == ["区分", "項目", "値"]
    assert ["相談件数", "合計", "2"] in rows
    assert ["最初の連絡から人につながるまで", "中央値（分）", "60.0"] in rows
    assert ["最初の連絡から人につながるまで", "90パーセンタイル（分）", "84.0"] in rows
    assert ["同意", "同意のうえつながった割合", "66.7%"] in rows
    assert ["終了時の結果", "他機関へつないだ", "1"] in rows
    assert ["つないだ先", "ハローワークみどり", "1"] in rows
    assert ["困りごと別の人数", "お金・生活費", "1"] in rows
    assert len([r for r in rows if r[0] == "相談件数（日別）"]) == 30
    assert SECRET_WORDS not in answer.text and "相談者 AB0" not in answer.text

    today = japan_day(utcnow())
    [entry] = exports(live)[before:]
    assert entry.case_id is None
    assert entry.detail == (f"from={today - timedelta(days=29)} to={today} "
                            "municipality=all")

    client.get("/console/outcomes/csv", params={"from": "2024-06-01", "to": "2024-06-30",
                                                "municipality": "kawabe"})
    assert exports(live)[-1].detail == "from=2024-06-01 to=2024-06-30 municipality=kawabe"
    assert client.get("/console/outcomes/csv", params={"to": "nope"}).status_code == 400
    assert len(exports(live)) == before + 2  # a refused export is not recorded as one
    audit_page = client.get("/console/audit").text
    assert "export_outcomes" in audit_page and "municipality=kawabe" in audit_page


def test_time_to_a_person_by_municipality_and_within_the_sla(live: LiveApp) -> None:
    """30 minutes for みどり市's resident, 90 for かわべ市's; each taken 25 and 85 minutes after
    their case opened, well within the normal priority's 4 hours."""
    client = logged_in(live, "lead")
    page = client.get("/console/outcomes").text
    assert '<svg class="chart columns" id="chart-time-per-day"' in page
    by_town = re.search(r'id="table-time-by-town">(.*?)</table>', page, re.S)
    assert by_town and re.findall(r"<td>([^<]*)</td>", by_town.group(1)) == [
        "みどり市", "1人", "30分", "30分", "0件", "かわべ市", "1人", "1時間30分", "1時間30分",
        "0件"]
    assert "通常：4時間以内</td><td>2件</td><td>0件</td><td>0件</td><td>100.0%" in page
    rows = list(csv.reader(io.StringIO(client.get("/console/outcomes/csv").content.decode(
        "utf-8-sig"))))
    town = "最初の連絡から人につながるまで（市町村別）"
    assert [town + "・中央値（分）", "みどり市", "30.0"] in rows
    assert [town + "・90パーセンタイル（分）", "かわべ市", "90.0"] in rows
    per_day = [r for r in rows if r[0] == "最初の連絡から人につながるまで（日別）・中央値（分）"]
    with live.session() as s:
        days = {japan_day(opened) for opened in s.scalars(select(Case.opened_at))}
    # On one Japan day or two, as the clock of the run puts them.
    assert len(per_day) == 30 and sorted(r[2] for r in per_day if r[2]) == (
        ["60.0"] if len(days) == 1 else ["30.0", "90.0"])
    sla = "受付から担当が決まるまで（目安 通常：4時間以内）"
    assert [sla, "時間内", "2"] in rows and [sla, "時間内の割合", "100.0%"] in rows
    imminent = "受付から担当が決まるまで（目安 最優先（差し迫った危険）：5分以内）"
    assert [imminent, "時間内の割合", "—"] in rows  # nothing to count: no rate, not 0 %
