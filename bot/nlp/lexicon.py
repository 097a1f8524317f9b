"""The risk lexicon in `content/risk/*.yaml`: categories, rules and modifiers, validated on load.

Every rule carries positive and negative examples; loading runs the analyser on them and
refuses a lexicon whose rules do not behave as their own examples say.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.content.files import ContentError
from bot.nlp.patterns import PatternError, compile_pattern

MODIFIERS_FILE = "modifiers.yaml"


class LexiconError(ContentError):
    """A lexicon that cannot be served; the message names file, rule and problem."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Examples(Strict):
    positive: list[str] = Field(min_length=1)
    negative: list[str] = Field(min_length=1)


class Rule(Strict):
    id: str = Field(pattern=r"^[a-z0-9_.]+$")
    # `signal` marks a category for combinations (e.g. "tonight") without a level of its own.
    level: Literal["concern", "high", "imminent", "signal"]
    lemmas: list[list[str]] = Field(default_factory=list)  # per position: alternatives
    gap: int = Field(default=0, ge=0, le=5)  # tokens allowed between positions
    pattern: str | None = None  # RE2 regex on the normalised text, katakana folded to hiragana
    # A match of `pattern` inside a match of `unless` does not count (虐待 unless 虐待防止):
    # RE2 has no look-arounds, which is what keeps matching linear in the text.
    unless: str | None = None
    # Override the category's third_party / past for this rule: a person in danger this minute
    # (呼んでも起きない, 柵を越えようとしている) is no less urgent for being someone else.
    third_party: Literal["lower", "keep"] | None = None
    past: Literal["lower", "keep"] | None = None
    examples: Examples

    @field_validator("lemmas", mode="before")
    @classmethod
    def _alternatives(cls, value: object) -> object:
        # Allow `[死ぬ, たい]` for `[[死ぬ], [たい]]`.
        if isinstance(value, list):
            return [v if isinstance(v, list) else [v] for v in value]
        return value

    @field_validator("pattern", "unless")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                compile_pattern(value)
            except PatternError as e:
                raise ValueError(str(e)) from e
        return value


class Category(Strict):
    category: str = Field(pattern=r"^[a-z_]+$")
    label: str
    # Someone else's words or a past state: lower the level one step, or keep it (abuse of a
    # child is usually reported by someone else, and is no less serious for it).
    third_party: Literal["lower", "keep"] = "lower"
    past: Literal["lower", "keep"] = "lower"
    rules: list[Rule] = Field(min_length=1)


class Combination(Strict):
    id: str
    all: list[str] = Field(min_length=2)  # categories that together raise the level
    level: Literal["high", "imminent"]


class Modifiers(Strict):
    negators: list[str]  # lemmas that negate what precedes (ない, ぬ, ず)
    negation_fillers: list[str]  # lemmas that may stand between a phrase and its negator
    idioms: list[list[str]]  # lemma sequences that are not risk (死ぬ + ほど)
    third_party_nouns: list[str]
    third_party_markers: list[str]  # particles after such a noun that make it the subject
    reporting_verbs: list[str]  # 言う, 話す: "X と言っている" is someone's words
    past_markers: list[str]
    # Nouns that frame a phrase as something seen or read (ドラマでDVのシーン, 『死にたい夜』って
    # 小説): such a phrase is about a story, not the resident.
    media_nouns: list[str] = Field(default_factory=list)
    combinations: list[Combination]


class Lexicon(BaseModel):
    categories: list[Category]
    modifiers: Modifiers
    version: str
    files: dict[str, str]  # category -> file name, for messages

    def category(self, name: str) -> Category:
        return next(c for c in self.categories if c.category == name)


# Lexicons already checked, by the digest of their files: every process, test app and draft
# preview loads the same few, and running every rule's examples takes most of a second.
