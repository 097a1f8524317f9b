"""つなぐ, through the console, the webhook and the LINE emulator: a referral asks the resident's
yes in the chat naming the recipient and the purpose; the つなぐシート opens only with that yes
(or the life-safety basis) and every opening is audited; identity is asked after the yes, only
when the recipient needs it, kept on the referral alone and erased with the case; a yes can be
taken back in the chat, at the desk or by withdrawing consent altogether."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.db.models import utcnow
from handoff import referrals
from handoff.models import AuditEntry, Case, CaseMessage, Referral, ReferralStatus
from handoff.retention import erase
from tests.live import (
    LiveApp,
    Resident,
    Staff,
    conversation_of,
    csrf_of,
    logged_in,
    resident_with_case,
    texts,
    wait_for,
)


@pytest.fixture(scope="module")
def live_counsellors() -> list[Staff]:
    return [Staff("sato", "佐藤", team_id="pref"), Staff("suzuki", "鈴木", team_id="pref")]


def test_phone_numbers_are_read_as_people_write_them() -> None:
    assert referrals.phone_number("090-1234-5678") == "09012345678"
    assert referrals.phone_number("０９０－１２３４－５６７８") == "09012345678"
    assert referrals.phone_number("+81 90 1234 5678") == "09012345678"
    assert referrals.phone_number("(0120) 279 338") == "0120279338"
    assert referrals.phone_number("12-3456") is None
    assert referrals.phone_number("03-1234-5678") == "0312345678"
    assert referrals.phone_number("1234") is None


def test_a_name_is_told_from_other_words() -> None:
    assert referrals.looks_like_name("山田 花子")
    assert referrals.looks_like_name("Nguyen Thi Lan")
    assert not referrals.looks_like_name("やっぱり怖いです。")
    assert not referrals.looks_like_name("電話は090-1234-5678")
    assert not referrals.looks_like_name("")


def test_referral_buttons_are_parsed_strictly() -> None:
    assert referrals.parse_postback(referrals.postback(12, "yes")) == (12, "yes")
    assert referrals.parse_postback(referrals.postback(3, "withdraw")) == (3, "withdraw")
    assert referrals.parse_postback("tsunagu:referral?id=x&answer=yes") is None
    assert referrals.parse_postback("tsunagu:referral?id=3&answer=maybe") is None
    assert referrals.parse_postback("tsunagu:transfer?case=3&answer=yes") is None


def claimed_case(live: LiveApp) -> tuple[Resident, int, httpx.Client]:
    r, case_id = resident_with_case(live)
    sato = logged_in(live, "sato")
    sato.post(f"/console/cases/{case_id}/claim",
              data={"csrf": csrf_of(sato, f"/console/cases/{case_id}")})
    wait_for(lambda: "相談員の佐藤です" in texts(r.bot_messages()))
    return r, case_id, sato


def refer(client: httpx.Client, case_id: int, target: str,
          life_safety: str = "") -> httpx.Response:
    page = f"/console/cases/{case_id}"
    return client.post(f"{page}/referrals", data={"csrf": csrf_of(client, page),
                                                  "target": target, "life_safety": life_safety})


def referral_of(live: LiveApp, case_id: int) -> Referral:
    with live.session() as s:
        return s.scalars(select(Referral).where(Referral.case_id == case_id)
                         .order_by(Referral.id.desc())).first()  # type: ignore[return-value]


def case_of(live: LiveApp, case_id: int) -> Case:
    with live.session() as s:
        found = s.get(Case, case_id)
        assert found is not None
        return found


def sheet(client: httpx.Client, case_id: int, referral_id: int) -> httpx.Response:
    return client.get(f"/console/cases/{case_id}/referrals/{referral_id}/sheet")


def audited(live: LiveApp, case_id: int) -> list[tuple[str, str | None]]:
    with live.session() as s:
        return [(a.action, a.detail) for a in s.scalars(
            select(AuditEntry).where(AuditEntry.case_id == case_id,
                                     AuditEntry.action.like("referral%"))
            .order_by(AuditEntry.id))]


def buttons(message: dict[str, Any]) -> list[str]:
    return [i["action"]["label"] for i in (message.get("quickReply") or {}).get("items", [])]


def test_a_referral_asks_the_resident_and_the_sheet_travels_only_with_their_yes(
        live: LiveApp) -> None:
    r, case_id, sato = claimed_case(live)
    before = len(r.bot_messages())
    answer = refer(sato, case_id, "seiho:0")
    assert answer.status_code == 303 and "referral_asked" in answer.headers["location"]
    asked = wait_for(lambda: len(r.bot_messages()) >= before + 2 and r.bot_messages()[before:])
    words = texts(asked)
    # The recipient (the team's own office) and the purpose, in plain words; no is fine.
    assert "県 福祉事務所" in words and "生活保護の申請について相談する" in words
    assert "「渡さない」を選んでも" in words
    assert buttons(asked[-1]) == ["渡してよい", "渡さない"]
    referral = referral_of(live, case_id)
    assert referral.status == ReferralStatus.ASKED and referral.basis == "consent"
    assert referral.identity == {}  # nothing asked before the yes

    # No sheet before the yes: refused, and the attempt is in the audit log.
    refused = sheet(sato, case_id, referral.id)
    assert refused.status_code == 303 and "referral_no_consent" in refused.headers["location"]
    assert ("referral_sheet", f"referral {referral.id} to seiho: refused, no consent") \
        in audited(live, case_id)

    # Yes: then, and only because this office needs them, the name and the phone number.
    reply = r.tap("渡してよい")
    assert "県 福祉事務所に、ご相談のまとめをお渡しします" in texts(reply)
    assert "お名前（フルネーム）" in texts(reply) and buttons(reply[-1]) == ["いまは送らない"]
    # Words that are not a name go to the counsellor as usual; the question stays open.
    r.say("やっぱり少し怖いです。")
    assert case_of(live, case_id).identity_request == {"referral": referral.id, "field": "name"}
    reply = r.say("山田 花子")
    assert "電話番号" in texts(reply)
    assert "数字で送ってください" in texts(r.say("０９０－１２３４－５６"))
    reply = r.say("０９０－１２３４－５６７８")
    assert "消すときに、いっしょに消します" in texts(reply)
    assert buttons(reply[-1]) == ["やっぱりやめる"]
    referral = referral_of(live, case_id)
    assert referral.status == ReferralStatus.AGREED
    assert case_of(live, case_id).identity_request is None
    assert referral.identity == {"name": "山田 花子", "phone": "09012345678"}
    with live.session() as s:
        said = [m.text for m in s.scalars(select(CaseMessage).where(
            CaseMessage.case_id == case_id))]
    assert "やっぱり少し怖いです。" in said  # the counsellor reads the resident's own words
    assert not any("山田" in w or "5678" in w for w in said)  # identity: on the referral only

    # The sheet: recipient, purpose, the basis, the identity given for it; audited.
    page = sheet(sato, case_id, referral.id)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    for expected in ("県 福祉事務所", "生活保護の申請について相談する", "本人の同意：確認済み",
                     "山田 花子", "09012345678"):
        assert expected in page.text
    assert r.user_id not in page.text  # never the LINE id
    assert ("referral_sheet", f"referral {referral.id} to seiho") in audited(live, case_id)

    # Passed by hand, taken in: recorded and counted.
    page_url = f"/console/cases/{case_id}"
    token = csrf_of(sato, page_url)
    assert sato.post(f"{page_url}/referrals/{referral.id}/result",
                     data={"csrf": token, "accepted": "true"}).headers["location"].find(
        "referral_not_sent") > 0  # a result needs the sheet to have gone first
    sato.post(f"{page_url}/referrals/{referral.id}/sent", data={"csrf": token, "how": "hand"})
    sato.post(f"{page_url}/referrals/{referral.id}/result",
              data={"csrf": token, "accepted": "true"})
    referral = referral_of(live, case_id)
    assert referral.sent_how == "hand" and referral.sent_at and referral.accepted is True

    # The resident takes the yes back in the chat: no more sheet, the counsellor is told.
    reply = r.tap("やっぱりやめる")
    assert "県 福祉事務所へのお渡しを取り消しました" in texts(reply)
    assert referral_of(live, case_id).status == ReferralStatus.WITHDRAWN
    assert sheet(sato, case_id, referral.id).status_code == 303
    assert "渡した後に取り消されました" in sato.get(page_url).text
    assert "このおたずねへのお返事は、もう受け取っています" in texts(r.tap("やっぱりやめる"))


def test_a_no_keeps_the_sheet_closed_and_support_goes_on(live: LiveApp) -> None:
    r, case_id, sato = claimed_case(live)
    refer(sato, case_id, "hellowork:1")
    wait_for(lambda: "職業訓練について相談する" in texts(r.bot_messages()))
    reply = r.tap("渡さない")
    assert "お渡ししません" in texts(reply) and "このまま続けられます" in texts(reply)
    referral = referral_of(live, case_id)
    assert referral.status == ReferralStatus.DECLINED and referral.identity == {}
    assert sheet(sato, case_id, referral.id).status_code == 303
    # A second tap on the old question changes nothing.
    assert "もう受け取っています" in texts(r.tap("渡してよい"))
    assert referral_of(live, case_id).status == ReferralStatus.DECLINED
    # Asking twice while an answer is awaited is refused.
    refer(sato, case_id, "foodbank:0")
    refused = refer(sato, case_id, "foodbank:0")
    assert "referral_waiting" in refused.headers["location"]
    # A recipient that needs nothing asks nothing after the yes.
    refer(sato, case_id, "hoken:0")
    wait_for(lambda: "体や心の調子について相談する" in texts(r.bot_messages()))
    reply = r.tap("渡してよい")
    assert "お名前" not in texts(reply) and buttons(reply[-1]) == ["やっぱりやめる"]


def test_the_life_safety_basis_needs_its_reason_and_asks_nobody(live: LiveApp) -> None:
    r, case_id, sato = claimed_case(live)
    before = len(r.bot_messages())
    answer = refer(sato, case_id, "hoken:0", life_safety="本人が自殺をほのめかし、連絡が取れない")
    assert "referral_life_safety" in answer.headers["location"]
    referral = referral_of(live, case_id)
    assert referral.basis == "life_safety" and referral.status == ReferralStatus.AGREED
    page = sheet(sato, case_id, referral.id)
    assert page.status_code == 200
    assert "生命・身体の保護" in page.text and "連絡が取れない" in page.text
    assert len(r.bot_messages()) == before  # the resident was not asked
    assert any(d and "life safety" in d for a, d in audited(live, case_id) if a == "referral")


def test_withdrawing_consent_takes_back_every_referral_and_erasure_its_identity(
        live: LiveApp) -> None:
    r, case_id, sato = claimed_case(live)
    refer(sato, case_id, "foodbank:0")
    wait_for(lambda: "食料を受け取る" in texts(r.bot_messages()))
    r.tap("渡してよい")
    r.say("佐々木 一郎")
    assert referral_of(live, case_id).identity == {"name": "佐々木 一郎"}
    refer(sato, case_id, "kashitsuke:0")  # asked, not answered yet
    wait_for(lambda: "緊急小口資金" in texts(r.bot_messages()))

    r.say("同意を取り消す")
    with live.session() as s:
        statuses = {x.destination: x.status for x in s.scalars(
            select(Referral).where(Referral.case_id == case_id))}
    assert statuses == {"foodbank": ReferralStatus.WITHDRAWN,
                        "kashitsuke": ReferralStatus.WITHDRAWN}
    # The sealed case still says what was taken back (never the name given for it).
    page = sato.get(f"/console/cases/{case_id}").text
    assert 'id="sealed"' in page and page.count('data-status="withdrawn"') == 2
    assert "佐々木" not in page

    with live.session() as s, s.begin():
        conversation = s.get(type(conversation_of(live, r)), conversation_of(live, r).id)
        erase(session=s, conversation=conversation, now=utcnow())
    with live.session() as s:
        kept = list(s.scalars(select(Referral).where(Referral.case_id == case_id)))
    assert [k.identity for k in kept] == [{}, {}]  # counted still, nobody named
    assert {k.destination for k in kept} == {"foodbank", "kashitsuke"}
