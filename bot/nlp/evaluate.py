"""Precision and recall per level of the analyser on a labelled set of messages."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.nlp.analyzer import Analyzer
from bot.nlp.levels import Level


@dataclass(frozen=True)
class Labelled:
    text: str
    level: Level
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class Miss:
    text: str
    expected: Level
    got: Level
    explanation: list[str]


@dataclass
class LevelScore:
    level: Level
    support: int = 0  # messages labelled with this level
    predicted: int = 0  # messages the analyser put at this level
    exact: int = 0  # labelled and predicted at this level
    at_least: int = 0  # labelled at this level and predicted at it or above

    @property
    def precision(self) -> float:
        return self.exact / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.exact / self.support if self.support else 1.0

    @property
    def recall_at_least(self) -> float:
        """Safety view: a high message assessed imminent is not missed."""
        return self.at_least / self.support if self.support else 1.0


@dataclass
class Report:
    scores: dict[Level, LevelScore]
    misses: list[Miss] = field(default_factory=list)
    total: int = 0

    def lines(self) -> list[str]:
        out = [f"{self.total} messages",
               f"{'level':<9}{'n':>5}{'pred':>6}{'precision':>11}{'recall':>8}"
               f"{'recall≥':>9}"]
        for level in sorted(self.scores, reverse=True):
            s = self.scores[level]
            out.append(f"{level.label:<9}{s.support:>5}{s.predicted:>6}{s.precision:>11.3f}"
                       f"{s.recall:>8.3f}{s.recall_at_least:>9.3f}")
        return out


def load_labelled(path: Path) -> list[Labelled]:
    data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [Labelled(str(m["text"]), Level.parse(m["level"]), tuple(m.get("categories") or ()))
            for m in data["messages"]]


def evaluate(analyzer: Analyzer, items: Iterable[Labelled]) -> Report:
    scores = {level: LevelScore(level) for level in Level}
    report = Report(scores)
    for item in items:
        result = analyzer.analyze(item.text)
        report.total += 1
        scores[item.level].support += 1
        scores[result.level].predicted += 1
        if result.level == item.level:
            scores[item.level].exact += 1
        else:
            report.misses.append(Miss(item.text, item.level, result.level, result.explain()))
        if result.level >= item.level:
            scores[item.level].at_least += 1
    return report
