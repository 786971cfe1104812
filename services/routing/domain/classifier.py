"""The first rule-based classifier: declarative rules (``rules/rules.yaml``) over catalog
codes. Pure: text and hints in, a ``Classification`` out, explained.

Scoring: every keyword that matches adds weight to its case type (longer keywords weigh
more, being more specific); a kiosk or desk hint adds a bonus, which the text can
outweigh, and the explanation then says so. The level comes from the first level rule that
matches the chosen case type or the text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from shared.catalog import Catalog

AGENCY_HINT_BONUS = 1.2
CASE_TYPE_HINT_BONUS = 1.6
REVIEW_BELOW = 0.5


@dataclass(frozen=True)
class Keyword:
    text: str
    whole_word: bool

    @property
    def weight(self) -> float:
        return 1.0 + 0.08 * len(self.text)


@dataclass(frozen=True)
class LevelRule:
    rule_id: str
    level: str
    case_types: frozenset[tuple[str, str]]
    keywords: tuple[Keyword, ...]
    reason: str


@dataclass(frozen=True)
class RuleSet:
    version: str
    case_type_keywords: dict[tuple[str, str], tuple[Keyword, ...]]
    level_rules: tuple[LevelRule, ...]


@dataclass(frozen=True)
class Classification:
    level: str
    agency: str
    case_type: str
    confidence: float
    explanation: str
    needs_review: bool
    model_version: str
    rule_id: str
    matched: tuple[str, ...] = field(default=())


def normalise(text: str) -> str:
    """Lower case, no diacritics, words separated by single spaces, padded with spaces."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " " + re.sub(r"[^a-z0-9]+", " ", text).strip() + " "


def parse_keyword(raw: str) -> Keyword:
    whole = raw.endswith(".") or len(raw) <= 3
    return Keyword(normalise(raw.rstrip(".")).strip(), whole)


def matches(keyword: Keyword, text: str) -> bool:
    needle = f" {keyword.text} " if keyword.whole_word else f" {keyword.text}"
    return needle in text


def build_rules(raw: dict, catalog: Catalog) -> RuleSet:
    """Build and check a rule set: every code must exist in the catalog."""
    keywords = {}
    for key, words in raw["case_types"].items():
        agency, case_type = key.split("/")
        if not catalog.is_case_type(agency, case_type):
            raise ValueError(f"rules name unknown case type {key}")
        keywords[(agency, case_type)] = tuple(parse_keyword(w) for w in words)
    level_rules = []
    for rule in raw["levels"]:
        codes = frozenset(tuple(c.split("/")) for c in rule.get("case_types", []))
        if unknown := [c for c in codes if not catalog.is_case_type(*c)]:
            raise ValueError(f"rule {rule['id']} names unknown case types {unknown}")
        level_rules.append(
            LevelRule(
                rule_id=rule["id"],
                level=rule["level"],
                case_types=codes,
                keywords=tuple(parse_keyword(w) for w in rule.get("keywords", [])),
                reason=rule["reason"],
            )
        )
    return RuleSet(raw["version"], keywords, tuple(level_rules))


class Classifier:
    def __init__(self, rules: RuleSet, catalog: Catalog) -> None:
        self.rules = rules
        self.catalog = catalog

    def classify(
        self, text: str, agency: str | None = None, case_type: str | None = None
    ) -> Classification:
        agency = agency if agency and self.catalog.is_agency(agency) else None
        if case_type and not (agency and self.catalog.is_case_type(agency, case_type)):
            case_type = None
        clean = normalise(text[:4000])
        scores, hits = self._score_case_types(clean)
        text_best = max(scores, key=scores.get) if scores else None
        for key in self.catalog.case_types:
            bonus = (CASE_TYPE_HINT_BONUS if (agency, case_type) == key else 0.0) + (
                AGENCY_HINT_BONUS if agency == key[0] else 0.0
            )
            if bonus:
                scores[key] = scores.get(key, 0.0) + bonus
        chosen = max(scores, key=scores.get) if scores else ("skatteverket", "ovrigt")
        rule = self._level_rule(chosen, clean)
        confidence = self._confidence(scores, chosen, bool(hits.get(chosen)))
        notes = self._hint_notes(agency, case_type, chosen, text_best)
        return Classification(
            level=rule.level,
            agency=chosen[0],
            case_type=chosen[1],
            confidence=confidence,
            explanation=self._explain(rule, chosen, hits.get(chosen, ()), notes),
            needs_review=confidence < REVIEW_BELOW,
            model_version=self.rules.version,
            rule_id=rule.rule_id,
            matched=tuple(hits.get(chosen, ())),
        )

    def _score_case_types(self, clean: str):
        scores: dict[tuple[str, str], float] = {}
        hits: dict[tuple[str, str], list[str]] = {}
        for key, keywords in self.rules.case_type_keywords.items():
            for keyword in keywords:
                if matches(keyword, clean):
                    scores[key] = scores.get(key, 0.0) + keyword.weight
                    hits.setdefault(key, []).append(keyword.text)
        return scores, hits

    def _level_rule(self, chosen: tuple[str, str], clean: str) -> LevelRule:
        for rule in self.rules.level_rules:
            if chosen in rule.case_types or any(matches(k, clean) for k in rule.keywords):
                return rule
            if not rule.case_types and not rule.keywords:
                return rule
        return self.rules.level_rules[-1]

    @staticmethod
    def _confidence(scores: dict, chosen: tuple[str, str], text_matched: bool) -> float:
        if not text_matched:
            return 0.35 if scores else 0.1
        ranked = sorted(scores.values(), reverse=True)
        runner_up = ranked[1] if len(ranked) > 1 else 0.0
        margin = (scores[chosen] - runner_up) / scores[chosen]
        return round(min(0.99, 0.55 + 0.45 * margin), 2)

    @staticmethod
    def _hint_notes(agency, case_type, chosen, text_best) -> list[str]:
        notes = []
        if agency and agency != chosen[0]:
            notes.append(f"the hint {agency} was outweighed by the text")
        elif case_type and case_type != chosen[1]:
            notes.append(f"the hint {agency}/{case_type} was outweighed by the text")
        elif (agency or case_type) and text_best is None:
            notes.append("decided by the hint alone: no words in the text matched")
        return notes

    def _explain(self, rule: LevelRule, chosen, words, notes: list[str]) -> str:
        name = self.catalog.case_types[chosen].name
        agency_name = self.catalog.agency_names[chosen[0]]
        found = f"words {', '.join(repr(w) for w in words)} point to" if words else "no words matched;"
        parts = [f"{found} {agency_name}: {name}.", f"Level {rule.level} by rule {rule.rule_id}: {rule.reason}"]
        return " ".join(parts + [n[0].upper() + n[1:] + "." for n in notes])
