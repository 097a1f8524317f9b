"""The statistical risk model as plain data: weights per feature for three cumulative heads
(at least concern, at least high, imminent) and the thresholds chosen for recall when it was
trained. Serving needs no learning library and no pickle; every score can be explained by the
features that pushed it."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Set
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.nlp.features import readable
from bot.nlp.levels import Level

HEADS = (Level.CONCERN, Level.HIGH, Level.IMMINENT)
FORMAT = 2  # 1 stored a mapping per head; 2 the features once and weights in order
# The training's name (bot/nlp/train.py): change it when training changes. It is part of a
# model's version, which is found here so that a process serving a stored model never imports
# the learning library (seconds at every start).
TRAINER = "lr-3head-v2"


def model_version(corpus_digest: str) -> str:
    return hashlib.sha256(f"{corpus_digest}\0{TRAINER}\0{FORMAT}".encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Head:
    level: Level
    intercept: float
    weights: Mapping[str, float]
    threshold: float  # probability from which the head says yes
    unsure: float  # from here up to `threshold`: the grey band, not yet a yes



@dataclass(frozen=True)
class Push:
    feature: str  # as a counsellor reads it
    weight: float  # its share of the score


@dataclass(frozen=True)
class ModelScore:
    level: Level  # the highest head that says yes
    unsure: Level | None  # a head in its grey band above `level`, if any
    probabilities: Mapping[Level, float]
    pushes: tuple[Push, ...]  # what pushed the deciding head, strongest first
    version: str

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level.label,
                "unsure": self.unsure.label if self.unsure is not None else None,
                "p": {lv.label: round(p, 3) for lv, p in self.probabilities.items()},
                "pushes": [[p.feature, round(p.weight, 3)] for p in self.pushes],
                "model": self.version}


@dataclass(frozen=True)
class RiskModel:
    version: str  # digest of the corpus and the trainer that made it
    heads: tuple[Head, ...]
    vocabulary: frozenset[str]
    meta: Mapping[str, Any]  # corpus size, writers, out-of-fold figures behind the thresholds

    def score(self, found: Set[str]) -> ModelScore:
        index, matrix = self._columns
        # One look-up per feature and one numpy sum for all heads: this runs for every message.
        present = [f for f in found if f in index]
        columns = list(map(index.__getitem__, present))
        norm = math.sqrt(len(present)) or 1.0
        sums = matrix[:, columns].sum(axis=1) if columns else np.zeros(len(self.heads))
        probabilities: dict[Level, float] = {}
        level, unsure = Level.NONE, None
        deciding = 0
        for k, head in enumerate(self.heads):
            p = _sigmoid(head.intercept + float(sums[k]) / norm)
            probabilities[head.level] = p
            if p >= head.threshold:
                level, deciding = head.level, k
            elif p >= head.unsure and head.level > level:
                unsure, deciding = head.level, k
        if unsure is not None and unsure <= level:
            unsure = None
        pushes: tuple[Push, ...] = ()
        if (level != Level.NONE or unsure is not None) and columns:
            weights = matrix[deciding, columns]
            strongest = np.argsort(-weights)[:6]
            pushes = tuple(Push(readable(present[i]), float(weights[i]) / norm)
                           for i in strongest if weights[i] > 0)
        return ModelScore(level, unsure, probabilities, pushes, self.version)

    @property
    def _columns(self) -> tuple[dict[str, int], np.ndarray]:
        """Each feature's column, and every head's weights as one matrix: built once."""
        cached: tuple[dict[str, int], np.ndarray] | None = self.__dict__.get("_cols")
        if cached is None:
            features = sorted(self.vocabulary)
            matrix = np.array([[h.weights.get(f, 0.0) for f in features] for h in self.heads])
            cached = ({f: i for i, f in enumerate(features)}, matrix)
            object.__setattr__(self, "_cols", cached)
        return cached

    def to_data(self) -> dict[str, Any]:
        """Plain data (JSON): the features once, then each head's weights in that order.
        Computed once: a release stores it, and the disk cache writes it."""
        cached: dict[str, Any] | None = self.__dict__.get("_data")
        if cached is None:
            features = sorted(self.vocabulary)
            cached = {"format": FORMAT, "version": self.version, "meta": dict(self.meta),
                      "features": features,
                      "heads": [{"level": h.level.label, "intercept": h.intercept,
                                 "threshold": h.threshold, "unsure": h.unsure,
                                 "weights": [round(h.weights.get(f, 0.0), 4) for f in features]}
                                for h in self.heads]}
            object.__setattr__(self, "_data", cached)
        return cached

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> RiskModel:
        if data.get("format") != FORMAT:
            raise ValueError(f"risk model format {data.get('format')!r} is not {FORMAT}")
        features = [str(f) for f in data["features"]]
        heads = []
        for h in data["heads"]:
            if len(h["weights"]) != len(features):
                raise ValueError("a head's weights do not match the features")
            heads.append(Head(Level.parse(h["level"]), float(h["intercept"]),
                              dict(zip(features, map(float, h["weights"]), strict=True)),
                              float(h["threshold"]), float(h["unsure"])))
        return cls(str(data["version"]), tuple(heads), frozenset(features),
                   dict(data.get("meta") or {}))


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)
