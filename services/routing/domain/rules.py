"""Declarative rules (``adapters/data/rules.yaml``), checked against the catalog.

Two parts:
- the *lexicon*: words that point to a case type, or to an agency (all its case types).
  It is evidence beside the text model, not a verdict: every match raises the score.
- the *level cues*: words that are evidence for a level (asking how, about one's own
  case, about another country or a dispute); added to the text model's level reading.
- the *request cues*: words by which a visitor asks for a service itself ("I want to
  apply", "I need a new one", "stolen"), as opposed to asking about it;
- the *situations*: everyday words for a situation that needs the agency's own handling
  (a death in the family, an injury, another country, moving here, enforcement of a
  debt, a contested decision, fraud, protection, a permit at risk), named per group;
  strong evidence for complex, and a reason for review when the decision is not complex;
- the *level rules*: what the sources state outright (ID documents, moving to Sweden,
  permits, debt relief are services of the agency; appeals are complex). Tried in order;
  the first that matches the chosen case type or the text applies (``domain/level.py``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from services.routing.domain.text import Keyword, matches, parse_keyword
from shared.catalog import LEVELS, Catalog

CaseKey = tuple[str, str]
T = TypeVar("T")


@dataclass(frozen=True)
class LevelRule:
    rule_id: str
    level: str
    case_types: frozenset[CaseKey]
    keywords: tuple[Keyword, ...]
    reason: str


class KeywordIndex(Generic[T]):
    """Keywords, each pointing to one or more targets (case types, levels, rules),
    indexed so that a question is checked only against keywords that can match one of its
    words: phrases by their first two words (the second by its first three letters when
    it may match as the start of a longer word), whole-word keywords by the word, and
    other single words by their first four letters."""

    def __init__(self, entries: list[tuple[tuple[T, ...], Keyword]]) -> None:
        self.entries = entries
        self._exact: dict[str, list[tuple[tuple[T, ...], Keyword]]] = defaultdict(list)
        self._prefix: dict[str, list[tuple[tuple[T, ...], Keyword]]] = defaultdict(list)
        self._pairs: dict[tuple[str, str], list[tuple[tuple[T, ...], Keyword]]] = defaultdict(list)
        for targets, keyword in entries:
            words = keyword.text.split(" ")
            first = words[0]
            # the second word of a phrase is whole unless it ends the phrase, where a
            # keyword without a trailing dot matches the start of a word
            second_whole = len(words) > 2 or keyword.whole_word
            if len(words) > 1 and (second_whole or len(words[1]) >= 3):
                self._pairs[(first, words[1] if second_whole else words[1][:3])].append((targets, keyword))
            elif " " in keyword.text or keyword.whole_word or len(first) < 4:
                self._exact[first].append((targets, keyword))
            else:
                self._prefix[first[:4]].append((targets, keyword))

    def find(self, clean: str) -> dict[T, list[Keyword]]:
        found: dict[T, list[Keyword]] = {}
        seen: set[int] = set()
        tokens = clean.split()
        candidates = [entry for token in set(tokens) for entry in (*self._exact.get(token, ()), *self._prefix.get(token[:4], ()))]
        pairs = self._pairs
        if pairs:
            for a, b in set(zip(tokens, tokens[1:], strict=False)):
                candidates += pairs.get((a, b), ())
                candidates += pairs.get((a, b[:3]), ()) if len(b) > 3 else ()
        for entry in candidates:
            targets, keyword = entry
            if id(entry) not in seen and matches(keyword, clean):
                seen.add(id(entry))
                for target in targets:
                    found.setdefault(target, []).append(keyword)
        return found


Lexicon = KeywordIndex[CaseKey]


@dataclass(frozen=True)
class Found:
    """What one scan of a question found: lexicon keywords per case type, level cues per
    level, rule keywords per rule id."""

    case_types: dict[CaseKey, list[Keyword]]
    cues: dict[str, list[Keyword]]
    rules: dict[str, list[Keyword]]
    requests: tuple[Keyword, ...] = ()  # the visitor asks for a service itself
    questions: tuple[Keyword, ...] = ()  # the visitor asks about something
    situations: dict[str, list[Keyword]] = field(default_factory=dict)  # group -> words found


@dataclass(frozen=True)
class RuleSet:
    version: str
    lexicon: Lexicon
    level_rules: tuple[LevelRule, ...]
    level_cues: KeywordIndex[str]
    request_cues: tuple[Keyword, ...] = ()
    question_cues: tuple[Keyword, ...] = ()
    situations: tuple[tuple[str, Keyword], ...] = ()  # (group, keyword)
    agency_words: frozenset[str] = frozenset()  # lexicon words that name an agency, not a case type
    _all: KeywordIndex[tuple[str, object]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        """One index over the lexicon, the level cues and the rules' keywords, so a
        question is scanned once."""
        entries: list[tuple[tuple[tuple[str, object], ...], Keyword]] = []
        entries += [(tuple(("case", t) for t in targets), k) for targets, k in self.lexicon.entries]
        entries += [(tuple(("cue", t) for t in targets), k) for targets, k in self.level_cues.entries]
        entries += [((("rule", rule.rule_id),), k) for rule in self.level_rules for k in rule.keywords]
        entries += [((("request", "request"),), k) for k in self.request_cues]
        entries += [((("request", "question"),), k) for k in self.question_cues]
        entries += [((("situation", group),), k) for group, k in self.situations]
        object.__setattr__(self, "_all", KeywordIndex(entries))

    def scan(self, clean: str) -> Found:
        found = self._all.find(clean)
        parts: dict[str, dict] = {"case": {}, "cue": {}, "rule": {}, "request": {}, "situation": {}}
        for (kind, target), keywords in found.items():
            parts[kind][target] = keywords
        return Found(parts["case"], parts["cue"], parts["rule"], tuple(parts["request"].get("request", ())),
                     tuple(parts["request"].get("question", ())), parts["situation"])

    def cues(self, clean: str) -> dict[str, list[Keyword]]:
        """Words that are evidence for a level (not a verdict), found in the text."""
        return self.scan(clean).cues

    def specific_agencies(self, found: Found) -> set[str]:
        """The agencies whose case-type words (not merely their names) the scan found."""
        return {key[0] for key, words in found.case_types.items() if any(k.text not in self.agency_words for k in words)}

    def ruled_case_types(self) -> frozenset[CaseKey]:
        """Case types whose level a rule always decides."""
        return frozenset(key for rule in self.level_rules for key in rule.case_types)

    def level_rule(self, chosen: CaseKey, clean: str, found: Found | None = None) -> tuple[LevelRule, str] | None:
        """The first rule that matches the chosen case type ("case type") or the text
        (the keyword found), in file order."""
        by_rule = (found or self.scan(clean)).rules
        for rule in self.level_rules:
            if chosen in rule.case_types:
                return rule, "case type"
            if rule.rule_id in by_rule:
                return rule, by_rule[rule.rule_id][0].text
        return None


def _case_key(code: str, catalog: Catalog, where: str) -> CaseKey:
    agency, _, case_type = code.partition("/")
    if not catalog.is_case_type(agency, case_type):
        raise ValueError(f"{where} names unknown case type {code!r}")
    return agency, case_type


def build_rules(raw: dict, catalog: Catalog) -> RuleSet:
    """Build and check a rule set: codes must exist in the catalog, ids must be unique."""
    entries = [
        ((_case_key(code, catalog, "lexicon"),), parse_keyword(word))
        for code, words in raw["case_types"].items()
        for word in words
    ]
    agency_words: set[str] = set()
    for agency, words in raw.get("agencies", {}).items():
        if not catalog.is_agency(agency):
            raise ValueError(f"lexicon names unknown agency {agency!r}")
        keys = tuple((agency, c.code) for c in catalog.case_types_of(agency))
        entries += [(keys, parse_keyword(word)) for word in words]
        agency_words |= {parse_keyword(word).text for word in words}
    rules: list[LevelRule] = []
    for item in raw["levels"]:
        if item["level"] not in LEVELS:
            raise ValueError(f"rule {item['id']} has unknown level {item['level']!r}")
        if item["id"] in {r.rule_id for r in rules}:
            raise ValueError(f"rule id {item['id']} appears twice")
        codes = frozenset(_case_key(c, catalog, item["id"]) for c in item.get("case_types", []))
        keywords = tuple(parse_keyword(w) for w in item.get("keywords", []))
        if not codes and not keywords:
            raise ValueError(f"rule {item['id']} has neither case types nor keywords")
        rules.append(LevelRule(item["id"], item["level"], codes, keywords, item["reason"].strip()))
    cues: list[tuple[tuple[str, ...], Keyword]] = []
    for level, words in raw.get("level_cues", {}).items():
        if level not in LEVELS:
            raise ValueError(f"level cues name unknown level {level!r}")
        cues += [((level,), parse_keyword(w)) for w in words]
    requests = tuple(parse_keyword(w) for w in raw.get("request_cues", []))
    questions = tuple(parse_keyword(w) for w in raw.get("question_cues", []))
    situations = tuple((str(group), parse_keyword(w)) for group, words in raw.get("situations", {}).items() for w in words)
    return RuleSet(str(raw["version"]), KeywordIndex(entries), tuple(rules), KeywordIndex(cues), requests, questions,
                   situations, frozenset(agency_words))
