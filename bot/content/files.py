"""Reading administrator-edited YAML: every problem names the file and the place in it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ContentError(ValueError):
    """Content that cannot be served; the message names the file and the problem."""


def read_yaml(path: Path, error: type[ContentError] = ContentError) -> Any:
    try:
        # The C loader when PyYAML has it: the risk corpus is thousands of entries.
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except FileNotFoundError as e:
        raise error(f"{path}: file is missing") from e
    except yaml.YAMLError as e:
        raise error(f"{path}: not valid YAML{_position(e)}") from e


def validated(model: type[M], path: Path, error: type[ContentError] = ContentError,
              data: Any = None) -> M:
    """`path` (or `data` read from it) as `model`, or `error` listing every problem."""
    data = read_yaml(path, error) if data is None else data
    try:
        return model.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(f"{where(data, err['loc'])}: {err['msg']}" for err in e.errors())
        raise error(f"{path}: {problems}") from e


def where(data: object, loc: tuple[int | str, ...]) -> str:
    """`rules.3.pattern` → `rule si.typo: pattern`: administrators know rules by id."""
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int) and isinstance(data, dict):
        rules = data.get("rules") or []
        if loc[1] < len(rules) and isinstance(rules[loc[1]], dict) and rules[loc[1]].get("id"):
            rest = ".".join(str(p) for p in loc[2:])
            return f"rule {rules[loc[1]]['id']}: {rest}"
    return ".".join(str(p) for p in loc)


def _position(e: yaml.YAMLError) -> str:
    """One line an administrator can act on: where, and what the parser expected."""
    mark = getattr(e, "problem_mark", None)
    problem = getattr(e, "problem", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{where}: {problem}" if problem else where
