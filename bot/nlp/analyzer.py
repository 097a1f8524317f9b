"""`analyze(text) -> RiskAssessment`: lemma-based, negation-aware, explainable. No I/O.

1. Normalise (NFKC, width, case, runs of one character) keeping a map to the original text.
2. Tokenise with fugashi (unidic-lite) into lemmas; match rules as lemma sequences with small
   gaps, and as patterns on the normalised text (for what the dictionary does not know: OD,
   リスカ, typos such as 氏にたい).
3. Modify each match: negated (死にたくない), an idiom (死ぬほど眠い) or about a story
   (ドラマでDVのシーン) → inactive; someone else's words (友達が死にたいと言っている, ODしてる
   友達) or the past (昔は; not 昔から) → one level lower, unless the rule or category keeps it.
4. The level is the highest active one, raised by combinations of categories (ideation with a
   plan or with "tonight" is imminent).
"""

from __future__ import annotations

import bisect
import itertools
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Any

from bot.nlp.features import features
from bot.nlp.levels import Level
from bot.nlp.lexicon import Category, Lexicon, Rule
from bot.nlp.model import ModelScore, RiskModel
from bot.nlp.normalize import Normalised, to_hiragana
from bot.nlp.patterns import Pattern, PatternSet
from bot.nlp.prepare import Prepared, prepare, readings
from bot.nlp.tokens import Token

SIGNAL = "signal"
INACTIVE = {"negated", "idiom", "media"}  # modifiers that make a hit count for nothing
CLAUSE_ENDS = set("、,，。！？!?")
OPEN_QUOTES, CLOSE_QUOTES = set("「『"), set("」』")
FIRST_PERSON = {"私", "僕", "俺", "自分", "あたし", "うち"}
# What may stand between a phrase and the person it describes (リスカ「してる」子).
RELATIVE_FILLERS = {"て", "てる", "居る", "為る", "た", "ちゃう", "しまう"}


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
        return not (INACTIVE & set(self.modifiers))

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
    model: ModelScore | None = None  # the statistical model's reading, beside the rules'
    script: str = "ja"  # ja, romaji (read as kana) or en
    read_as: str | None = None  # the kana a romaji message was read as
    window: int = 1  # how many of the resident's bubbles were read together

    @property
    def rules_level(self) -> Level:
        return max((h.effective for h in self.hits if h.active), default=Level.NONE)

    @property
    def unsure(self) -> bool:
        """The model is in its grey band of danger (high or imminent) above the level given:
        not sure the resident is safe. Unsure of mere hardship (concern) is not this."""
        return self.model is not None and self.model.unsure is not None \
            and self.model.unsure >= Level.HIGH and self.model.unsure > self.level

    def explain(self) -> list[str]:
        """One line per hit, for a counsellor: what matched, where, and what changed it."""
        lines = []
        if self.window > 1:
            lines.append(f"read with the {self.window - 1} bubble(s) before it")
        if self.read_as is not None:
            lines.append(f"romaji read as 「{self.read_as}」")
        for h in self.hits:
            mods = f" ({', '.join(h.modifiers)})" if h.modifiers else ""
            lines.append(f"{h.category} / {h.rule_id}: 「{h.text}」 [{h.start}:{h.end}] "
                         f"{h.why} → {h.effective.label}{mods}")
        lines += [f"combination {c}" for c in self.combinations]
        if self.model is not None:
            m = self.model
            p = ", ".join(f"{lv.label} {v:.2f}" for lv, v in m.probabilities.items())
            said = m.level.label + (f", unsure of {m.unsure.label}" if m.unsure else "")
            lines.append(f"model → {said} ({p})")
            if m.pushes:
                lines.append("model pushed by " + ", ".join(
                    f"{push.feature} {push.weight:+.2f}" for push in m.pushes))
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level.label, "categories": list(self.categories),
                "hits": [h.to_dict() for h in self.hits],
                "combinations": list(self.combinations), "lexicon": self.lexicon_version,
                **self.reading()}

    def reading(self) -> dict[str, Any]:
        """How the message was read beyond the rules' hits: the script, the romaji reading, the
        window of bubbles and the model's score (stored with each assessment)."""
        out: dict[str, Any] = {"script": self.script}
        if self.model is not None:
            out["model"] = self.model.to_dict()
        if self.read_as is not None:
            out["read_as"] = self.read_as
        if self.window > 1:
            out["window"] = self.window
        return out


@dataclass
class _Text:
    norm: Normalised
    folded: str  # the normalised text with katakana as hiragana, for patterns
    tokens: list[Token]
    by_lemma: dict[str, list[int]] = field(default_factory=dict)  # lemma -> token indexes


class Analyzer:
    def __init__(self, lexicon: Lexicon, model: RiskModel | None = None) -> None:
        self.lexicon = lexicon
        self.model = model
        m = lexicon.modifiers
        self._negators = set(m.negators)
        self._fillers = set(m.negation_fillers)
        self._third_nouns = set(m.third_party_nouns)
        self._third_markers = set(m.third_party_markers)
        self._reporting = set(m.reporting_verbs)
        self._past = set(m.past_markers)
        self._media = set(m.media_nouns)
        # Patterns are folded like the text (width, katakana → hiragana), so copy may be
        # written in any of them.
        self._patterns = {
            rule.id: Pattern.of(_folded(rule.pattern),
                                _folded(rule.unless) if rule.unless else None)
            for c in lexicon.categories for rule in c.rules if rule.pattern
        }
        # Rules by the lemmas they can start with, and the pattern rules, in lexicon order:
        # a message only meets the rules its own words can start.
        ordered = [(c, r) for c in lexicon.categories for r in c.rules]
        self._order = {r.id: n for n, (_, r) in enumerate(ordered)}
        self._by_first_lemma: dict[str, list[tuple[Category, Rule]]] = {}
        for c, r in ordered:
            for lemma in (r.lemmas[0] if r.lemmas else []):
                self._by_first_lemma.setdefault(lemma, []).append((c, r))
        self._idioms_by_first: dict[str, list[list[str]]] = {}
        for idiom in m.idioms:
            self._idioms_by_first.setdefault(idiom[0], []).append(idiom)
        self._longest_idiom = max((len(i) for i in m.idioms), default=1)
        self._pattern_rules = [(self._order[r.id], c, r, self._patterns[r.id])
                               for c, r in ordered if r.pattern]
        self._pattern_set = PatternSet([_folded(r.pattern or "") for _, _, r, _ in
                                        self._pattern_rules])

    def analyze(self, text: str) -> RiskAssessment:
        return max((self._analyze(p) for p in readings(text)), key=lambda r: r.level)

    def _analyze(self, prepared: Prepared) -> RiskAssessment:
        rules = self._assess(_dedupe(self._hits(prepared)))
        if self.model is None:
            return replace(rules, script=prepared.script, read_as=prepared.read_as)
        score = self.model.score(features(prepared.folded, prepared.tokens))
        # The safer of the two readings: a miss can cost a life, a false alarm a look. Unsure
        # whether a life is in danger now is at least high (and `unsure` brings the hotlines).
        level = max(rules.level, score.level,
                    Level.HIGH if score.unsure == Level.IMMINENT else Level.NONE)
        return replace(rules, level=level, model=score, script=prepared.script,
                       read_as=prepared.read_as)

    def hits(self, text: str) -> list[Hit]:
        """Every rule's matches, before overlapping ones are merged (for checking rules)."""
        return self._hits(prepare(text))

    def _hits(self, prepared: Prepared) -> list[Hit]:
        t = _Text(prepared.norm, prepared.folded, prepared.tokens)
        for i, token in enumerate(t.tokens):
            t.by_lemma.setdefault(token.lemma, []).append(i)
        # (rule order, category, rule, first token, last token); scanned in a flat loop because
        # with a hundred rules per message, call overhead is most of the cost.
        spans: list[tuple[int, Category, Rule, int, int]] = []
        folded, tokens = t.folded, t.tokens
        for k in self._pattern_set.candidates(folded):
            order, category, rule, pattern = self._pattern_rules[k]
            for start, end in pattern.finditer(folded):
                span = _tokens_covering(tokens, start, end)
                if span is not None:
                    spans.append((order, category, rule, *span))
        lemma_rules = {r.id: (c, r) for lemma in t.by_lemma
                       for c, r in self._by_first_lemma.get(lemma, ())}
        for category, rule in lemma_rules.values():
            starts = sorted(i for lemma in rule.lemmas[0] for i in t.by_lemma.get(lemma, ()))
            for first, last in _lemma_matches(rule.lemmas, rule.gap, t.tokens, starts):
                spans.append((self._order[rule.id], category, rule, first, last))
        spans.sort(key=lambda s: (s[0], s[3]))
        found = [(self._hit(c, r, t, first, last), first, last) for _, c, r, first, last in spans]
        return self._affirmed_signals(found, t.tokens)

    def _affirmed_signals(self, found: list[tuple[Hit, int, int]],
                          tokens: list[Token]) -> list[Hit]:
        """A signal is negated with its predicate (今から死ぬとかじゃない), unless the
        predicate is part of a risk phrase that stands: in 今日中に「いなくなる」ね the なく
        belongs to the phrase."""
        out = []
        for hit, _, last in found:
            if hit.level == SIGNAL and "negated" in hit.modifiers:
                at = self._predicate(tokens, last)
                if any(h.level != SIGNAL and h.active and f <= at <= to for h, f, to in found):
                    hit = replace(hit, modifiers=tuple(m for m in hit.modifiers if m != "negated"))
            out.append(hit)
        return out

    # ------------------------------------------------------------------ matching

    def _hit(self, category: Category, rule: Rule, t: _Text, first: int, last: int) -> Hit:
        tokens = t.tokens
        start, end = t.norm.span(tokens[first].start, tokens[last].end)
        modifiers: list[str] = []
        # A signal (今から, 今夜) is negated with what it qualifies: 「今から死ぬとかじゃない」.
        if self._negated(tokens, self._predicate(tokens, last) if rule.level == SIGNAL else last):
            modifiers.append("negated")
        if self._in_idiom(tokens, first, last):
            modifiers.append("idiom")
        if self._about_media(tokens, first, last):
            modifiers.append("media")
        third_party = rule.third_party or category.third_party
        if third_party == "lower" and self._third_party(tokens, first, last):
            modifiers.append("third_party")
        if (rule.past or category.past) == "lower" and self._in_past(tokens, first):
            modifiers.append("past")
        level = Level.NONE if rule.level == SIGNAL else Level.parse(rule.level)
        if INACTIVE & set(modifiers):
            level = Level.NONE
        elif "third_party" in modifiers or "past" in modifiers:
            level = max(Level.CONCERN, Level(level - 1)) if level else level
        why = ("lemmas " + " + ".join("/".join(alts) for alts in rule.lemmas)) if rule.lemmas \
            else "surface pattern"
        return Hit(rule.id, category.category, rule.level, level, start, end,
                   t.norm.original[start:end], why, tuple(modifiers))

    # ------------------------------------------------------------------ modifiers

    @staticmethod
    def _predicate(tokens: list[Token], last: int) -> int:
        """The verb or adjective a signal word qualifies: the first one after it in its clause
        (今から「死ぬ」とかじゃない); the signal itself when there is none nearby."""
        for k in range(last + 1, min(last + 4, len(tokens))):
            if tokens[k].surface in CLAUSE_ENDS or tokens[k].sentence != tokens[last].sentence:
                break
            if tokens[k].pos in ("動詞", "形容詞"):
                return k
        return last

    def _negated(self, tokens: list[Token], last: int) -> bool:
        """A negator right after the phrase, with only fillers between (死ぬつもりはない)."""
        following = tokens[last + 1: last + 11]
        for k, token in enumerate(following):
            if token.surface == "ぬ" and tokens[last + k].surface == "し":
                return False  # 「しぬ」 is 死ぬ written in kana, not the classical negative of する
            if token.lemma in self._negators and token.pos in ("助動詞", "形容詞"):
                # しなければ/しないと（ならない）is obligation, not negation.
                after = following[k + 1: k + 2]
                return not (after and after[0].lemma in ("ば", "と"))
            if token.lemma not in self._fillers:
                return False
        return False

    def _about_media(self, tokens: list[Token], first: int, last: int) -> bool:
        """The phrase names a story or a report, not the resident: a media noun it
        modifies (自殺の「記事」, 『死にたい夜のスープ』って「小説」) or one that sets the scene
        before it (「ドラマ」で主人公が…), with no verb between: ニュースで見て
        死にたくなった is the resident."""
        if not self._media:
            return False
        sentence = tokens[first].sentence
        for tk in tokens[last + 1:last + 9]:
            if tk.sentence != sentence or tk.pos in ("動詞", "形容詞", "助動詞"):
                break
            if tk.lemma in self._media:
                return True
        for k in range(first - 1, -1, -1):
            tk = tokens[k]
            if tk.sentence != sentence or tk.pos in ("動詞", "形容詞", "助動詞"):
                return False
            nxt = tokens[k + 1]
            if tk.lemma in self._media and (nxt.lemma in ("で", "の") or nxt.surface == "、"):
                return True
        return False

    def _in_idiom(self, tokens: list[Token], first: int, last: int) -> bool:
        for i in range(max(0, first - self._longest_idiom + 1), min(last + 1, len(tokens))):
            for idiom in self._idioms_by_first.get(tokens[i].lemma, ()):
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
        # The phrase describes someone named right after it: 「ODしてる友達がいて」.
        for tk in after:
            if tk.lemma in self._third_nouns:
                return True
            if tk.pos != "助動詞" and tk.lemma not in RELATIVE_FILLERS:
                break
        has_noun = any(tk.lemma in self._third_nouns for tk in tokens if tk.sentence == sentence)
        return (has_noun and any(tk.lemma in self._reporting for tk in after)) \
            or self._quoted_report(tokens, first, last)

    def _quoted_report(self, tokens: list[Token], first: int, last: int) -> bool:
        """「消えたい」とか送ってきます: quoted words, reported, in a message about someone else
        (a third-party noun somewhere in it) and with no 私 in the sentence."""
        sentence = tokens[first].sentence
        for tk in reversed(tokens[:first]):
            if tk.sentence != sentence or tk.surface in CLOSE_QUOTES:
                return False
            if tk.surface in OPEN_QUOTES:
                break
        else:
            return False
        close = next((k for k in range(last + 1, min(last + 8, len(tokens)))
                      if tokens[k].surface in CLOSE_QUOTES), None)
        if close is None or not any(tk.lemma in self._reporting
                                    for tk in tokens[close + 1:close + 5]):
            return False
        if any(tk.lemma in FIRST_PERSON for tk in tokens if tk.sentence == sentence):
            return False
        return any(tk.lemma in self._third_nouns for tk in tokens)

    def _in_past(self, tokens: list[Token], first: int) -> bool:
        sentence = tokens[first].sentence
        before = tokens[:first]
        for k in range(first - 1, -1, -1):
            tk = tokens[k]
            if tk.sentence != sentence:
                break
            if not (tk.lemma in self._past or tk.surface in self._past):
                continue
            # 「昔から」「子どもの頃から」 is "ever since": still going on.
            if k + 1 < first and before[k + 1].lemma == "から":
                continue
            # 「行く前に」 is "before going" and 「家の前」 a place: only a time's 前 (3年前,
            # この前) is a time ago.
            if k and tk.lemma == "前" and (before[k - 1].pos in ("動詞", "助動詞")
                                          or before[k - 1].lemma == "の"):
                continue
            return True
        return False

    # ------------------------------------------------------------------ level

    def _assess(self, hits: list[Hit]) -> RiskAssessment:
        active = [h for h in hits if h.active]
        level = max((h.effective for h in active), default=Level.NONE)
        # Past states never combine. Someone else's plan for tonight does, one level lower:
        # the resident may be the one who can still call for help.
        # A concern-level rule (asking for a hotline number) flags a category without making
        # it a reason for a combination: 今から自殺相談に電話します is not a plan.
        joins = [h for h in active if h.level != Level.CONCERN.label]
        own = {h.category for h in joins if not ({"third_party", "past"} & set(h.modifiers))}
        others = own | {h.category for h in joins if "past" not in h.modifiers}
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


def _lemma_matches(positions: list[list[str]], gap: int, tokens: list[Token],
                   starts: list[int]) -> list[tuple[int, int]]:
    found = []
    for i in starts:
        token = tokens[i]
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
    first = bisect.bisect_right(tokens, start, key=lambda tk: tk.end)  # first ending after start
    last = bisect.bisect_left(tokens, end, key=lambda tk: tk.start) - 1  # last starting before end
    return (first, last) if first <= last else None


def _folded(pattern: str) -> str:
    return to_hiragana(unicodedata.normalize("NFKC", pattern))


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


_shared: dict[tuple[str, str], Analyzer] = {}


def analyzer_for(lexicon: Lexicon, model: RiskModel | None) -> Analyzer:
    """One analyser per lexicon and model version, shared by everyone who reads with them (the
    conversation, a rehearsal of a draft, the lexicon box): it holds no state between messages,
    and its RE2 programs warm up with use."""
    key = (lexicon.version, model.version if model is not None else "")
    found = _shared.get(key)
    if found is None:
        if len(_shared) > 8:
            _shared.clear()
        found = _shared[key] = Analyzer(lexicon, model)
    return found
