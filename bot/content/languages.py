"""The shape of a language file (`content/languages/<code>.yaml`): every resident-facing text of
content in one more language, keyed by the standard Japanese it renders.

Keyed by the Japanese rather than by where it stands, so that a text used in several places is
translated once, an older flow version still finds its words, and an edit of the Japanese makes
its translation visibly missing (reported by validation) instead of silently stale. Pure.
"""

from __future__ import annotations

from string import Formatter
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

JAPANESE = "ja"  # the source: content/*.yaml are written in it


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Entry(Strict):
    """One text: the standard Japanese, its variant and, from the second pass, the variant
    translated back into Japanese by someone who did not see the source."""

    ja: str = Field(min_length=1)
    text: str = Field(min_length=1)
    back: str | None = None

    @model_validator(mode="after")
    def _same_placeholders(self) -> Entry:
        if placeholders(self.ja) != placeholders(self.text):
            raise ValueError(
                f"the variant must keep the placeholders of the Japanese "
                f"({', '.join(sorted(placeholders(self.ja))) or 'none'}): {self.text[:60]}")
        return self


Review = Literal[
    "draft",  # written, not yet checked
    "back_translated",  # checked by a blind back-translation; a native speaker has not reviewed
    "reviewed",  # a native speaker who knows the field has reviewed every text
]


class LanguagePack(Strict):
    code: str = Field(pattern=r"^[a-z]{2,3}(_[a-z]{2,8})?$")  # en, vi, zh_hans, ja_easy
    name: str = Field(min_length=1, max_length=20)  # in the language itself: the choice's label
    name_ja: str = Field(min_length=1, max_length=20)  # for counsellors: 英語, やさしい日本語
    review: Review
    review_note: str | None = None  # who checked what, and what a reviewer should look at
    # Words that mark a message as written in this language (lower case, whole words), for
    # offering the switch to a resident who writes in it (bot/flows/language.py).
    detect: list[str] = Field(default_factory=list)
    # The offer, in this language, to a resident whose first message is in it.
    offer: str | None = Field(default=None, max_length=300)
    offer_yes: str | None = Field(default=None, max_length=20)  # a quick-reply label
    offer_no: str | None = Field(default=None, max_length=20)
    # Extra words for the flow's global commands, by global id (whole message / contained).
    keywords: dict[str, list[str]] = Field(default_factory=dict)
    contains: dict[str, list[str]] = Field(default_factory=dict)
    texts: list[Entry] = Field(default_factory=list)

    @field_validator("texts")
    @classmethod
    def _once(cls, value: list[Entry]) -> list[Entry]:
        seen: set[str] = set()
        twice = [e.ja[:40] for e in value if e.ja in seen or seen.add(e.ja)]  # type: ignore[func-returns-value]
        if twice:
            raise ValueError(f"translated twice: {'; '.join(twice)}")
        return value

    @model_validator(mode="after")
    def _offer_complete(self) -> LanguagePack:
        if self.offer is not None and (self.offer_yes is None or self.offer_no is None):
            raise ValueError("an offer needs offer_yes and offer_no")
        return self

    def table(self) -> dict[str, str]:
        return {e.ja: e.text for e in self.texts}


def placeholders(text: str) -> set[str]:
    try:
        return {name for _, name, _, _ in Formatter().parse(text) if name}
    except ValueError:
        return {"{"}  # a lone brace: never equal to a well-formed text's set


class Translator:
    """Standard Japanese in, the resident's language out; a text with no variant stays in
    Japanese (validation reports it), which is better than no words at all."""

    def __init__(self, pack: LanguagePack | None = None) -> None:
        self.pack = pack
        self.code = pack.code if pack else JAPANESE
        self._table = pack.table() if pack else {}

    def __call__(self, ja: str) -> str:
        return self._table.get(ja, ja)

    def has(self, ja: str) -> bool:
        return self.pack is None or ja in self._table


IDENTITY = Translator()
