"""The level: the first level rule that matches the chosen case type or the text decides
(what the sources state outright); otherwise the text model's level head, with the level
cues added in log-odds and a recall-first threshold for complex."""

from __future__ import annotations

import math
from dataclasses import dataclass

from services.routing.domain.evidence import Evidence, softmax
from services.routing.domain.rules import Found, Keyword, RuleSet
from shared.catalog import LEVELS

# Set by 5-fold cross-validation on the train split: the lowest threshold that keeps
# level accuracy there at 0.90 (a complex question kept at the office costs more than a
# general one sent on to the agency).
COMPLEX_AT = 0.3
RULE_KEYWORD_PROBABILITY = 0.9  # how sure a level rule is that matched a keyword
LEVEL_CUE_WEIGHT = 0.6  # log-odds added to a level per unit of cue weight


@dataclass(frozen=True)
class LevelDecision:
    level: str
    probability: float
    rule_id: str
    reason: str


def level_probabilities(labels: tuple[str, ...], evidence: Evidence, cues: dict[str, list[Keyword]]) -> list[float]:
    weight = evidence.weight
    scores = [
        math.log(max(weight * p + (1.0 - weight) / len(labels), 1e-12))
        + LEVEL_CUE_WEIGHT * sum(k.weight for k in cues.get(level, ()))
        for p, level in zip(evidence.prediction.levels, labels, strict=True)
    ]
    return softmax(scores)


def level_of(labels: tuple[str, ...], rules: RuleSet, evidence: Evidence, clean: str, found: Found) -> LevelDecision:
    probs = level_probabilities(labels, evidence, found.cues)
    hit = rules.level_rule(evidence.chosen, clean, found)
    if hit is not None:
        rule, why = hit
        if why == "case type":
            keys = zip(evidence.posterior, evidence.labels, strict=True)
            sure = sum(p for p, key in keys if key in rule.case_types)
        else:
            sure = RULE_KEYWORD_PROBABILITY
        probability = sure + (1.0 - sure) * probs[labels.index(rule.level)]
        keyword = "" if why == "case type" else f" (found {why!r})"
        reason = f"Level {rule.level} by rule {rule.rule_id}{keyword}: {rule.reason}"
        return LevelDecision(rule.level, probability, rule.rule_id, reason)
    # ties (no evidence at all) go to the least far-reaching level: general
    index = max(range(len(labels)), key=lambda i: (probs[i], -LEVELS.index(labels[i])))
    understood = evidence.weight > 0.0 or bool(found.cues)
    # recall first, but only where the model reads the text fully: a text it barely
    # understands is near even odds, and must not turn complex by default
    if evidence.weight >= 1.0 and "complex" in labels and probs[labels.index("complex")] >= COMPLEX_AT:
        index = labels.index("complex")
    level = labels[index]
    if not understood:
        return LevelDecision(level, probs[index], "text_model", f"Level {level} by default: the text gives nothing to go on.")
    cue_words = [k.text for k in found.cues.get(level, ())]
    words = cue_words + [w for w in evidence.prediction.explain("level", index, 3) if w not in cue_words]
    by = f", the words {', '.join(repr(w) for w in words[:4])} weighed most" if words else ""
    return LevelDecision(level, probs[index], "text_model", f"Level {level} by the text model{by}.")
