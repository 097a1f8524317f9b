"""Loads and validates the administrator-edited copy in `content/`."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot import risk_models
from bot.content_files import ContentError as ContentError  # re-exported for callers
from bot.content_files import read_yaml, validated
from bot.flows.schema import Flow
from bot.nlp.corpus import CORPUS_DIR, load_corpus
from bot.nlp.lexicon import Lexicon, load_lexicon
from bot.nlp.model import RiskModel
from handoff.followups import FollowUpRules


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


Bubbles = list[str]


class Hotline(BaseModel):
    label: str = Field(min_length=1, max_length=20)
    tel: str = Field(pattern=r"^[0-9#*+]{2,20}$")


class Messages(BaseModel):
    """Copy outside any flow."""

    group_notice: Bubbles
    trouble: Bubbles
    risk_imminent: Bubbles
    risk_high: Bubbles
    # The model is unsure a message is safe: a kind word, a person and the numbers offered.
    risk_unsure: Bubbles
    risk_unsure_call: str = Field(min_length=1, max_length=160)  # above the call buttons
    counsellor_joined: Bubbles
    case_closed: Bubbles
    returned_to_bot: Bubbles

    @field_validator("group_notice", "trouble", "risk_imminent", "risk_high", "risk_unsure",
                     "counsellor_joined", "case_closed", "returned_to_bot")
    @classmethod
    def _bubbles(cls, value: Bubbles) -> Bubbles:
        # One reply carries at most 5 messages, and the buttons need a slot.
        if not 1 <= len(value) <= 4:
            raise ValueError("1 to 4 bubbles")
        for text in value:
            if not text.strip() or _utf16_len(text) > 5000:
                raise ValueError("each bubble needs 1 to 5000 characters")
        return value


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class Hours(BaseModel):
    days: list[Weekday] = Field(min_length=1)
    open: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    close: str = Field(pattern=r"^([01][0-9]|2[0-4]):[0-5][0-9]$")

    @model_validator(mode="after")
    def _ordered(self) -> Hours:
        if self.close <= self.open:
            raise ValueError("close must be after open")
        return self


class Team(BaseModel):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1, max_length=60)
    hours: Hours
    share_with: list[str] = Field(min_length=1)


class Municipality(BaseModel):
    id: str = Field(pattern=r"^[a-z0-9_]+$", max_length=40)
    name: str = Field(min_length=1, max_length=20)  # a quick-reply label
    team: str


class Routing(BaseModel):
    life_areas: dict[str, list[str]] = Field(default_factory=dict)
    urgent_needs: dict[str, list[str]] = Field(default_factory=dict)
    always: list[str] = Field(default_factory=list)


class Places(BaseModel):
    retention_days: int = Field(ge=1, le=3650)
    teams: list[Team] = Field(min_length=1)
    municipalities: list[Municipality] = Field(min_length=1, max_length=11)
    default_team: str
    programmes: dict[str, str]
    routing: Routing

    @model_validator(mode="after")
    def _references(self) -> Places:
        teams = {t.id for t in self.teams}
        problems = [f"municipality {m.id}: unknown team {m.team}"
                    for m in self.municipalities if m.team not in teams]
        if self.default_team not in teams:
            problems.append(f"default_team: unknown team {self.default_team}")
        mapping = [*self.routing.life_areas.items(), *self.routing.urgent_needs.items(),
                   ("always", self.routing.always)]
        problems += [f"routing {key}: unknown programme {p}"
                     for key, ids in mapping for p in ids if p not in self.programmes]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def team(self, team_id: str) -> Team:
        return next(t for t in self.teams if t.id == team_id)


class Resources(BaseModel):
    hotlines: list[Hotline] = Field(min_length=1, max_length=4)  # a buttons template holds 4


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
        risk_model=risk_models.model_for(corpus),
        followups=validated(FollowUpRules, directory / "followups.yaml"),
        messages=validated(Messages, directory / "messages.yaml"),
        resources=validated(Resources, directory / "resources.yaml"),
        places=places,
        flows=flows,
    )
    if "intake" not in flows:
        raise ContentError(f"{directory / 'flows'}: the intake flow (id: intake) is missing")
    from bot.flows.validate import check_flow
    from handoff.routing import COPY_VARIABLES, option_sets

    counts = {name: len(options) for name, options in option_sets(places).items()}
    problems = [str(p) for f in flows.values() for p in check_flow(
        f.flow, file=f"{directory.name}/flows/{f.file}", option_sets=counts,
        variables=COPY_VARIABLES)]
    if problems:
        raise ContentError("\n".join(problems))
    return content
