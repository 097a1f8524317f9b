"""Advice for a counsellor writing in やさしい日本語 (easy Japanese) to a resident who reads
Japanese as a second language: sentences too long, too many kanji, words with an easier
alternative. Advice only: it never stops a reply from being sent.

The case page runs the same checks as the counsellor types (static/easy_japanese.js), from
`rules()`: the limits, the patterns, the words to avoid and the advice's wording are defined
here once. Pure: no file, database or network access.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

MAX_LENGTH = 30  # characters in a sentence, spaces and the closing 。 left out
MAX_KANJI_PERCENT = 30  # of a sentence's characters
MIN_LENGTH_FOR_KANJI = 10  # a shorter sentence (「お元気ですか。」) is not judged by its kanji

# Written so that Python's `re` and the browser's RegExp read them the same way.
SENTENCE = r"[^。！？!?\n]+[。！？!?]*"
ENDS = r"[。！？!?]+$"
SPACE = r"\s+"
KANJI = r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3005]"  # 々 too
KANA = r"[\u3040-\u30ff]"  # a sentence without kana is not Japanese (English, Chinese)

Kind = Literal["long", "kanji", "word"]

# The advice in the counsellor's words: (the problem, a suggestion).
WORDS: dict[Kind, tuple[str, str]] = {
    "long": ("この文は長いです（{length}字）。", "{most}字くらいまでに分けましょう。"),
    "kanji": ("漢字が多いです（{percent}%）。", "ひらがなで書けることばは、ひらがなにしましょう。"),
    "word": ("「{word}」はむずかしいことばです。", "「{easier}」などに言いかえましょう。"),
}


@dataclass(frozen=True)
class Avoid:
    """A word hard for a reader of easy Japanese, and easier words for it. `forms`: what is
    looked for when it is not the word itself (a verb's forms, keigo)."""

    word: str
    easier: str
    forms: tuple[str, ...] = ()

    def found_in(self, sentence: str) -> bool:
        return any(form in sentence for form in self.forms or (self.word,))


AVOID: tuple[Avoid, ...] = (
    Avoid("申請", "もうしこみ"),
    Avoid("至急", "すぐに"),
    Avoid("困難", "むずかしい"),
    Avoid("提出", "だす"),
    Avoid("記入", "かく"),
    Avoid("確認", "たしかめる"),
    Avoid("居住", "すむ"),
    Avoid("世帯", "いえの人"),
    Avoid("該当", "あてはまる"),
    Avoid("〜いただく", "〜てください／〜てもらう",
          ("いただき", "いただく", "いただけ", "いただい", "頂き", "頂く", "頂け", "頂い")),
    Avoid("〜くださいませ", "〜てください", ("くださいませ",)),
    Avoid("〜でございます", "です／あります", ("でございます", "がございます", "ございません")),
    Avoid("申し訳ありません", "ごめんなさい", ("申し訳", "申しわけ")),
    Avoid("恐れ入りますが", "すみませんが", ("恐れ入", "おそれいり")),
    Avoid("速やかに", "はやく", ("速やか", "すみやか")),
    Avoid("直ちに", "すぐに"),
    Avoid("可能", "できる"),
    Avoid("必要", "いる／ひつよう"),
    Avoid("検討", "かんがえる"),
    Avoid("所持", "もっている"),
    Avoid("収入", "はいる おかね"),
    Avoid("支給", "もらえる"),
    Avoid("返済", "かえす"),
    Avoid("滞納", "はらっていない"),
    Avoid("利用", "つかう"),
    Avoid("場合", "とき"),
    Avoid("窓口", "そうだんする ところ"),
    Avoid("事前に", "まえに", ("事前",)),
    Avoid("伺う", "きく／いく", ("伺",)),
    Avoid("承知しました", "わかりました", ("承知",)),
    Avoid("遠慮なく", "きにしないで", ("遠慮",)),
)


@dataclass(frozen=True)
class Advice:
    kind: Kind
    sentence: str  # as written
    problem: str  # in Japanese, for the counsellor
    suggestion: str


def sentences(text: str) -> list[str]:
    """The sentences of `text`: up to 。！？ or a line's end, trimmed, empty ones left out."""
    return [s.strip() for s in re.findall(SENTENCE, text) if s.strip()]


def _advice(kind: Kind, sentence: str, **values: object) -> Advice:
    problem, suggestion = WORDS[kind]
    return Advice(kind, sentence, problem.format(**values), suggestion.format(**values))


def check(text: str) -> list[Advice]:
    """Advice on each Japanese sentence of `text`, in order: its length, its kanji, then its
    words from AVOID."""
    found = []
    for sentence in sentences(text):
        if not re.search(KANA, sentence):
            continue
        body = re.sub(ENDS, "", re.sub(SPACE, "", sentence))
        length = len(body)
        if length > MAX_LENGTH:
            found.append(_advice("long", sentence, length=length, most=MAX_LENGTH))
        kanji = len(re.findall(KANJI, body))
        if length >= MIN_LENGTH_FOR_KANJI and kanji * 100 > MAX_KANJI_PERCENT * length:
            # Rounded half up, as the page's Math.round does.
            found.append(_advice("kanji", sentence, percent=(kanji * 200 + length) // (2 * length)))
        found += [_advice("word", sentence, word=a.word, easier=a.easier)
                  for a in AVOID if a.found_in(body)]
    return found


def rules() -> dict[str, Any]:
    """Everything the page's script needs to give the same advice, as JSON."""
    return {
        "max_length": MAX_LENGTH, "max_kanji_percent": MAX_KANJI_PERCENT,
        "min_length_for_kanji": MIN_LENGTH_FOR_KANJI,
        "patterns": {"sentence": SENTENCE, "ends": ENDS, "space": SPACE, "kanji": KANJI,
                     "kana": KANA},
        "words": {kind: list(pair) for kind, pair in WORDS.items()},
        "avoid": [{"word": a.word, "easier": a.easier, "forms": list(a.forms or (a.word,))}
                  for a in AVOID],
    }
