"""The password rule: long enough and hard to guess, judged by zxcvbn, explained in Japanese.

zxcvbn estimates how many guesses a password takes (dictionaries, common passwords, names,
keyboard patterns, repeats, sequences, dates, the account's own name) and scores it 0–4. We ask
for 3 ("safely unguessable") and at least MIN_LENGTH characters. Its feedback is English; each
of its fixed sentences is given here in Japanese.
"""

from __future__ import annotations

from collections.abc import Iterable

from zxcvbn import zxcvbn

MIN_LENGTH = 12
MIN_SCORE = 3
# zxcvbn's cost grows quickly with length; a longer password is judged on its first part
# (which can only underestimate it).
JUDGED_LENGTH = 100
PRODUCT_WORDS = ["tsunagu", "つなぐ", "console", "counsellor", "soudan", "相談"]

JAPANESE = {
    "Use a few words, avoid common phrases.":
        "いくつかの単語を組み合わせ、よく使われる言い回しは避けてください。",
    "No need for symbols, digits, or uppercase letters.":
        "記号・数字・大文字を無理に入れる必要はありません。",
    "Add another word or two. Uncommon words are better.":
        "単語をもう 1〜2 語足してください。あまり使われない言葉ほど安全です。",
    "Straight rows of keys are easy to guess.": "キーボードの横一列の並びは推測されやすいです。",
    "Short keyboard patterns are easy to guess.": "短いキーボードの並びは推測されやすいです。",
    "Use a longer keyboard pattern with more turns.":
        "キーボードの並びを使うなら、もっと長く、曲がり角の多いものにしてください。",
    'Repeats like "aaa" are easy to guess.': "「aaa」のような繰り返しは推測されやすいです。",
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".':
        "「abcabcabc」のような繰り返しは「abc」とほとんど変わらず推測されやすいです。",
    "Avoid repeated words and characters.": "同じ単語や文字の繰り返しは避けてください。",
    'Sequences like "abc" or "6543" are easy to guess.':
        "「abc」や「6543」のような連続した並びは推測されやすいです。",
    "Avoid sequences.": "連続した並びは避けてください。",
    "Recent years are easy to guess.": "最近の年は推測されやすいです。",
    "Avoid recent years.": "最近の年は避けてください。",
    "Avoid years that are associated with you.": "ご自身に関係のある年は避けてください。",
    "Dates are often easy to guess.": "日付は推測されやすいことが多いです。",
    "Avoid dates and years that are associated with you.":
        "ご自身に関係のある日付や年は避けてください。",
    "This is a top-10 common password.": "非常によく使われるパスワード（上位 10 位以内）です。",
    "This is a top-100 common password.": "非常によく使われるパスワード（上位 100 位以内）です。",
    "This is a very common password.": "とてもよく使われるパスワードです。",
    "This is similar to a commonly used password.": "よく使われるパスワードに似ています。",
    "A word by itself is easy to guess.": "単語ひとつだけでは推測されやすいです。",
    "Names and surnames by themselves are easy to guess.":
        "名前や名字だけでは推測されやすいです。",
    "Common names and surnames are easy to guess.": "よくある名前や名字は推測されやすいです。",
    "Capitalization doesn't help very much.": "大文字にしても、あまり強くなりません。",
    "All-uppercase is almost as easy to guess as all-lowercase.":
        "すべて大文字にしても、すべて小文字とほとんど変わりません。",
    "Reversed words aren't much harder to guess.": "単語を逆さにしても、あまり強くなりません。",
    "Predictable substitutions like '@' instead of 'a' don't help very much.":
        "「a」の代わりに「@」のような、よくある置き換えはあまり役に立ちません。",
}
GENERIC = ("推測されにくい、長めのパスワードにしてください"
           "（いくつかの単語を組み合わせるのがおすすめです）。")


def _japanese(sentence: str) -> str:
    return JAPANESE.get(sentence, GENERIC)


def problems(password: str, *, user_inputs: Iterable[str | None] = ()) -> list[str]:
    """Why this password may not be used, in Japanese; empty when it may. `user_inputs` are
    words a guesser would try first (the login name, the display name)."""
    if len(password) < MIN_LENGTH:
        return [f"パスワードは {MIN_LENGTH} 文字以上にしてください"
                f"（いまは {len(password)} 文字です）。"]
    words = [w for w in (*user_inputs, *PRODUCT_WORDS) if w]
    judged = zxcvbn(password[:JUDGED_LENGTH], user_inputs=words)
    if judged["score"] >= MIN_SCORE:
        return []
    feedback = judged["feedback"]
    found = [_japanese(s) for s in [feedback.get("warning") or "", *feedback["suggestions"]] if s]
    said = list(dict.fromkeys(found or [GENERIC]))
    return ["このパスワードは推測されやすいため使えません。", *said]
