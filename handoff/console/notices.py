"""What the console may say in its alert and status boxes after an action.

A redirect names a notice by code (and, for some, numbers such as a release id); the page shows
only texts from this table. A link someone else crafted therefore cannot put words of their
choosing in a counsellor's red alert box.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

ERROR, OK = "error", "ok"

NOTICES: dict[str, tuple[str, str]] = {
    # A case
    "claimed": (ERROR, "この相談は、ほかの相談員が先に担当しました。"),
    "at_capacity": (ERROR, "いま担当できる数（主任が決めた数）まで相談を担当しています。"
                           "差し迫った危険のある相談だけは、いつでも担当できます。"),
    "queue_empty": (OK, "いま担当できる待っている相談はありません。"),
    "whisper_unclaimed": (ERROR, "主任からのメモは、担当者がいる相談にだけ残せます。"
                                 "ふつうのメモを使ってください。"),
    "capacity_range": (ERROR, "担当できる数は1〜20で入れてください（空にすると制限なし）。"),
    "capacity_saved": (OK, "担当できる数を変えました。"),
    "not_holder": (ERROR, "この相談を担当していないため、この操作はできません。"),
    "empty_reply": (ERROR, "返信が空です。"),
    "reply_too_long": (ERROR, "返信は{0}文字までです。"),
    "referred_needs_detail": (ERROR, "つないだ先を入力してください。"),
    "empty_note": (ERROR, "メモが空です。"),
    "colleague_inactive": (ERROR, "引き継ぎ先のアカウントは使われていません。"),
    "transfer_target": (ERROR, "引き継ぎ先を選んでください。"),
    "transfer_waiting": (ERROR, "相談者への確認を待っている引き継ぎがあります。"),
    "transfer_asked": (OK, "別の窓口への引き継ぎについて、相談者に確認をお願いしました。"
                           "「はい」の返事があると引き継がれます。"),
    "transfer_reason": (ERROR, "生命を守るための引き継ぎには、理由を書いてください。"),
    "followup_when": (ERROR, "日時を入力してください。"),
    "followup_future": (ERROR, "これからの日時と文面を入力してください。"),
    "followups_forbidden": (ERROR, "この相談はフォローアップを送らない設定です。"),
    "no_consent": (ERROR, "相談者が同意を取り消したため、この操作はできません。"),
    "review_sent": (OK, "判定の見直しを管理者に知らせました。"),
    "review_level": (ERROR, "レベルを選んでください。"),
    "review_same": (ERROR, "いまの判定と同じレベルです。"),
    "break_glass_reason": (ERROR, "理由を{0}文字以上で書いてください"
                                  "（担当チームと操作記録に残ります）。"),
    "break_glass_closed": (ERROR, "終了した相談は、緊急時の閲覧の対象ではありません。"),
    "break_glass_open": (OK, "緊急時の閲覧として開きました。"
                             "担当チームにも理由とともに表示されます。"),
    "emergency_action": (ERROR, "したことを選んでください。"),
    "emergency_recorded": (OK, "緊急対応の記録に残しました。"),
    # How the resident came (相談経路, handoff/sources.py)
    "source_unknown": (ERROR, "相談経路は一覧から選んでください。"),
    "source_saved": (OK, "相談経路を記録しました。"),
    # Support after the first reply (handoff/support.py)
    "plan_is_support": (ERROR, "継続して支援するときは、相談を終了せずに「支援計画」で計画を"
                               "立ててください。"),
    "plan_needs_goals": (ERROR, "計画の目標を、相談者の言葉で書いてください。"),
    "plan_months": (ERROR, "モニタリングの間隔は{0}〜{1}か月で選んでください。"),
    "plan_exists": (ERROR, "この相談には、すでに進行中の支援計画があります。"
                           "見直すときはモニタリングで「計画を見直す」を選んでください。"),
    "support_date": (ERROR, "日付を入力してください。"),
    "no_plan": (ERROR, "この相談には、進行中の支援計画がありません。"),
    "monitoring_needs_summary": (ERROR, "モニタリングの内容を書いてください。"),
    "meeting_needs_decision": (ERROR, "会議で決まったことを書いてください。"),
    "meeting_roles": (ERROR, "参加した機関・役割を選んでください。"),
    "support_started": (OK, "支援計画を記録しました。相談者に、支援が始まることと次の目安を"
                            "伝えました。"),
    "monitoring_recorded": (OK, "モニタリングを記録しました。"),
    "meeting_recorded": (OK, "支援調整会議を記録しました。"),
    "results_unknown": (ERROR, "支援の成果は、一覧から選んでください。"),
    "results_recorded": (OK, "支援の成果を記録しました。"),
    # つなぐ: referrals out (handoff/referrals.py)
    "referral_target": (ERROR, "つなぐ先と目的を選んでください。"),
    "referral_waiting": (ERROR, "このつなぐ先には、相談者の返事を待っているおたずねがあります。"),
    "referral_cannot_ask": (ERROR, "相談者にLINEでたずねられないため（同意の取り消し・ブロック）、"
                                   "つなぐことはできません。生命を守るための例外のときは理由を"
                                   "書いてください。"),
    "referral_unknown": (ERROR, "このつなぎの記録が見つかりません。"),
    "referral_no_consent": (ERROR, "相談者の同意（または生命を守るための例外）がないため、"
                                   "つなぐシートは渡せません。"),
    "referral_how": (ERROR, "渡した方法を選んでください。"),
    "referral_not_sent": (ERROR, "先に、シートを渡したことを記録してください。"),
    "referral_not_standing": (ERROR, "このつなぎは、すでに断られたか取り消されています。"),
    "referral_asked": (OK, "相談者に、つなぐ先と目的をLINEでたずねました。返事はこの画面に"
                           "表示されます。"),
    "referral_life_safety": (OK, "生命を守るための例外として記録しました。つなぐシートを"
                                 "渡せます（操作記録に残ります）。"),
    "referral_recorded": (OK, "つなぎの記録を更新しました。"),
    # Risk reviews
    "review_done": (ERROR, "この見直しは、すでに対応済みです。"),
    "paraphrase_missing": (ERROR, "言い換えた文を入力してください。"),
    "review_file_missing": (ERROR, "例文のファイル（risk/corpus/review.yaml）がありません。"),
    "paraphrase_added": (OK, "言い換えを下書きのコーパスに加えました。"
                             "公開すると、モデルが学び直します。"),
    "review_dismissed": (OK, "見直し不要として閉じました。"),
    # Content administration
    "publish_reason": (ERROR, "公開の理由を書いてください。"),
    "nothing_to_publish": (ERROR, "公開する下書きがありません。"),
    "draft_problems": (ERROR, "下書きに問題があるため公開できません。"
                              "各ファイルの指摘を直してください。"),
    "stale_draft": (ERROR, "この下書きを始めた後に、別の公開がありました。"
                           "下書きを破棄して、いまの公開内容から編集し直してください。"),
    "published": (OK, "#{0} を公開しました。新しい会話から使われます。"),
    "discarded": (OK, "下書きを破棄しました。"),
    "rollback_reason": (ERROR, "戻す理由を書いてください。"),
    "rollback_unusable": (ERROR, "#{0} はいまの仕組みでは使えないため戻せません。"),
    "rolled_back": (OK, "#{0} の内容を #{1} として公開しました。"),
}


@dataclass(frozen=True)
class Notice:
    kind: str  # error | ok
    text: str


def refused(error: Exception) -> tuple[str, tuple[int, ...]]:
    """The code and numbers of a refusal raised by the case work (its first argument is the
    code, the rest numbers)."""
    code, *numbers = error.args or ("",)
    return (str(code), tuple(int(n) for n in numbers)) if code in NOTICES else ("not_holder", ())


def refusal_url(path: str, error: Exception) -> str:
    code, numbers = refused(error)
    return url(path, code, *numbers)


def url(path: str, code: str, *numbers: int) -> str:
    """`path` with the notice in its query."""
    assert code in NOTICES, code
    query = {"notice": code, **({"n": ",".join(str(int(n)) for n in numbers)} if numbers else {})}
    return f"{path}?{urlencode(query)}"


def from_query(query: Mapping[str, str]) -> Notice | None:
    """The notice a page was redirected with; None for an unknown code or odd numbers."""
    found = NOTICES.get(query.get("notice") or "")
    if found is None:
        return None
    numbers = [n for n in (query.get("n") or "").split(",") if n]
    if not all(n.isdigit() and len(n) <= 12 for n in numbers):
        return None
    kind, template = found
    try:
        return Notice(kind, template.format(*numbers))
    except IndexError:  # fewer numbers than the text needs
        return None
