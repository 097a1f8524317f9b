"""Training the risk model from the corpus (scikit-learn), deterministically.

Three logistic regressions on binary, length-normalised features: at least concern, at least
high, imminent. Their thresholds are chosen for recall on writers the model did not see
(grouped cross-validation), because a miss can cost a life and a false alarm costs a look.
The result is plain data (`RiskModel.to_data()`), never a pickle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from bot.nlp.corpus import Corpus, Example
from bot.nlp.features import features
from bot.nlp.levels import Level
from bot.nlp.model import HEADS, TRAINER, Head, RiskModel, model_version
from bot.nlp.prepare import prepare

C = 4.0
MIN_DF = 2
# Recall each head must reach on writers it did not learn from; and the grey band's floor.
RECALL = {Level.CONCERN: 0.90, Level.HIGH: 0.95, Level.IMMINENT: 0.85}
UNSURE_RECALL = 0.99
# The grey band may take in at most this share of the harmless messages (out of fold), beyond
# those already above the threshold: an offer of help to everyone would be noise that
# residents and counsellors learn to ignore.
UNSURE_MAX_HARMLESS = 0.10
INNER_FOLDS = 4


def featurize(texts: Sequence[str]) -> list[set[str]]:
    out = []
    for text in texts:
        p = prepare(text)
        out.append(features(p.folded, p.tokens))
    return out


@dataclass(frozen=True)
class _Fitted:
    vocabulary: dict[str, int]
    heads: list[tuple[Level, float, np.ndarray]]  # level, intercept, coefficients

    def probabilities(self, found: Sequence[set[str]]) -> np.ndarray:
        x = _matrix(found, self.vocabulary)
        out = np.zeros((len(found), len(self.heads)))
        for k, (_, b, w) in enumerate(self.heads):
            out[:, k] = 1 / (1 + np.exp(-(x @ w + b)))
        return out


def _matrix(found: Sequence[set[str]], vocabulary: dict[str, int]) -> csr_matrix:
    rows, cols, vals = [], [], []
    for i, fs in enumerate(found):
        idx = sorted(vocabulary[f] for f in fs if f in vocabulary)
        norm = 1 / np.sqrt(len(idx)) if idx else 0.0
        rows += [i] * len(idx)
        cols += idx
        vals += [norm] * len(idx)
    return csr_matrix((vals, (rows, cols)), shape=(len(found), len(vocabulary)))


def _fit(found: Sequence[set[str]], levels: Sequence[Level]) -> _Fitted:
    df: dict[str, int] = {}
    for fs in found:
        for f in fs:
            df[f] = df.get(f, 0) + 1
    vocabulary = {f: i for i, f in enumerate(sorted(f for f, n in df.items() if n >= MIN_DF))}
    x = _matrix(found, vocabulary)
    y_all = np.array([int(lv) for lv in levels])
    heads = []
    for level in HEADS:
        y = (y_all >= int(level)).astype(int)
        if y.min() == y.max():  # a corpus without this level: the head never says yes
            heads.append((level, -20.0, np.zeros(len(vocabulary))))
            continue
        lr = LogisticRegression(C=C, class_weight="balanced", solver="liblinear",
                                max_iter=1000, random_state=0)
        lr.fit(x, y)
        heads.append((level, float(lr.intercept_[0]), lr.coef_[0].copy()))
    return _Fitted(vocabulary, heads)


def out_of_fold(found: Sequence[set[str]], levels: Sequence[Level], groups: Sequence[str],
                folds: int) -> np.ndarray:
    """Each example's probabilities from a model that never saw its writer."""
    out = np.zeros((len(found), len(HEADS)))
    if len(set(groups)) < 2:  # one writer: folds of messages are the best there is
        groups = [str(i % folds) for i in range(len(found))]
    n = min(folds, len(set(groups)))
    if n < 2:
        return out
    for train, test in GroupKFold(n_splits=n).split(np.zeros(len(found)), groups=groups):
        fitted = _fit([found[i] for i in train], [levels[i] for i in train])
        out[test] = fitted.probabilities([found[i] for i in test])
    return out


def _threshold(p: np.ndarray, positive: np.ndarray, recall: float) -> float:
    """The highest threshold at which `recall` of the positives still score at or above it."""
    scores = np.sort(p[positive])
    if len(scores) == 0:
        return 0.5
    k = int(np.floor((1 - recall) * len(scores)))
    return float(max(scores[k], 1e-4))


def _band_floor(harmless: np.ndarray, threshold: float, wanted: float) -> float:
    """Where the grey band below `threshold` starts: low enough for UNSURE_RECALL, but taking
    in at most UNSURE_MAX_HARMLESS of the harmless messages beyond those already above it."""
    if wanted >= threshold or not len(harmless):
        return threshold
    inside = np.sort(harmless[harmless < threshold])[::-1]  # the band fills from the top
    room = int(UNSURE_MAX_HARMLESS * len(harmless))
    if room >= len(inside):
        return wanted
    return float(max(wanted, inside[room])) if room else threshold


def train(examples: Sequence[Example], *, found: Sequence[set[str]] | None = None,
          version: str = "") -> RiskModel:
    if found is None:
        found = featurize([e.text for e in examples])
    levels = [e.level for e in examples]
    groups = [e.writer for e in examples]
    oof = out_of_fold(found, levels, groups, INNER_FOLDS)
    y = np.array([int(lv) for lv in levels])
    fitted = _fit(found, levels)
    inverse = {i: f for f, i in fitted.vocabulary.items()}
    heads = []
    meta_thresholds = {}
    for k, (level, intercept, coef) in enumerate(fitted.heads):
        positive = y >= int(level)
        threshold = _threshold(oof[:, k], positive, RECALL[level])
        unsure = _band_floor(oof[y == int(Level.NONE), k], threshold,
                             _threshold(oof[:, k], positive, UNSURE_RECALL))
        weights = {inverse[i]: float(w) for i, w in enumerate(coef)}
        heads.append(Head(level, round(intercept, 5), weights, round(threshold, 5),
                          round(unsure, 5)))
        meta_thresholds[level.label] = {"threshold": round(threshold, 4),
                                        "unsure": round(unsure, 4)}
    meta = {"trainer": TRAINER, "examples": len(examples),
            "writers": sorted(set(groups)), "thresholds": meta_thresholds}
    return RiskModel(version or TRAINER, tuple(heads),
                     frozenset(f for h in heads for f in h.weights), meta)


def train_corpus(corpus: Corpus) -> RiskModel:
    model = train(corpus.examples, version=model_version(corpus.digest))
    # Round-trip through data, so the served model is exactly what a release stores.
    return RiskModel.from_data(model.to_data())
