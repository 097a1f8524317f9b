"""Content as a process serves it: every file of `content/` read, checked and put together
(flows with their versions, the lexicon, the trained risk model, the copy and places)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr

from bot.content import texts as tx
from bot.content.files import ContentError, Problem, read_yaml, validated
from bot.content.flow import Flow
from bot.content.languages import JAPANESE, LanguagePack, Translator
from bot.content.schema import CannedReplies, FollowUpRules, Messages, Places, Resources
from bot.flows.routing import COPY_VARIABLES, option_counts
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
    # Every language besides standard Japanese (content/languages/<code>.yaml), by code.
    languages: dict[str, LanguagePack] = {}
    # The counsellors' canned replies in each language (content/replies.yaml, optional).
    replies: CannedReplies = CannedReplies()
    _localized: dict[str, Localized] = PrivateAttr(default_factory=dict)

    def for_language(self, code: str | None) -> Localized:
        """The resident-facing content in this language (standard Japanese for None, "ja" or
        a language content does not have)."""
        pack = self.languages.get(code or JAPANESE)
        key = pack.code if pack else JAPANESE
        if key not in self._localized:
            tr = Translator(pack)
            self._localized[key] = Localized(
                code=key, tr=tr, messages=tx.localize_messages(self.messages, tr),
                resources=tx.localize_resources(self.resources, tr),
                places=tx.localize_places(self.places, tr),
                followups=tx.localize_followups(self.followups, tr))
        return self._localized[key]

    def keywords(self) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        """Every language's words for the global commands, by global id."""
        keywords: dict[str, list[str]] = {}
        contains: dict[str, list[str]] = {}
        for pack in self.languages.values():
            for gid, words in pack.keywords.items():
                keywords.setdefault(gid, []).extend(words)
            for gid, words in pack.contains.items():
                contains.setdefault(gid, []).extend(words)
        return keywords, contains

    def worded(self, flow: Flow, code: str | None) -> Flow:
        """A flow (of any version) as a resident of this language meets it: its words in the
        language, every language's command words known, only languages content has offered."""
        offered = tx.offered_languages(tx.with_keywords(flow, *self.keywords()),
                                       {JAPANESE, *self.languages})
        return tx.localize_flow(offered, self.for_language(code).tr)

    def texts(self) -> list[tx.Text]:
        """Every resident-facing text of this content, where it stands."""
        found = [t for f in self.flows.values() for t in tx.flow_texts(f.flow, f"flows/{f.file}")]
        found += [*tx.messages_texts(self.messages), *tx.places_texts(self.places),
                  *tx.resources_texts(self.resources), *tx.followup_texts(self.followups),
                  *tx.code_texts()]
        return found

    def language_gaps(self) -> list[tx.Gap]:
        texts = self.texts()
        return [g for pack in self.languages.values()
                for g in tx.gaps(texts, Translator(pack), self.resources)]


class Localized(BaseModel):
    """Content as one resident reads it: their language's words (flows: `localize_flow`)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    code: str
    tr: Translator
    messages: Messages
    resources: Resources
    places: Places
    followups: FollowUpRules


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
        languages=load_languages(directory / "languages"),
        replies=load_replies(directory / "replies.yaml"),
    )
    if "intake" not in flows:
        raise ContentError(Problem(str(directory / "flows"),
                                   "the intake flow (id: intake) is missing"))
    counts = option_counts(places)
    found = [p for f in flows.values() for p in check_flow(
        f.flow, file=f"{directory.name}/flows/{f.file}", option_sets=counts,
        variables=COPY_VARIABLES)]
    found += check_contacts(
        content.resources, content.messages,
        categories={c.category: c.label for c in content.lexicon.categories},
        files=(f"{directory.name}/resources.yaml", f"{directory.name}/messages.yaml"),
        variables=COPY_VARIABLES)
    problems = [_located(p) for p in found]
    known_teams = {t.id for t in places.teams}
    problems += [Problem(f"{directory.name}/replies.yaml",
                         f"reply {r.id}: unknown team '{team}' (places.yaml has "
                         f"{', '.join(sorted(known_teams))})", find=("id", r.id))
                 for r in content.replies.replies for team in r.teams if team not in known_teams]
    problems += [Problem(f"{directory.name}/resources.yaml",
                         f"hotline {h.id}: unknown language '{code}' (content/languages/ has "
                         f"{', '.join(sorted(content.languages)) or 'none'})")
                 for h in content.resources.hotlines for code in h.languages
                 if code not in content.languages]
    # A language without a variant of a safety or consent text, or with one that does not
    # fit where it stands, is refused; other gaps are reported (`tsunagu content check`).
    problems += [Problem(f"{directory.name}/languages/{g.language}.yaml",
                         f"{g.problem}: the {'safety or consent ' if g.text.critical else ''}"
                         f"text at {g.text.where} ({g.text.ja[:40]})")
                 for g in content.language_gaps() if g.refused]
    if problems:
        raise ContentError(problems)
    return content


def load_languages(directory: Path) -> dict[str, LanguagePack]:
    packs = {}
    for path in sorted(directory.glob("*.yaml")) if directory.is_dir() else []:
        pack = validated(LanguagePack, path)
        if pack.code != path.stem:
            raise ContentError(Problem(str(path), f"code '{pack.code}' must match the file name"))
        packs[pack.code] = pack
    return packs


def load_replies(path: Path) -> CannedReplies:
    if not path.is_file():
        return CannedReplies()
    return validated(CannedReplies, path, data=read_yaml(path) or {})  # an emptied file: none


def _located(problem: FlowProblem) -> Problem:
    message = f"state '{problem.state}': {problem.message}" if problem.state else problem.message
    return Problem(problem.file, message, at=problem.at,
                   find=("value", problem.choice) if problem.choice else None)
