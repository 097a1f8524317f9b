"""相談経路 in the console: the supervisors' page of referral links and QR codes (refused to
plain counsellors), a case's source set or corrected by whoever may act on it (audited), and
the 相談経路 figure on the outcome page and in its CSV."""

from __future__ import annotations

import csv
import io
import re
from html import unescape

import pytest
from sqlalchemy import select

from bot.flows.referral_links import link, prefilled_text
from bot.releases.load import load_content
from bot.settings import DEFAULT_CONTENT_DIR, EMULATOR_LINE_ID
from handoff.models import AuditEntry, Case, Role
from tests.live import (
    LiveApp,
    Resident,
    Staff,
    conversation_of,
    csrf_of,
    logged_in,
    resident_with_case,
)

SOURCES = load_content(DEFAULT_CONTENT_DIR).places.referrals.sources


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("sato", "佐藤", team_id="pref"), Staff("suzuki", "鈴木", team_id="pref"),
            Staff("boss", "主任", Role.SUPERVISOR, "pref"), Staff("root", "管理者", Role.ADMIN)]


# ---------------------------------------------------------------------- 紹介用リンク


def test_supervisors_get_a_link_and_a_qr_code_for_every_source(live: LiveApp) -> None:
    for who in ("boss", "root"):
        page = logged_in(live, who).get("/console/referral-links")
        assert page.status_code == 200, who
        html = unescape(page.text)
        assert "相談者がだれなのかは、リンクからはわかりません" in html
        assert EMULATOR_LINE_ID in html
        for source in SOURCES:
            card = re.search(rf'<section class="card referral-card" id="source-{source.id}">'
                             r'(.*?)</section>', html, re.S)
            assert card is not None, source.id
            body = card.group(1)
            assert f"<h2>{source.name}</h2>" in body
            assert f'value="{link(EMULATOR_LINE_ID, source)}"' in body
            assert prefilled_text(source) in body
            assert "<svg" in body and 'class="segno"' in body  # the QR code, inline
            # The demo's own LINE opens the same link.
            assert "/emulator/R/oaMessage/%40tsunagu/?" in body


def test_the_qr_code_downloads_as_an_svg_file(live: LiveApp) -> None:
    boss = logged_in(live, "boss")
    answer = boss.get("/console/referral-links/tax/qr.svg")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("image/svg+xml")
    assert 'filename="tsunagu_tax.svg"' in answer.headers["content-disposition"]
    assert answer.text.lstrip().startswith("<?xml") and "<svg" in answer.text
    assert boss.get("/console/referral-links/nosuch/qr.svg").status_code == 404


def test_plain_counsellors_are_refused_the_links(live: LiveApp) -> None:
    sato = logged_in(live, "sato")
    assert sato.get("/console/referral-links").status_code == 403
    assert sato.get("/console/referral-links/tax/qr.svg").status_code == 403
    assert "/console/referral-links" not in sato.get("/console/").text
    assert "/console/referral-links" in logged_in(live, "boss").get("/console/").text


# ---------------------------------------------------------------------- the case's source


def source_of(live: LiveApp, case_id: int) -> str | None:
    with live.session() as s:
        return s.get(Case, case_id).source  # type: ignore[union-attr]


def test_the_holder_sets_and_corrects_the_source_on_the_case_page(live: LiveApp) -> None:
    r, case_id = resident_with_case(live)
    page_path = f"/console/cases/{case_id}"
    sato, suzuki = logged_in(live, "sato"), logged_in(live, "suzuki")
    assert "不明（記録なし）" in sato.get(page_path).text
    assert 'id="source-select"' not in sato.get(page_path).text  # not theirs yet
    token = csrf_of(sato, page_path)
    assert sato.post(f"{page_path}/claim", data={"csrf": token}).status_code == 303

    page = sato.get(page_path).text
    options = re.findall(r'<option value="([^"]*)"', page.split('id="source-select"')[1]
                         .split("</select>")[0])
    assert options == ["", *(s.id for s in SOURCES)]  # 「不明」 first, then content's order
    answer = sato.post(f"{page_path}/source", data={"csrf": token, "source": "minsei"})
    assert answer.headers["location"] == f"{page_path}?notice=source_saved"
    assert source_of(live, case_id) == "minsei"
    assert "民生委員・児童委員" in sato.get(page_path).text
    # Corrected back to 「不明」.
    sato.post(f"{page_path}/source", data={"csrf": token, "source": ""})
    assert source_of(live, case_id) is None
    # Not a source of the content: refused, nothing changes.
    answer = sato.post(f"{page_path}/source", data={"csrf": token, "source": "nosuch"})
    assert answer.headers["location"] == f"{page_path}?notice=source_unknown"
    assert source_of(live, case_id) is None

    # A colleague who does not hold the case may read it, not change it.
    refused = suzuki.post(f"{page_path}/source",
                          data={"csrf": csrf_of(suzuki, page_path), "source": "tax"})
    assert refused.headers["location"] == f"{page_path}?notice=not_holder"
    assert source_of(live, case_id) is None
    # A supervisor may.
    boss = logged_in(live, "boss")
    boss.post(f"{page_path}/source", data={"csrf": csrf_of(boss, page_path), "source": "tax"})
    assert source_of(live, case_id) == "tax"

    with live.session() as s:
        audited = s.scalars(select(AuditEntry).where(
            AuditEntry.case_id == case_id, AuditEntry.action == "source")
            .order_by(AuditEntry.id)).all()
    assert [e.detail for e in audited] == [
        "source - -> minsei", "source minsei -> -", "source - -> tax"]
    assert conversation_of(live, r).source is None  # the conversation keeps what it recorded


# ---------------------------------------------------------------------- the figure


def test_the_outcome_page_and_its_csv_count_cases_by_source(live: LiveApp) -> None:
    came = Resident(live)
    came.say(prefilled_text(SOURCES[0]))
    came.say("人と話したい")
    came.say("同意する")
    root = logged_in(live, "root")  # every desk's figures: every case here
    with live.session() as s:
        counts: dict[str | None, int] = {}
        for source in s.scalars(select(Case.source)):
            counts[source] = counts.get(source, 0) + 1
    assert counts.get(SOURCES[0].id, 0) >= 1

    page = root.get("/console/outcomes").text
    table = page.split('id="table-sources"')[1].split("</table>")[0]
    rows = re.findall(r"<tr><td>([^<]*)</td><td>(\d+)</td></tr>", table)
    expected = [(s.name, str(counts.get(s.id, 0))) for s in SOURCES]
    assert rows == [*expected, ("記録なし（不明）", str(counts.get(None, 0)))]
    assert 'id="chart-sources"' in page

    exported = root.get("/console/outcomes/csv")
    table_rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [(item, value) for section, item, value in table_rows if section == "相談経路"] \
        == [*expected, ("記録なし（不明）", str(counts.get(None, 0)))]
