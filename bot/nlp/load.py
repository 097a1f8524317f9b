"""Reading the risk lexicon's files (`content/risk/*.yaml`): every problem found, and each
rule's examples run through the analyser they are written for."""

from __future__ import annotations

import hashlib
from pathlib import Path

from bot.content.files import Problem, validated
from bot.nlp.analyzer import Analyzer
from bot.nlp.lexicon import MODIFIERS_FILE, Category, Lexicon, LexiconError, Modifiers

_checked: dict[tuple[str, bool], Lexicon] = {}


def load_lexicon(directory: Path, *, check_examples: bool = True) -> Lexicon:
    """Read `directory/*.yaml`; raises LexiconError listing every problem found."""
    paths = sorted(p for p in directory.glob("*.yaml") if p.name != MODIFIERS_FILE)
    whole = hashlib.sha256()
    for path in [directory / MODIFIERS_FILE, *paths]:
        whole.update(path.name.encode() + b"\0" + (path.read_bytes() if path.exists() else b""))
    key = (whole.hexdigest(), check_examples)
    if key in _checked:
        return _checked[key]
    lexicon = _load_lexicon(directory, paths, check_examples)
    if len(_checked) > 16:
        _checked.clear()
    _checked[key] = lexicon
    return lexicon


def _load_lexicon(directory: Path, paths: list[Path], check_examples: bool) -> Lexicon:
    modifiers = validated(Modifiers, directory / MODIFIERS_FILE, LexiconError)
    digest = hashlib.sha256((directory / MODIFIERS_FILE).read_bytes())
    categories: list[Category] = []
    files: dict[str, str] = {}
    for path in paths:
        category = validated(Category, path, LexiconError)
        if category.category in files:
            raise LexiconError(Problem(
                str(path), f"category {category.category} is also defined in "
                f"{files[category.category]}", at=("category",)))
        categories.append(category)
        files[category.category] = path.name
        digest.update(path.read_bytes())
    lexicon = Lexicon(categories=categories, modifiers=modifiers,
                      version=digest.hexdigest()[:12], files=files)
    problems = _structure_problems(lexicon, directory)
    if not problems and check_examples:
        problems = _example_problems(lexicon, directory)
    if problems:
        raise LexiconError(problems)
    return lexicon


def _structure_problems(lexicon: Lexicon, directory: Path) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for c in lexicon.categories:
        where = directory / lexicon.files[c.category]
        for rule in c.rules:
            if rule.id in seen:
                problems.append(_rule(where, rule.id, f"id already used in {seen[rule.id]}"))
            seen[rule.id] = str(where)
            if not rule.lemmas and rule.pattern is None:
                problems.append(_rule(where, rule.id, "give `lemmas` or `pattern`"))
            if rule.unless is not None and rule.pattern is None:
                problems.append(_rule(where, rule.id, "`unless` goes with `pattern`"))
    known = {c.category for c in lexicon.categories}
    for combo in lexicon.modifiers.combinations:
        for name in set(combo.all) - known:
            problems.append(Problem(
                str(directory / MODIFIERS_FILE), f"combination {combo.id}: unknown category {name}",
                at=("combinations",), find=("id", combo.id)))
    return problems


def _example_problems(lexicon: Lexicon, directory: Path) -> list[Problem]:
    analyzer = Analyzer(lexicon)
    problems: list[Problem] = []
    for c in lexicon.categories:
        where = directory / lexicon.files[c.category]
        for rule in c.rules:
            for text in rule.examples.positive:
                if not any(h.rule_id == rule.id and h.active for h in analyzer.hits(text)):
                    problems.append(_rule(where, rule.id,
                                          f"positive example {text!r} does not match"))
            for text in rule.examples.negative:
                if any(h.rule_id == rule.id and h.active for h in analyzer.hits(text)):
                    problems.append(_rule(where, rule.id, f"negative example {text!r} matches"))
    return problems


def _rule(where: Path, rule_id: str, message: str) -> Problem:
    return Problem(str(where), f"rule {rule_id}: {message}", at=("rules",), find=("id", rule_id))
