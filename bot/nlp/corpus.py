"""The labelled corpus in `content/risk/corpus/*.yaml`: one file per writer, each message
labelled blind by two people and adjudicated. It trains the model and measures it, always by
writer: a figure never comes from a writer the model learnt from."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.content.files import ContentError, Problem, validated
from bot.nlp.levels import Level

CORPUS_DIR = "corpus"
LevelName = Literal["imminent", "high", "concern", "none"]


class CorpusError(ContentError):
    pass


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9]+-[0-9]{4,}$")
    text: str | None = Field(default=None, min_length=1, max_length=5000)
    bubbles: list[str] | None = Field(default=None, min_length=2, max_length=6)
    level: LevelName  # adjudicated
    labels: list[LevelName] = Field(min_length=1)  # each labeller's, blind to the others
    lang: Literal["ja", "ja-easy", "en", "romaji"] = "ja"
    kind: str = ""

    @model_validator(mode="after")
    def _one_text(self) -> Entry:
        if (self.text is None) == (self.bubbles is None):
            raise ValueError("give `text` or `bubbles`, not both")
        return self


class WriterFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    writer: str = Field(pattern=r"^[a-z0-9]+$")
    persona: str
    messages: list[Entry] = Field(default_factory=list)


@dataclass(frozen=True)
class Example:
    id: str
    writer: str
    bubbles: tuple[str, ...]
    level: Level
    labels: tuple[Level, ...]
    lang: str

    @property
    def text(self) -> str:
        """The bubbles as the model reads a window of them: one line each."""
        return "\n".join(self.bubbles)


@dataclass(frozen=True)
class Corpus:
    examples: tuple[Example, ...]
    digest: str

    @property
    def writers(self) -> list[str]:
        return sorted({e.writer for e in self.examples})

    def counts(self) -> Counter[str]:
        return Counter(e.level.label for e in self.examples)


# Corpora already read, by digest: parsing thousands of entries takes a second, and every
# process, test app and draft preview reads the same one.
_read: dict[str, Corpus] = {}


def load_corpus(directory: Path) -> Corpus:
    """`directory/*.yaml` (the corpus folder); an empty or missing folder is an empty corpus."""
    paths = sorted(directory.glob("*.yaml")) if directory.is_dir() else []
    raw = {path: path.read_bytes() for path in paths}
    digest = hashlib.sha256(b"corpus\0")
    for path in paths:
        digest.update(path.name.encode() + b"\0" + raw[path])
    key = digest.hexdigest()[:16]
    if key in _read:
        return _read[key]
    corpus = _parse(raw, key)
    if len(_read) > 8:
        _read.clear()
    _read[key] = corpus
    return corpus


def _parse(raw: dict[Path, bytes], key: str) -> Corpus:
    examples: list[Example] = []
    seen: dict[str, str] = {}
    for path in raw:
        data = validated(WriterFile, path, CorpusError)
        for m in data.messages:
            if m.id in seen:
                raise CorpusError(Problem(str(path), f"message {m.id} is also in {seen[m.id]}",
                                           at=("messages",), find=("id", m.id)))
            seen[m.id] = path.name
            bubbles = tuple(m.bubbles) if m.bubbles is not None else (m.text or "",)
            examples.append(Example(m.id, data.writer, bubbles, Level.parse(m.level),
                                    tuple(Level.parse(x) for x in m.labels), m.lang))
    return Corpus(tuple(examples), key)


def agreement(examples: Iterable[Example]) -> dict[str, float]:
    """How far two blind labellers agreed: raw agreement and Cohen's kappa on the first two
    labels, and how often they were within one level."""
    pairs = [(e.labels[0], e.labels[1]) for e in examples if len(e.labels) >= 2]
    if not pairs:
        return {"pairs": 0}
    n = len(pairs)
    observed = sum(a == b for a, b in pairs) / n
    first = Counter(a for a, _ in pairs)
    second = Counter(b for _, b in pairs)
    expected = sum(first[lv] * second[lv] for lv in Level) / (n * n)
    kappa = (observed - expected) / (1 - expected) if expected < 1 else 1.0
    within_one = sum(abs(a - b) <= 1 for a, b in pairs) / n
    return {"pairs": n, "agreement": round(observed, 3), "kappa": round(kappa, 3),
            "within_one_level": round(within_one, 3)}
