"""Reading administrator-edited YAML: every problem names the file and the place in it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Problem:
    """One thing an administrator must fix, and where: the file, the keys from the top of the
    file to the place (a sequence's items by index), the mapping below it whose `find` key has
    `find` value (a choice, a rule), or the line when the YAML itself could not be read."""

    file: str | None
    message: str
    at: tuple[str, ...] = ()
    find: tuple[str, str] | None = None
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.file}: {self.message}" if self.file else self.message

    def relative_to(self, root: Path) -> Problem:
        """Named from the content folder (`flows/intake.yaml`), as an editor shows files."""
        if self.file is None:
            return self
        name = self.file.replace(f"{root}/", "").replace(f"{root}", "content")
        return replace(self, file=name.removeprefix("content/"))


class ContentError(ValueError):
    """Content that cannot be served. `problems` says what and where, as data; the message
    lists them one per line."""

    def __init__(self, problems: str | Problem | Sequence[Problem]) -> None:
        if isinstance(problems, str):
            problems = [Problem(None, problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.problems,)


def read_yaml(path: Path, error: type[ContentError] = ContentError) -> Any:
    try:
        # The C loader when PyYAML has it: the risk corpus is thousands of entries.
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except FileNotFoundError as e:
        raise error(Problem(str(path), "file is missing")) from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise error(Problem(str(path), f"not valid YAML{_position(e)}",
                            line=mark.line + 1 if mark is not None else None)) from e


def validated(model: type[M], path: Path, error: type[ContentError] = ContentError,
              data: Any = None) -> M:
    """`path` (or `data` read from it) as `model`, or `error` listing every problem."""
    data = read_yaml(path, error) if data is None else data
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise error([Problem(str(path), f"{where(data, err['loc'])}: {err['msg']}",
                             *_place(data, err["loc"]))
                     for err in e.errors()]) from e


def where(data: object, loc: tuple[int | str, ...]) -> str:
    """`rules.3.pattern` → `rule si.typo: pattern`: administrators know rules by id."""
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int) and isinstance(data, dict):
        rules = data.get("rules") or []
        if loc[1] < len(rules) and isinstance(rules[loc[1]], dict) and rules[loc[1]].get("id"):
            rest = ".".join(str(p) for p in loc[2:])
            return f"rule {rules[loc[1]]['id']}: {rest}"
    return ".".join(str(p) for p in loc)


def _place(data: object, loc: tuple[int | str, ...]) -> tuple[tuple[str, ...],
                                                               tuple[str, str] | None]:
    """`at` and `find` of a problem at `loc`: within a rule, the rule itself (found by its id,
    as `where` names it), else the keys as they are."""
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int) and isinstance(data, dict):
        rules = data.get("rules") or []
        if loc[1] < len(rules) and isinstance(rules[loc[1]], dict) and rules[loc[1]].get("id"):
            return ("rules",), ("id", str(rules[loc[1]]["id"]))
    return tuple(str(part) for part in loc), None


def _position(e: yaml.YAMLError) -> str:
    """One line an administrator can act on: where, and what the parser expected."""
    mark = getattr(e, "problem_mark", None)
    problem = getattr(e, "problem", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{where}: {problem}" if problem else where
