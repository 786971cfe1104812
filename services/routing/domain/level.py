"""The level: what the visitor wants (the intent) combined with what the case type's
service allows the office to do.

Two axes, both named in the decision:
- **intent**, read by the text model's level head with the level cues added in log-odds:
  ``information`` (how, what, where, forms, e-services, handing in documents),
  ``own_case`` (the visitor's own payment, status, decision), ``needs_agency`` (a matter
  only the agency can handle: contesting, another country, fraud, a life event, an
  individual assessment);
- **the case type's service**: for most case types the office does everything short of
  the agency's own decisions. For *agency-only* services (the level rules' case types:
  ID documents, moving to Sweden, permits and citizenship, debt relief) the office
  informs and looks up the visitor's own case, but the service itself (applying, an
  identity check, registration) is the agency's.

The combination: information → general, own case → in_depth, needs the agency →
complex. For an agency-only service the rule's complex holds unless the text clearly
asks for information or about an own pending case, without asking for the service
(a request cue: "I want to apply", "I need a new one", "stolen"). A keyword level rule
(appeals, permits named outright) decides complex whatever the case type.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from services.routing.domain.evidence import Evidence, softmax
from services.routing.domain.rules import Found, Keyword, RuleSet
from shared.catalog import LEVELS

# Set on the corpus's train split (5-fold cross-validation, docs/routing.md), never on
# the independent set or the held-out split.
COMPLEX_AT = 0.3  # the level head says complex from this P(needs the agency)
AGENCY_ONLY_YIELDS_AT = 0.5  # an agency-only service yields to information/own case from this P
OWN_CASE_ALONE_AT = 0.7  # the own-case reading needs no cue from this P
RULE_KEYWORD_PROBABILITY = 0.9  # how sure a level rule is that matched a keyword
LEVEL_CUE_WEIGHT = 0.6  # log-odds added to a level per unit of cue weight

INTENTS = {"general": "information", "in_depth": "own case", "complex": "needs the agency"}


@dataclass(frozen=True)
class LevelDecision:
    level: str
    probability: float
    rule_id: str
    reason: str
    intent: str = ""


def level_probabilities(labels: tuple[str, ...], evidence: Evidence, cues: dict[str, list[Keyword]]) -> list[float]:
    weight = evidence.weight
    scores = [
        math.log(max(weight * p + (1.0 - weight) / len(labels), 1e-12))
        + LEVEL_CUE_WEIGHT * sum(k.weight for k in cues.get(level, ()))
        for p, level in zip(evidence.prediction.levels, labels, strict=True)
    ]
    return softmax(scores)


def _intent_words(labels: tuple[str, ...], evidence: Evidence, found: Found, level: str) -> str:
    cue_words = [k.text for k in found.cues.get(level, ())]
    model_words = evidence.prediction.explain("level", labels.index(level), 3) if evidence.weight > 0 else ()
    words = cue_words + [w for w in model_words if w not in cue_words]
    return f" (the words {', '.join(repr(w) for w in words[:4])})" if words else ""


def level_of(labels: tuple[str, ...], rules: RuleSet, evidence: Evidence, clean: str, found: Found) -> LevelDecision:
    probs = level_probabilities(labels, evidence, found.cues)
    hit = rules.level_rule(evidence.chosen, clean, found)
    if hit is not None:
        rule, why = hit
        if why != "case type":  # a keyword rule: the text names the matter outright
            probability = RULE_KEYWORD_PROBABILITY + (1 - RULE_KEYWORD_PROBABILITY) * probs[labels.index(rule.level)]
            reason = f"Intent {INTENTS[rule.level]}: level {rule.level} by rule {rule.rule_id} (found {why!r}): {rule.reason}"
            return LevelDecision(rule.level, probability, rule.rule_id, reason, INTENTS[rule.level])
        return _agency_only(labels, rule, probs, evidence, found)
    return _by_intent(labels, probs, evidence, found)


def _agency_only(labels, rule, probs: list[float], evidence: Evidence, found: Found) -> LevelDecision:
    """An agency-only service: complex unless the visitor clearly asks for information or
    about an own pending case, and does not ask for the service itself."""
    keys = zip(evidence.posterior, evidence.labels, strict=True)
    sure_case = sum(p for p, key in keys if key in rule.case_types)
    best = max(range(len(labels)), key=probs.__getitem__)
    asked = labels[best]
    requests = [k.text for k in found.requests]
    # positive evidence of the intent: a question about it, or the visitor's own case
    evidence_for = bool(found.questions) if asked == "general" else bool(found.cues.get("in_depth")) or probs[best] >= OWN_CASE_ALONE_AT
    if asked != "complex" and probs[best] >= AGENCY_ONLY_YIELDS_AT and evidence.weight >= 1.0 and not requests and evidence_for:
        intent = INTENTS[asked]
        words = _intent_words(labels, evidence, found, asked)
        service = "the office informs about it" if asked == "general" else "the office looks up the visitor's own case"
        reason = (f"Intent {intent}{words}; the service itself is the agency's ({rule.rule_id}), "
                  f"but {service}: level {asked} (intent × case type).")
        return LevelDecision(asked, probs[best], "intent", reason, intent)
    probability = sure_case + (1.0 - sure_case) * probs[labels.index(rule.level)]
    if requests:
        why = f"asks for the service ({', '.join(repr(w) for w in requests[:3])})"
    else:
        why = "no clear question for information or about an own case"
    reason = f"Intent {INTENTS[rule.level]}: {why}. Level {rule.level} by rule {rule.rule_id}: {rule.reason}"
    return LevelDecision(rule.level, probability, rule.rule_id, reason, INTENTS[rule.level])


def _by_intent(labels, probs: list[float], evidence: Evidence, found: Found) -> LevelDecision:
    # ties (no evidence at all) go to the least far-reaching level: general
    index = max(range(len(labels)), key=lambda i: (probs[i], -LEVELS.index(labels[i])))
    understood = evidence.weight > 0.0 or bool(found.cues)
    # recall first, but only where the model reads the text fully: a text it barely
    # understands is near even odds, and must not turn complex by default
    if evidence.weight >= 1.0 and "complex" in labels and probs[labels.index("complex")] >= COMPLEX_AT:
        index = labels.index("complex")
    level = labels[index]
    intent = INTENTS[level]
    if not understood:
        return LevelDecision(level, probs[index], "text_model", f"Level {level} by default: the text gives nothing to go on.", "")
    words = _intent_words(labels, evidence, found, level)
    return LevelDecision(level, probs[index], "text_model", f"Intent {intent} by the text model{words}: level {level}.", intent)
