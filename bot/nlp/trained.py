"""Where trained risk models come from: a release stores its model as data, and a process
that loads content finds the model by the corpus digest, in memory, then in a cache folder,
and trains it only when nobody has (a few seconds, once per corpus per machine).

Training is deterministic, so two processes that train the same corpus serve the same model.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from bot.nlp.corpus import Corpus
from bot.nlp.model import RiskModel, model_version

log = logging.getLogger(__name__)

_memory: dict[str, RiskModel] = {}
_lock = threading.Lock()


def cache_dir() -> Path:
    configured = os.environ.get("TSUNAGU_MODEL_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tsunagu" / "risk-models"


def version_of(corpus: Corpus) -> str:
    return model_version(corpus.digest)


def remember(data: dict[str, Any] | None) -> None:
    """A model a release stored: served without training."""
    if not data:
        return
    try:
        model = RiskModel.from_data(data)
    except (KeyError, TypeError, ValueError):
        log.warning("risk model: a release's stored model could not be read; it is retrained")
        return
    with _lock:
        _memory.setdefault(model.version, model)


# Fewer labelled messages than this teach a model nothing it should be trusted with.
MIN_EXAMPLES = 100


def model_for(corpus: Corpus) -> RiskModel | None:
    """The model of this corpus (None for a corpus too small: the rules alone assess)."""
    if len(corpus.examples) < MIN_EXAMPLES or len({e.level for e in corpus.examples}) < 2:
        return None
    version = version_of(corpus)
    with _lock:
        found = _memory.get(version)
        if found is not None:
            return found
        model = _from_disk(version)
        if model is None:
            from bot.nlp.train import train_corpus

            log.info("risk model: training %s on %d messages", version, len(corpus.examples))
            model = train_corpus(corpus)
            _to_disk(model)
        _memory[version] = model
        return model


def _path(version: str) -> Path:
    return cache_dir() / f"{version}.json"


def _from_disk(version: str) -> RiskModel | None:
    try:
        data = json.loads(_path(version).read_text(encoding="utf-8"))
        model = RiskModel.from_data(data)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return model if model.version == version else None


def _to_disk(model: RiskModel) -> None:
    """Written to a temporary file and renamed: a reader never sees half a model."""
    target = _path(model.version)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=target.parent,
                                         suffix=".tmp", delete=False) as f:
            json.dump(model.to_data(), f, ensure_ascii=False, separators=(",", ":"))
        os.replace(f.name, target)
    except OSError as e:  # a read-only home: the model is still served from memory
        log.warning("risk model: not cached on disk (%s)", type(e).__name__)
