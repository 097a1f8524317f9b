"""Loads and validates the administrator-edited copy in `content/`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator


class ContentError(ValueError):
    """Content that cannot be served; the message names the file and the problem."""


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


Bubbles = list[str]


class Choice(BaseModel):
    label: str = Field(min_length=1, max_length=20)  # LINE: action labels up to 20 characters
    data: str = Field(min_length=1, max_length=300)  # LINE: postback data up to 300 characters
    display: str = Field(min_length=1, max_length=300)


class Hotline(BaseModel):
    label: str = Field(min_length=1, max_length=20)
    tel: str = Field(pattern=r"^[0-9#*+]{2,20}$")


class Messages(BaseModel):
    greeting: Bubbles
    acknowledgement: Bubbles
    non_text: Bubbles
    person: Bubbles
    support_info: Bubbles
    emergency: Bubbles
    group_notice: Bubbles
    trouble: Bubbles
    choices: list[Choice] = Field(min_length=1, max_length=13)  # LINE: up to 13 quick replies

    @field_validator(
        "greeting", "acknowledgement", "non_text", "person", "support_info", "emergency",
        "group_notice", "trouble",
    )
    @classmethod
    def _bubbles(cls, value: Bubbles) -> Bubbles:
        # One reply carries at most 5 messages, and the quick replies or buttons need a slot.
        if not 1 <= len(value) <= 4:
            raise ValueError("1 to 4 bubbles")
        for text in value:
            if not text.strip() or _utf16_len(text) > 5000:
                raise ValueError("each bubble needs 1 to 5000 characters")
        return value


    @model_validator(mode="after")
    def _button_prompts_fit(self) -> Messages:
        # The last bubble of these becomes a buttons template's text: LINE allows 160.
        for name in ("emergency", "person"):
            if len(getattr(self, name)[-1]) > 160:
                raise ValueError(f"{name}: the last bubble is a button prompt, 160 characters max")
        return self


class Resources(BaseModel):
    hotlines: list[Hotline] = Field(min_length=1, max_length=4)  # a buttons template holds 4


class Content(BaseModel):
    messages: Messages
    resources: Resources


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ContentError(f"{path}: file is missing") from e
    except yaml.YAMLError as e:
        raise ContentError(f"{path}: not valid YAML ({e})") from e


def _validated(model: type[BaseModel], path: Path) -> Any:
    try:
        return model.model_validate(_load_yaml(path))
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()
        )
        raise ContentError(f"{path}: {problems}") from e


def load_content(directory: Path) -> Content:
    return Content(
        messages=_validated(Messages, directory / "messages.yaml"),
        resources=_validated(Resources, directory / "resources.yaml"),
    )
