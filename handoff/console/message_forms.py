"""The words the bot sends outside the intake's questions (content/messages.yaml) in a form:
grouped by when a resident reads them, each bubble with LINE's limit counted and, behind a
toggle, its words in every other language. A section is saved at once, checked first (the
placeholders, the limits, and the safety texts' translations, without which they cannot be
published); the rich menu stays in the YAML view."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from bot.content.explain import Explained
from bot.content.languages import Translator
from bot.content.yamledit import YamlDocument
from bot.line import MAX_LABEL, MAX_TEXT_UTF16
from handoff.console.form_saving import (
    draft_files,
    draft_languages,
    form_page,
    table_edit,
    translations_added,
)
from handoff.console.security import Admin, CsrfChecked
from handoff.models import Counsellor

router = APIRouter(prefix="/console/admin", include_in_schema=False)

MESSAGES = "messages.yaml"
WHERE = "/console/admin/messages/"
# (section id, its title, the keys in it, in the order a resident meets them).
SECTIONS: list[tuple[str, str, list[str]]] = [
    ("risk", "危ないことばが届いたとき", [
        "risk_imminent", "risk_imminent_by_danger", "risk_high", "risk_high_by_danger",
        "risk_unsure", "risk_unsure_call"]),
    ("wait", "相談員を待っているあいだ", [
        "wait_place", "wait_next", "wait_range", "wait_soon", "wait_long", "wait_keep_writing",
        "wait_update", "wait_claimed", "wait_nobody"]),
    ("net", "今日・今夜のこと（待つあいだの案内）", [
        "net_needs", "net_call", "net_callback", "net_callback_label", "net_callback_asked",
        "net_self_help", "net_keep_writing"]),
    ("counsellor", "相談員とのやりとり", [
        "counsellor_joined", "contact_notice", "contact_notice_show", "support_started",
        "support_closed", "case_closed", "returned_to_bot"]),
    ("transfer", "相談の窓口を移すとき", [
        "transfer_ask", "transfer_yes_label", "transfer_no_label", "transfer_done",
        "transfer_kept", "transfer_over"]),
    ("referral", "ほかの機関へつなぐとき", [
        "referral_ask", "referral_yes_label", "referral_no_label", "referral_agreed",
        "referral_withdraw_label", "referral_declined", "referral_withdrawn", "referral_over"]),
    ("identity", "名前と電話番号をたずねるとき（同意のあと）", [
        "identity_ask_name", "identity_ask_phone", "identity_phone_again",
        "identity_skip_label", "identity_thanks", "identity_skipped"]),
    ("other", "そのほか", ["language_chosen", "group_notice", "trouble"]),
]
LABELS = {
    "risk_imminent": "いま命が危ないとき（危険の種類に文がないとき）",
    "risk_imminent_by_danger": "いま命が危ないとき（危険の種類ごと）",
    "risk_high": "危険が高いとき（危険の種類に文がないとき）",
    "risk_high_by_danger": "危険が高いとき（危険の種類ごと）",
    "risk_unsure": "危ないかどうか判断に迷うとき",
    "risk_unsure_call": "判断に迷うときの電話の案内",
    "wait_place": "待っている順番", "wait_next": "次の番のとき",
    "wait_range": "お返事までの見込み（幅）", "wait_soon": "お返事までの見込み（長くても）",
    "wait_long": "混み合っているとき", "wait_keep_writing": "待つあいだも書けること",
    "wait_update": "順番のお知らせの見出し", "wait_claimed": "相談員が読みはじめたとき",
    "wait_nobody": "相談員がみな席を外しているとき",
    "net_needs": "今日・今夜のことの前置き", "net_call": "電話の案内",
    "net_callback": "折り返しの電話の案内", "net_callback_label": "折り返しを頼むボタン",
    "net_callback_asked": "折り返しを頼んだあと", "net_self_help": "ひとりで見られる情報の前置き",
    "net_keep_writing": "いつでも書けること",
    "counsellor_joined": "相談員がつながったとき", "contact_notice": "お知らせがあるとき",
    "contact_notice_show": "お知らせを見るボタン", "support_started": "支援が始まったとき",
    "support_closed": "支援が終わったとき", "case_closed": "相談が終わったとき",
    "returned_to_bot": "自動の案内に戻ったとき",
    "transfer_ask": "窓口を移してよいかたずねる", "transfer_yes_label": "移してよいボタン",
    "transfer_no_label": "移さないボタン", "transfer_done": "移したあと",
    "transfer_kept": "移さなかったとき", "transfer_over": "たずねた件が終わったとき",
    "referral_ask": "つなぐシートを渡してよいかたずねる", "referral_yes_label": "渡してよいボタン",
    "referral_no_label": "渡さないボタン", "referral_agreed": "渡してよいと答えたあと",
    "referral_withdraw_label": "取り消すボタン", "referral_declined": "渡さないと答えたあと",
    "referral_withdrawn": "取り消したあと", "referral_over": "たずねた件が終わったとき",
    "identity_ask_name": "名前をたずねる", "identity_ask_phone": "電話番号をたずねる",
    "identity_phone_again": "電話番号が読めなかったとき", "identity_skip_label": "送らないボタン",
    "identity_thanks": "教えてくれたあと", "identity_skipped": "送らなかったとき",
    "language_chosen": "ことばを選んだあと", "group_notice": "グループに招かれたとき",
    "trouble": "うまく受け取れなかったとき（あやまる）",
}


def _units(data: dict[str, Any], keys: list[str]) -> list[dict[str, Any]]:
    """The section's texts as fields: (path, label, words, is a button label)."""
    out = []
    for key in keys:
        value = data.get(key)
        groups = value.items() if isinstance(value, dict) else [(None, value)]
        for sub, texts in groups:
            label = LABELS.get(key, key) + (f"：{sub}" if sub else "")
            bubbles = [texts] if isinstance(texts, str) else list(texts or [])
            for i, words in enumerate(bubbles):
                path = ".".join(p for p in (key, sub, str(i) if not isinstance(texts, str)
                                                   else None) if p)
                out.append({"path": path, "label": label, "words": str(words),
                            "bubble": i + 1 if len(bubbles) > 1 else None,
                            "button": key.endswith("_label") or key == "contact_notice_show"})
    return out


def _page_of(request: Request, me: Counsellor, problems: list[Explained] | None = None,
             status_code: int = 200, kept: dict[str, str] | None = None) -> HTMLResponse:
    files = draft_files(request, me)
    data = YamlDocument(files[MESSAGES]).plain()
    packs = draft_languages(request, files)
    translators = {code: (pack.name_ja, Translator(pack)) for code, pack in packs.items()}
    sections = [(section, title, _units(data, keys)) for section, title, keys in SECTIONS]
    return form_page(request, me, "admin_messages.html", MESSAGES, problems, status_code, kept,
                     sections=sections, translators=translators, max_text=MAX_TEXT_UTF16,
                     max_label=MAX_LABEL, opened=request.query_params.get("open", ""))


@router.get("/messages/")
def messages(request: Request, me: Admin) -> HTMLResponse:
    return _page_of(request, me)


def _path(path: str) -> tuple[str | int, ...]:
    return tuple(int(p) if p.isdigit() else p for p in path.split("."))


@router.post("/messages/{section}", dependencies=[CsrfChecked])
async def save_section(request: Request, section: str, me: Admin) -> Response:
    keys = next((keys for name, _, keys in SECTIONS if name == section), None)
    if keys is None:
        raise HTTPException(status_code=404)

    def edit(doc: YamlDocument, form: FormData) -> dict[str, str]:
        changed: dict[str, str] = {}
        for unit in _units(doc.plain(), keys):
            typed = form.get(f"t:{unit['path']}")
            if typed is None:
                continue
            words = "\n".join(line.rstrip() for line in str(typed).replace("\r\n", "\n")
                              .strip().split("\n"))
            if words != unit["words"]:
                doc.set(_path(unit["path"]), words)
                changed[unit["path"]] = words
        # The new words' translations, typed beside them, go into the language files.
        return translations_added(request, me, form, changed)

    return await table_edit(request, me, MESSAGES, f"{WHERE}?open={section}#{section}",
                            _page_of, edit)
