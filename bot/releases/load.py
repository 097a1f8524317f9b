"""Content as a process serves it: every file of `content/` read, checked and put together
(flows with their versions, the lexicon, the trained risk model, the copy and places)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.content.files import ContentError, Problem, read_yaml, validated
from bot.content.flow import Flow
from bot.content.schema import FollowUpRules, Messages, Places, Resources
from bot.flows.routing import COPY_VARIABLES, option_sets
from bot.flows.validate import Problem as FlowProblem
from bot.flows.validate import check_contacts, check_flow
from bot.nlp import trained
from bot.nlp.corpus import CORPUS_DIR, load_corpus
from bot.nlp.lexicon import Lexicon
from bot.nlp.load import load_lexicon
from bot.nlp.model import RiskModel


class LoadedFlow(BaseModel):
    """A flow as read from its file, with the version its exact content defines."""

    file: str
    version: str
    definition: dict[str, Any]
    flow: Flow


class Content(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    messages: Messages
    resources: Resources
    places: Places
    flows: dict[str, LoadedFlow]
    lexicon: Lexicon
    followups: FollowUpRules
    # Trained from `risk/corpus/`; None without a corpus (the rules alone then assess).
    risk_model: RiskModel | None = None


def load_flow(path: Path) -> LoadedFlow:
    raw = path.read_bytes()
    # A version is the content itself: any edit makes a new one; ongoing conversations keep theirs.
    version = hashlib.sha256(raw).hexdigest()[:12]
    data = read_yaml(path)
    flow = validated(Flow, path, data=data)
    return LoadedFlow(file=path.name, version=version, definition=data, flow=flow)


def load_content(directory: Path) -> Content:
    """Everything in `content/`, checked; raises ContentError listing every problem."""
    places = validated(Places, directory / "places.yaml")
    flows = {}
    for path in sorted((directory / "flows").glob("*.yaml")):
        loaded = load_flow(path)
        flows[loaded.flow.id] = loaded
    corpus = load_corpus(directory / "risk" / CORPUS_DIR)  # its CorpusError is a ContentError
    content = Content(
        lexicon=load_lexicon(directory / "risk"),  # its LexiconError is a ContentError
        risk_model=trained.model_for(corpus),
        followups=validated(FollowUpRules, directory / "followups.yaml"),
        messages=validated(Messages, directory / "messages.yaml"),
        resources=validated(Resources, directory / "resources.yaml"),
        places=places,
        flows=flows,
    )
    if "intake" not in flows:
        raise ContentError(Problem(str(directory / "flows"),
                                   "the intake flow (id: intake) is missing"))
    counts = {name: len(options) for name, options in option_sets(places).items()}
    found = [p for f in flows.values() for p in check_flow(
        f.flow, file=f"{directory.name}/flows/{f.file}", option_sets=counts,
        variables=COPY_VARIABLES)]
    found += check_contacts(
        content.resources, content.messages,
        categories={c.category: c.label for c in content.lexicon.categories},
        files=(f"{directory.name}/resources.yaml", f"{directory.name}/messages.yaml"),
        variables=COPY_VARIABLES)
    if found:
        raise ContentError([_located(p) for p in found])
    return content


def _located(problem: FlowProblem) -> Problem:
    message = f"state '{problem.state}': {problem.message}" if problem.state else problem.message
    return Problem(problem.file, message, at=problem.at,
                   find=("value", problem.choice) if problem.choice else None)
