"""Honest figures: leave-one-writer-out cross-validation of the rules, the model and the two
together, and the same figures on an outside writer's validation set.

A message is only ever scored by a model that never saw its writer, thresholds included: the
held-out evaluation that matters is people we will never meet, not a shuffled message from a
writer the model already knows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.nlp.analyzer import Analyzer, RiskAssessment
from bot.nlp.corpus import Corpus, Example, agreement
from bot.nlp.levels import Level
from bot.nlp.lexicon import Lexicon
from bot.nlp.model import RiskModel
from bot.nlp.train import featurize, train

DETECTORS = ("combined", "model", "rules")


@dataclass(frozen=True)
class Scored:
    id: str
    writer: str
    text: str
    gold: Level
    got: dict[str, Level]  # detector -> level
    unsure: bool  # the combined reading was in the grey band above its level
    explanation: list[str]


@dataclass
class Figures:
    """Safety figures of one detector on a set of messages."""

    n: int = 0
    confusion: dict[tuple[Level, Level], int] = field(default_factory=dict)  # (gold, got)

    def add(self, gold: Level, got: Level) -> None:
        self.n += 1
        self.confusion[(gold, got)] = self.confusion.get((gold, got), 0) + 1

    def count(self, gold: Callable[[Level], bool], got: Callable[[Level], bool]) -> int:
        return sum(n for (g, p), n in self.confusion.items() if gold(g) and got(p))

    def recall(self, level: Level) -> float:
        support = self.count(lambda g: g == level, lambda p: True)
        return self.count(lambda g: g == level, lambda p: p == level) / support if support else 1.0

    def precision(self, level: Level) -> float:
        said = self.count(lambda g: True, lambda p: p == level)
        return self.count(lambda g: g == level, lambda p: p == level) / said if said else 1.0

    @property
    def imminent_below_high(self) -> int:
        return self.count(lambda g: g == Level.IMMINENT, lambda p: p < Level.HIGH)

    @property
    def imminent_total(self) -> int:
        return self.count(lambda g: g == Level.IMMINENT, lambda p: True)

    @property
    def high_plus_recall(self) -> float:
        support = self.count(lambda g: g >= Level.HIGH, lambda p: True)
        hit = self.count(lambda g: g >= Level.HIGH, lambda p: p >= Level.HIGH)
        return hit / support if support else 1.0

    @property
    def high_plus_precision(self) -> float:
        said = self.count(lambda g: True, lambda p: p >= Level.HIGH)
        hit = self.count(lambda g: g >= Level.HIGH, lambda p: p >= Level.HIGH)
        return hit / said if said else 1.0

    @property
    def false_alarms(self) -> float:
        """Harmless messages raised to high or imminent."""
        harmless = self.count(lambda g: g == Level.NONE, lambda p: True)
        raised = self.count(lambda g: g == Level.NONE, lambda p: p >= Level.HIGH)
        return raised / harmless if harmless else 0.0

    def lines(self, title: str) -> list[str]:
        out = [f"{title}: {self.n} messages",
               f"  imminent below high: {self.imminent_below_high} of {self.imminent_total}"
               f"   high+ recall {self.high_plus_recall:.3f}"
               f"   high+ precision {self.high_plus_precision:.3f}"
               f"   harmless raised to high+: {self.false_alarms:.1%}",
               f"  {'level':<9}{'recall':>8}{'precision':>11}   confusion (gold ↓, got →"
               " none concern high imminent)"]
        for gold in sorted(Level, reverse=True):
            row = " ".join(f"{self.confusion.get((gold, got), 0):>5}" for got in Level)
            out.append(f"  {gold.label:<9}{self.recall(gold):>8.3f}"
                       f"{self.precision(gold):>11.3f}   {row}")
        return out


@dataclass
class Evaluation:
    figures: dict[str, Figures]
    scored: list[Scored]
    per_writer: dict[str, Figures] = field(default_factory=dict)  # combined, by writer

    @property
    def unsure_rate(self) -> float:
        return sum(s.unsure for s in self.scored) / len(self.scored) if self.scored else 0.0

    def misses(self, level: Level = Level.IMMINENT) -> list[Scored]:
        """Messages of `level` that the combined detector put below high."""
        return [s for s in self.scored if s.gold == level and s.got["combined"] < Level.HIGH]


def _score(analyzer: Analyzer, examples: Sequence[Example | Labelled],
           evaluation: Evaluation) -> None:
    for e in examples:
        result: RiskAssessment = analyzer.analyze(e.text)
        got = {"combined": result.level, "rules": result.rules_level,
               "model": result.model.level if result.model is not None else Level.NONE}
        for name in DETECTORS:
            evaluation.figures[name].add(e.level, got[name])
        writer = getattr(e, "writer", "outside")
        evaluation.per_writer.setdefault(writer, Figures()).add(e.level, result.level)
        evaluation.scored.append(Scored(e.id, writer, e.text, e.level, got, result.unsure,
                                        result.explain()))


def leave_one_writer_out(lexicon: Lexicon, corpus: Corpus) -> Evaluation:
    """Each writer scored by a model trained (thresholds included) on the other writers."""
    evaluation = Evaluation({name: Figures() for name in DETECTORS}, [])
    examples = list(corpus.examples)
    found = featurize([e.text for e in examples])
    for writer in corpus.writers:
        train_idx = [i for i, e in enumerate(examples) if e.writer != writer]
        model = RiskModel.from_data(train([examples[i] for i in train_idx],
                                          found=[found[i] for i in train_idx]).to_data())
        _score(Analyzer(lexicon, model), [e for e in examples if e.writer == writer],
               evaluation)
    return evaluation


@dataclass(frozen=True)
class Labelled:
    id: str
    text: str
    level: Level


def load_jsonl(path: Path) -> list[Labelled]:
    """An outside validation set: one {"id", "text", "level"} per line."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            out.append(Labelled(str(row["id"]), str(row["text"]), Level.parse(row["level"])))
    return out


def outside(analyzer: Analyzer, items: Sequence[Labelled]) -> Evaluation:
    evaluation = Evaluation({name: Figures() for name in DETECTORS}, [])
    _score(analyzer, items, evaluation)
    return evaluation


def corpus_lines(corpus: Corpus) -> list[str]:
    counts = corpus.counts()
    agree = agreement(corpus.examples)
    langs: dict[str, int] = {}
    for e in corpus.examples:
        langs[e.lang] = langs.get(e.lang, 0) + 1
    return [f"corpus: {len(corpus.examples)} messages by {len(corpus.writers)} writers "
            f"({', '.join(f'{k} {counts[k]}' for k in ('imminent', 'high', 'concern', 'none'))};"
            f" {', '.join(f'{k} {v}' for k, v in sorted(langs.items()))})",
            f"two blind labels: {agree}"]
