"""Reading the risk lexicon's files (`content/risk/*.yaml`): every problem found, and each
rule's examples run through the analyser they are written for."""

from __future__ import annotations

import hashlib
from pathlib import Path

from bot.content.files import validated
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
            raise LexiconError(f"{path}: category {category.category} is also defined in "
                               f"{files[category.category]}")
        categories.append(category)
        files[category.category] = path.name
        digest.update(path.read_bytes())
    lexicon = Lexicon(categories=categories, modifiers=modifiers,
                      version=digest.hexdigest()[:12], files=files)
    problems = _structure_problems(lexicon, directory)
    if not problems and check_examples:
        problems = _example_problems(lexicon, directory)
    if problems:
        raise LexiconError("\n".join(problems))
    return lexicon


def _structure_problems(lexicon: Lexicon, directory: Path) -> list[str]:
    problems: list[str] = []
    seen: dict[str, str] = {}
    for c in lexicon.categories:
        where = directory / lexicon.files[c.category]
        for rule in c.rules:
            if rule.id in seen:
                problems.append(f"{where}: rule {rule.id}: id already used in {seen[rule.id]}")
            seen[rule.id] = str(where)
            if not rule.lemmas and rule.pattern is None:
                problems.append(f"{where}: rule {rule.id}: give `lemmas` or `pattern`")
            if rule.unless is not None and rule.pattern is None:
                problems.append(f"{where}: rule {rule.id}: `unless` goes with `pattern`")
    known = {c.category for c in lexicon.categories}
    for combo in lexicon.modifiers.combinations:
        for name in set(combo.all) - known:
            problems.append(f"{directory / MODIFIERS_FILE}: combination {combo.id}: unknown "
                            f"category {name}")
    return problems


def _example_problems(lexicon: Lexicon, directory: Path) -> list[str]:
    analyzer = Analyzer(lexicon)
    problems: list[str] = []
    for c in lexicon.categories:
        where = directory / lexicon.files[c.category]
        for rule in c.rules:
            for text in rule.examples.positive:
                if not any(h.rule_id == rule.id and h.active for h in analyzer.hits(text)):
                    problems.append(f"{where}: rule {rule.id}: positive example {text!r} "
                                    "does not match")
            for text in rule.examples.negative:
                if any(h.rule_id == rule.id and h.active for h in analyzer.hits(text)):
                    problems.append(f"{where}: rule {rule.id}: negative example {text!r} "
                                    "matches")
    return problems
