"""Content problems in the words of the welfare officers who edit the content.

The loader's checks speak English to developers (`state 'who': choice 'x' leads nowhere`);
the forms show each problem in Japanese at the field it concerns, the English behind a toggle.
A problem without a Japanese explanation yet still shows, as a general sentence and the
English detail: nothing is hidden.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.line import MAX_LABEL, MAX_QUICK_REPLY_ITEMS, MAX_TEXT_UTF16


@dataclass(frozen=True)
class Explained:
    japanese: str
    english: str  # the loader's own words, for a developer
    state: str | None = None  # the flow state it is about, if any
    choice: str | None = None  # the choice's value, if any
    rule: str | None = None  # the risk rule's id, if any


_STATE = re.compile(r"^state '(?P<state>[^']+)': (?P<rest>.*)$", re.S)
_CHOICE = re.compile(r"^choice '(?P<choice>[^']+)'")
_RULE = re.compile(r"^rule (?P<rule>[a-z0-9_.]+): (?P<rest>.*)$", re.S)

# (pattern of the English message, its Japanese). Named groups fill the Japanese.
_RULES: list[tuple[re.Pattern[str], str]] = [(re.compile(p, re.S), j) for p, j in [
    (r"^unreachable: ",
     "この質問には、どこからも進めなくなります（どの選択肢も、ここを「次」にしていません）。"
     "ほかの質問の選択肢の「次に進む先」にここを選ぶか、変更を取り消してください。"),
    (r"^no way out: ",
     "行き止まりです：この質問から先に進む選択肢も、文字での答えもありません。"
     "選択肢をひとつ残すか、文字で答えられるようにしてください。"),
    (r"^ask has no choices and the state takes no free text",
     "行き止まりです：選択肢がひとつもなく、文字で答えることもできません。"
     "相談者がここで止まってしまうので、選択肢をひとつ以上残してください。"),
    (r"^missing message text",
     "相談者に何も表示されません。吹き出しか質問の文を入れてください。"),
    (r"^ask has no text",
     "質問の文がありません。質問の吹き出しを入れてください。"),
    (r"^choice '(?P<choice>[^']+)': label '(?P<label>.*)' is longer than LINE's",
     f"ボタンの文字「\\g<label>」が長すぎます。LINEのボタンは{MAX_LABEL}字までです。"),
    (r"^choice '(?P<choice>[^']+)' leads nowhere",
     "この選択肢を押したあとに進む先がありません。「次に進む先」を選んでください。"),
    (r"^choice '(?P<choice>[^']+)': unknown target state '(?P<target>[^']+)'",
     "この選択肢の進む先「\\g<target>」という質問はありません。一覧から選んでください。"),
    (r"unknown target state '(?P<target>[^']+)'",
     "進む先「\\g<target>」という質問はありません。一覧から選んでください。"),
    (r"^choice value '(?P<choice>[^']+)' is used twice",
     "同じ記録の値「\\g<choice>」の選択肢が2つあります。どちらかを消してください。"),
    (r"^(?P<n>\d+) choices: LINE shows at most",
     f"選択肢が\\g<n>個あります。LINEのボタンは{MAX_QUICK_REPLY_ITEMS}個までです。"),
    (r"^(?P<n>\d+) quick replies with the global buttons",
     f"いつでも出るボタン（「人と話したい」など）と合わせて\\g<n>個になります。"
     f"LINEのボタンは{MAX_QUICK_REPLY_ITEMS}個までなので、選択肢をひとつ減らしてください。"),
    (r"a bubble has no text",
     "空の吹き出しがあります。文を入れるか、その吹き出しを消してください。"),
    (r"a bubble is longer than LINE's",
     f"吹き出しが長すぎます。LINEのメッセージは{MAX_TEXT_UTF16}字までです。"),
    (r"a lone '\{' or '\}' in the copy",
     "「{」か「}」がひとつだけあります。差し込みは {team} のように両方で囲みます。"
     "記号として見せたいときは {{ と }} と書いてください。"),
    (r"unknown placeholder \{(?P<name>[^}]*)\}",
     "「{\\g<name>}」という差し込みはありません。使える差し込みは、この画面の説明を見てください。"),
    (r"missing: the safety or consent text at \S+ (?P<source>.*)$",
     "同意や安全にかかわる文「\\g<source>」に、ほかのことば（英語・やさしい日本語など）の訳が"
     "ありません。相談者が選べるどのことばでも読めるように、訳を言語のファイルに足すまでは公開"
     "できません。すでに訳のある言い方（一覧から選べるもの）を使うこともできます。"),
    (r"^positive example '(?P<text>.*)' does not match",
     "例文「\\g<text>」は、この決まりで見つけたい言い方のはずですが、いまの決まりでは見つかりません。"
     "言葉（辞書の形）を足すか、例文を直してください。"),
    (r"^negative example '(?P<text>.*)' matches",
     "例文「\\g<text>」は、見つけてはいけない言い方のはずですが、この決まりで見つかってしまいます。"
     "言葉のすき間を狭めるか、例文を直してください。"),
    (r"^give `lemmas` or `pattern`",
     "見つける言葉がありません。言葉の並びを1行以上入れてください。"),
    (r"^id already used in",
     "同じ名前（id）の決まりがほかのファイルにもあります。別の名前にしてください。"),
    (r"^category (?P<category>\S+) is also defined in",
     "危険の種類「\\g<category>」は、ほかのファイルにもあります。別の種類の名前にしてください。"),
    (r"combination (?P<id>\S+): unknown category (?P<category>\S+)",
     "組み合わせ「\\g<id>」が、危険の種類「\\g<category>」を使っています。この種類を消すには、"
     "先に組み合わせ（リスク語彙の修飾語・組み合わせ）から外してください。"),
    (r"Input should be 'concern', 'high', 'imminent' or 'signal'",
     "危険の度合いを一覧から選んでください。"),
    (r"the standard Japanese variant \(ja\) is required",
     "日本語（標準）の文は、必ず書いてください。ほかのことばの文がないとき、相談者はこれを読みます。"),
    (r"(?P<code>[a-z_]+): 1 to (?P<n>\d+) characters",
     "文が空か、長すぎます。1〜\\g<n>字にしてください。"),
    (r"'to' must not be before 'from'",
     "休みの終わりの日は、始まりの日より後にしてください。"),
    (r"1 to (?P<n>\d+) bubbles",
     "吹き出しは1つから\\g<n>つまでにしてください。"),
    (r"each bubble needs 1 to (?P<n>\d+) characters",
     "空の吹き出しか、長すぎる吹き出しがあります。どの吹き出しも1〜\\g<n>字にしてください。"),
    (r"an offer needs offer_yes and offer_no",
     "「はい」「いいえ」のボタンの訳が片方しかありません。両方を書いてください。"),
    (r"translated twice: (?P<what>.*)",
     "同じ日本語の訳が2つあります（\\g<what>）。どちらかを消してください。"),
    (r"is already in the danger '(?P<danger>[^']+)'",
     "この危険の種類は、すでに「\\g<danger>」の組に入っています。危険の種類は1つの組にだけ入れます。"),
    (r"unknown number '(?P<number>[^']+)'",
     "「\\g<number>」という緊急の連絡先はありません。一覧にある番号から選んでください。"),
    (r"no number has `general: true`",
     "「緊急」ボタンで出す番号がひとつもありません。緊急の連絡先で、少なくとも1つに"
     "「「緊急」ボタンでも出す」をつけてください。"),
    (r"give its `team`, or the `office`",
     "この市町村の担当チームを選ぶか、担当する役場の窓口の名前を書いてください。"),
    (r"no danger '(?P<danger>[^']+)' in",
     "危険の組「\\g<danger>」がありません。緊急の連絡先の危険の組を確かめてください。"),
    (r"(?P<code>[a-z_]+): a lone '\{' or '\}'",
     "「{」か「}」がひとつだけあります。差し込みは {name} のように両方で囲みます。"),
    (r"a tile either posts back",
     "リッチメニューのボタンは、「押すと合図を送る」か「押すと言葉を送る」のどちらか一方にしてください。"),
    (r"Input should be a valid integer",
     "数字（整数）を入れてください。"),
    (r"Input should be less than or equal to (?P<n>\d+)",
     "\\g<n>以下の数にしてください。"),
    (r"Input should be a valid number|Input should be greater than 0",
     "0より大きい数を入れてください。"),
    (r"List should have at least 1 item",
     "ひとつ以上選んでください。"),
    (r"String should have at least 1 character|Field required",
     "空にはできません。入力してください。"),
    (r"String should have at most (?P<n>\d+) characters",
     "長すぎます。\\g<n>字までにしてください。"),
    (r"String should match pattern '\^https://'",
     "ページのアドレス（URL）は、https:// で始まるものだけが使えます。"),
    (r"String should match pattern",
     "使えない文字があります（半角の英小文字・数字・_ だけが使えます）。"),
    (r"close must be after open",
     "終わりの時刻は、始まりの時刻より後にしてください。"),
    (r"routing (?P<key>\S+): unknown programme (?P<programme>[^;\s]+)",
     "制度「\\g<programme>」が、困りごとごとの案内（\\g<key>）でまだ使われています。"
     "先に、案内の表でその制度のチェックを外してください。"),
    (r"a purpose is 1 to 60 characters",
     "何のためにつなぐか（目的）は、1行に1つ、60字までで書いてください。"),
    (r"unknown team '?(?P<team>[^'\s;]+)",
     "「\\g<team>」というチームはありません。一覧から選んでください。"),
    (r"unknown area",
     "その地域はありません。一覧から選んでください。"),
    (r"give its area",
     "地域を選んでください（地域が決めてあるときは、どの市町村もどこかの地域に入ります）。"),
    (r"municipality names twice: (?P<names>.*)",
     "同じ名前の市町村（\\g<names>）が2つあります。"),
    (r"no number for the risk category '[^']+' \((?P<label>[^)]*)\)",
     "危険の種類「\\g<label>」のときに案内する緊急の連絡先がありません。ひとつ以上選んでください。"),
    (r"unknown risk category|no number for the risk category",
     "危険の種類と電話番号の組み合わせに問題があります。"
     "どの危険の種類にも、案内する番号がひとつ以上いります。"),
    (r"is used by another|ids twice",
     "同じ名前（id）がほかにもあります。別の名前にしてください。"),
    (r"is not a phone number",
     "電話番号として読めません。119、#8008、0120-279-338 のように、"
     "電話をかけるときの形で書いてください。"),
]]

GENERAL = "この変更には問題があります（詳しくは「開発者向けの説明」を見てください）。"


def explain(message: str) -> Explained:
    state = choice = rule = None
    rest = message
    found = _STATE.match(message) or _RULE.match(message)
    if found:
        rest = found["rest"]
        state, rule = (found["state"], None) if "state" in found.groupdict() else \
            (None, found["rule"])
    chosen = _CHOICE.match(rest)
    if chosen:
        choice = chosen["choice"]
    for pattern, japanese in _RULES:
        match = pattern.search(rest)
        if match:
            return Explained(match.expand(japanese), message, state, choice, rule)
    return Explained(GENERAL, message, state, choice, rule)
