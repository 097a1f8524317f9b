"""`analyze(text) -> RiskAssessment`: lemma-based, negation-aware, explainable. No I/O.

1. Normalise (NFKC, width, case, runs of one character) keeping a map to the original text.
2. Tokenise with fugashi (unidic-lite) into lemmas; match rules as lemma sequences with small
   gaps, and as patterns on the normalised text (for what the dictionary does not know: OD,
   リスカ, typos such as 氏にたい).
3. Modify each match: negated (死にたくない) or an idiom (死ぬほど眠い) → inactive; someone
   else's words (友達が死にたいと言っている) or the past (昔は) → one level lower.
4. The level is the highest active one, raised by combinations of categories (ideation with a
   plan or with "tonight" is imminent).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from bot.nlp.lexicon import Category, Level, Lexicon, Rule, load_lexicon
from bot.nlp.normalize import Normalised, normalise, to_hiragana
from bot.nlp.tokens import Token, tokenize

SIGNAL = "signal"


@dataclass(frozen=True)
class Hit:
    """One matched rule, with where it matched and why it counts (or does not)."""

    rule_id: str
    category: str
    level: str  # the rule's own level: concern, high, imminent or signal
    effective: Level  # after the modifiers; NONE when inactive
    start: int  # span in the resident's original text
    end: int
    text: str
    why: str
    modifiers: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return not ({"negated", "idiom"} & set(self.modifiers))

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule_id, "category": self.category, "level": self.level,
                "effective": self.effective.label, "span": [self.start, self.end],
                "text": self.text, "why": self.why, "modifiers": list(self.modifiers)}


@dataclass(frozen=True)
class RiskAssessment:
    level: Level
    categories: tuple[str, ...]
    hits: tuple[Hit, ...] = ()
    combinations: tuple[str, ...] = ()
    lexicon_version: str = ""

    def explain(self) -> list[str]:
        """One line per hit, for a counsellor: what matched, where, and what changed it."""
        lines = []
        for h in self.hits:
            mods = f" ({', '.join(h.modifiers)})" if h.modifiers else ""
            lines.append(f"{h.category} / {h.rule_id}: 「{h.text}」 [{h.start}:{h.end}] "
                         f"{h.why} → {h.effective.label}{mods}")
        lines += [f"combination {c}" for c in self.combinations]
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level.label, "categories": list(self.categories),
                "hits": [h.to_dict() for h in self.hits],
                "combinations": list(self.combinations), "lexicon": self.lexicon_version}


@dataclass
class _Text:
    norm: Normalised
    folded: str  # the normalised text with katakana as hiragana, for patterns
    tokens: list[Token]
    starts: dict[int, int] = field(default_factory=dict)  # char offset -> token index


class Analyzer:
    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        m = lexicon.modifiers
        self._negators = set(m.negators)
        self._fillers = set(m.negation_fillers)
        self._third_nouns = set(m.third_party_nouns)
        self._third_markers = set(m.third_party_markers)
        self._reporting = set(m.reporting_verbs)
        self._past = set(m.past_markers)
        # Patterns are folded like the text (width, katakana → hiragana), so copy may be
        # written in any of them.
        self._patterns = {
            rule.id: re.compile(to_hiragana(unicodedata.normalize("NFKC", rule.pattern)),
                                re.IGNORECASE)
            for c in lexicon.categories for rule in c.rules if rule.pattern
        }

    def analyze(self, text: str) -> RiskAssessment:
        return self._assess(_dedupe(self.hits(text)))

    def hits(self, text: str) -> list[Hit]:
        """Every rule's matches, before overlapping ones are merged (for checking rules)."""
        norm = normalise(text)
        t = _Text(norm, to_hiragana(norm.text), tokenize(norm.text))
        hits: list[Hit] = []
        for category in self.lexicon.categories:
            for rule in category.rules:
                for first, last in self._matches(rule, t):
                    hits.append(self._hit(category, rule, t, first, last))
        return hits

    # ------------------------------------------------------------------ matching

    def _matches(self, rule: Rule, t: _Text) -> list[tuple[int, int]]:
        """Token index spans [first, last] where the rule matches."""
        found: list[tuple[int, int]] = []
        if rule.lemmas:
            found += _lemma_matches(rule.lemmas, rule.gap, t.tokens)
        pattern = self._patterns.get(rule.id)
        if pattern is not None:
            for m in pattern.finditer(t.folded):
                span = _tokens_covering(t.tokens, m.start(), m.end())
                if span is not None:
                    found.append(span)
        return found

    def _hit(self, category: Category, rule: Rule, t: _Text, first: int, last: int) -> Hit:
        tokens = t.tokens
        start, end = t.norm.span(tokens[first].start, tokens[last].end)
        modifiers: list[str] = []
        if self._negated(tokens, last):
            modifiers.append("negated")
        if self._in_idiom(tokens, first, last):
            modifiers.append("idiom")
        if category.third_party == "lower" and self._third_party(tokens, first, last):
            modifiers.append("third_party")
        if category.past == "lower" and self._in_past(tokens, first):
            modifiers.append("past")
        level = Level.NONE if rule.level == SIGNAL else Level.parse(rule.level)
        if "negated" in modifiers or "idiom" in modifiers:
            level = Level.NONE
        elif "third_party" in modifiers or "past" in modifiers:
            level = max(Level.CONCERN, Level(level - 1)) if level else level
        why = ("lemmas " + " + ".join("/".join(alts) for alts in rule.lemmas)) if rule.lemmas \
            else "surface pattern"
        return Hit(rule.id, category.category, rule.level, level, start, end,
                   t.norm.original[start:end], why, tuple(modifiers))

    # ------------------------------------------------------------------ modifiers

    def _negated(self, tokens: list[Token], last: int) -> bool:
        """A negator right after the phrase, with only fillers between (死ぬつもりはない)."""
        following = tokens[last + 1: last + 8]
        for k, token in enumerate(following):
            if token.lemma in self._negators and token.pos in ("助動詞", "形容詞"):
                # しなければ/しないと（ならない）is obligation, not negation.
                after = following[k + 1: k + 2]
                return not (after and after[0].lemma in ("ば", "と"))
            if token.lemma not in self._fillers:
                return False
        return False

    def _in_idiom(self, tokens: list[Token], first: int, last: int) -> bool:
        for idiom in self.lexicon.modifiers.idioms:
            for i in range(max(0, first - len(idiom) + 1), min(last + 1, len(tokens))):
                if [tk.lemma for tk in tokens[i:i + len(idiom)]] == idiom:
                    return True
        return False

    def _third_party(self, tokens: list[Token], first: int, last: int) -> bool:
        """Someone else is the subject (友達が…) or the words are reported (…と言っている)."""
        sentence = tokens[first].sentence
        before = [tk for tk in tokens[:first] if tk.sentence == sentence]
        for a, b in itertools.pairwise(before):
            if a.lemma in self._third_nouns and b.lemma in self._third_markers:
                return True
        after = [tk for tk in tokens[last + 1:last + 5] if tk.sentence == sentence]
        has_noun = any(tk.lemma in self._third_nouns for tk in tokens if tk.sentence == sentence)
        return has_noun and any(tk.lemma in self._reporting for tk in after)

    def _in_past(self, tokens: list[Token], first: int) -> bool:
        sentence = tokens[first].sentence
        return any(tk.lemma in self._past or tk.surface in self._past
                   for tk in tokens[:first] if tk.sentence == sentence)

    # ------------------------------------------------------------------ level

    def _assess(self, hits: list[Hit]) -> RiskAssessment:
        active = [h for h in hits if h.active]
        level = max((h.effective for h in active), default=Level.NONE)
        # Past states never combine. Someone else's plan for tonight does, one level lower:
        # the resident may be the one who can still call for help.
        own = {h.category for h in active if not ({"third_party", "past"} & set(h.modifiers))}
        others = own | {h.category for h in active if "past" not in h.modifiers}
        combos = []
        for combo in self.lexicon.modifiers.combinations:
            if set(combo.all) <= own:
                combos.append(combo.id)
                level = max(level, Level.parse(combo.level))
            elif set(combo.all) <= others:
                combos.append(f"{combo.id} (third party)")
                level = max(level, Level(Level.parse(combo.level) - 1))
        categories = tuple(sorted({h.category for h in active if h.level != SIGNAL}))
        return RiskAssessment(level, categories, tuple(hits), tuple(combos),
                              self.lexicon.version)


def _lemma_matches(positions: list[list[str]], gap: int,
                   tokens: list[Token]) -> list[tuple[int, int]]:
    found = []
    for i, token in enumerate(tokens):
        if token.lemma not in positions[0]:
            continue
        at = i
        for alternatives in positions[1:]:
            nxt = next((k for k in range(at + 1, min(at + 2 + gap, len(tokens)))
                        if tokens[k].lemma in alternatives
                        and tokens[k].sentence == token.sentence), None)
            if nxt is None:
                break
            at = nxt
        else:
            found.append((i, at))
    return found


def _tokens_covering(tokens: list[Token], start: int, end: int) -> tuple[int, int] | None:
    inside = [i for i, tk in enumerate(tokens) if tk.end > start and tk.start < end]
    return (inside[0], inside[-1]) if inside else None


def _dedupe(hits: list[Hit]) -> list[Hit]:
    """One hit per category and place: a typo pattern and a lemma rule often find the same
    words; the first rule of the category (the lemma one) explains it."""
    out: list[Hit] = []
    # The strongest reading of a place wins (「今殴られている」 is imminent, not only high).
    for h in sorted(hits, key=lambda h: (not h.active, -h.effective)):
        if not any(o.category == h.category and o.start < h.end and h.start < o.end
                   for o in out):
            out.append(h)
    return sorted(out, key=lambda h: (h.start, h.end))


@lru_cache(maxsize=1)
def default_analyzer() -> Analyzer:
    from bot.settings import DEFAULT_CONTENT_DIR

    return Analyzer(load_lexicon(DEFAULT_CONTENT_DIR / "risk"))


def analyze(text: str) -> RiskAssessment:
    """Assess one message with the shipped lexicon."""
    return default_analyzer().analyze(text)
