"""The level: what the visitor wants (the intent) combined with what the case type's
service allows the office to do.

Two axes, both named in the decision:
- **intent**, read by the text model's level head with the level cues added in log-odds:
  ``information`` (how, what, where, forms, e-services, handing in documents),
  ``own_case`` (the visitor's own payment, status, decision), ``needs_agency`` (a matter
  only the agency can handle: contesting, another country, fraud, a life event, an
  individual assessment). **Situations** (``rules.yaml``: a death, an injury, another
  country, moving here, enforcement, a contested decision, fraud, protection, a permit
  at risk, a benefit stopped or refused) are strong evidence for the last, told in
  everyday words;
- **the case type's service**: for most case types the office does everything short of
  the agency's own decisions. For *agency-only* services (the level rules' case types:
  ID documents, moving to Sweden, permits and citizenship, debt relief) the office
  informs and looks up the visitor's own case, but the service itself (applying, an
  identity check, registration) is the agency's.

The combination: information → general, own case → in_depth, needs the agency →
complex. For an agency-only service the intent starts from "needs the agency" (the
service is the agency's, ``AGENCY_ONLY_PRIOR``) and yields to information or an own
pending case only when the text clearly asks that, without asking for the service
(a request cue: "I want to apply", "I need a new one", "stolen") or telling a situation.
The probability of the chosen level is the intent's: a request read against a clear
own-case question is not sure, and says so (a review). A keyword level rule (appeals,
permits named outright) decides complex whatever the case type.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from services.routing.domain.evidence import Evidence, softmax
from services.routing.domain.rules import Found, RuleSet
from shared.catalog import LEVELS

# Set on the corpus's train split (5-fold cross-validation, docs/routing.md), never on
# the independent set or the held-out split.
COMPLEX_AT = 0.3  # the level head says complex from this P(needs the agency)
AGENCY_ONLY_YIELDS_AT = 0.5  # an agency-only service yields to information/own case from this P
OWN_CASE_ALONE_AT = 0.7  # the own-case reading needs no cue from this P
RULE_KEYWORD_PROBABILITY = 0.9  # how sure a level rule is that matched a keyword
LEVEL_CUE_WEIGHT = 0.6  # log-odds added to a level per unit of cue weight
# Set on the development set (adapters/data/dev_set.jsonl) and the held-out split, never on the
# independent set (docs/routing.md).
SITUATION_WEIGHT = 1.5  # log-odds for complex per situation group found
AGENCY_ONLY_PRIOR = 1.0  # log-odds for complex when the service is the agency's
REQUEST_WEIGHT = 2.0  # log-odds for complex when the visitor asks for an agency-only service
READING_DOUBT_AT = 0.8  # a situation that overturns a reading this clear asks for a review

INTENTS = {"general": "information", "in_depth": "own case", "complex": "needs the agency"}


@dataclass(frozen=True)
class LevelDecision:
    level: str
    probability: float
    rule_id: str
    reason: str
    intent: str = ""
    doubt: str = ""  # a conflict between the rules and the reading: a reason for review
    complex_probability: float = 0.0  # what the reading leaves for "needs the agency"


def level_scores(labels: tuple[str, ...], evidence: Evidence, found: Found) -> list[float]:
    """Log-odds per level: the head's reading (trusted as far as the text is known), the
    level cues, and the situations (once per group) for complex."""
    weight = evidence.weight
    cues = found.cues
    situation = SITUATION_WEIGHT * len(found.situations)
    return [
        math.log(max(weight * p + (1.0 - weight) / len(labels), 1e-12))
        + LEVEL_CUE_WEIGHT * sum(k.weight for k in cues.get(level, ()))
        + (situation if level == "complex" else 0.0)
        for p, level in zip(evidence.prediction.levels, labels, strict=True)
    ]


def level_probabilities(labels: tuple[str, ...], evidence: Evidence, found: Found) -> list[float]:
    return softmax(level_scores(labels, evidence, found))


def situation_words(found: Found) -> str:
    """The situations found, for an explanation: "death ('gick bort'), another country ('norge')"."""
    return ", ".join(f"{group.replace('_', ' ')} ({words[0].text!r})" for group, words in found.situations.items())


def _intent_words(labels: tuple[str, ...], evidence: Evidence, found: Found, level: str) -> str:
    cue_words = [k.text for k in found.cues.get(level, ())]
    model_words = evidence.prediction.explain("level", labels.index(level), 3) if evidence.weight > 0 else ()
    words = cue_words + [w for w in model_words if w not in cue_words]
    return f" (the words {', '.join(repr(w) for w in words[:4])})" if words else ""


def level_of(labels: tuple[str, ...], rules: RuleSet, evidence: Evidence, clean: str, found: Found) -> LevelDecision:
    hit = rules.level_rule(evidence.chosen, clean, found)
    if hit is not None and hit[1] == "case type":
        return _agency_only(labels, hit[0], evidence, found)
    probs = level_probabilities(labels, evidence, found)
    if hit is not None:
        rule, why = hit
        if why != "case type":  # a keyword rule: the text names the matter outright
            probability = RULE_KEYWORD_PROBABILITY + (1 - RULE_KEYWORD_PROBABILITY) * probs[labels.index(rule.level)]
            reason = f"Intent {INTENTS[rule.level]}: level {rule.level} by rule {rule.rule_id} (found {why!r}): {rule.reason}"
            return LevelDecision(rule.level, probability, rule.rule_id, reason, INTENTS[rule.level])
    return _by_intent(labels, probs, evidence, found)


def _agency_only(labels, rule, evidence: Evidence, found: Found) -> LevelDecision:
    """An agency-only service: complex unless the visitor clearly asks for information or
    about an own pending case, and neither asks for the service nor tells a situation.
    The probability is the intent's, with the service's own prior for complex."""
    scores = level_scores(labels, evidence, found)
    requests = [k.text for k in found.requests]
    scores[labels.index(rule.level)] += AGENCY_ONLY_PRIOR + (REQUEST_WEIGHT if requests else 0.0)
    probs = softmax(scores)
    head = level_probabilities(labels, evidence, found)  # the intent without the service's prior
    reading = max(range(len(labels)), key=head.__getitem__)
    asked = labels[reading]
    # positive evidence of the intent: a question about it, or the visitor's own case
    evidence_for = bool(found.questions) if asked == "general" else bool(found.cues.get("in_depth")) or head[reading] >= OWN_CASE_ALONE_AT
    if (asked != "complex" and head[reading] >= AGENCY_ONLY_YIELDS_AT and evidence.weight >= 1.0 and not requests
            and not found.situations and evidence_for):
        intent = INTENTS[asked]
        words = _intent_words(labels, evidence, found, asked)
        service = "the office informs about it" if asked == "general" else "the office looks up the visitor's own case"
        reason = (f"Intent {intent}{words}; the service itself is the agency's ({rule.rule_id}), "
                  f"but {service}: level {asked} (intent × case type).")
        return LevelDecision(asked, head[reading], "intent", reason, intent, complex_probability=probs[labels.index("complex")])
    complex_index = labels.index(rule.level)
    if (requests or found.situations) and not found.questions:
        # asked for outright (or a situation told) with no question about it: as sure as a
        # keyword rule; the head cannot judge this, it never learnt these services' requests
        probability = RULE_KEYWORD_PROBABILITY + (1 - RULE_KEYWORD_PROBABILITY) * probs[complex_index]
    else:
        # the service's prior, or a request beside a question: only as sure as the intent
        probability = probs[complex_index]
    doubt = ""
    if (requests or found.situations) and found.questions and asked != "complex" and head[reading] >= AGENCY_ONLY_YIELDS_AT:
        doubt = (f"it {'asks for the service' if requests else 'tells a situation'} but also asks "
                 f"{'for information' if asked == 'general' else 'about an own case'} ({asked})")
    if requests:
        why = f"asks for the service ({', '.join(repr(w) for w in requests[:3])})"
    elif found.situations:
        why = f"tells a situation: {situation_words(found)}"
    else:
        why = "no clear question for information or about an own case"
    reason = f"Intent {INTENTS[rule.level]}: {why}. Level {rule.level} by rule {rule.rule_id}: {rule.reason}"
    return LevelDecision(rule.level, probability, rule.rule_id, reason, INTENTS[rule.level], doubt)


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
    told = doubt = ""
    if found.situations and level == "complex":
        told = f"; the question tells a situation: {situation_words(found)}"
        without = softmax([s - (SITUATION_WEIGHT * len(found.situations) if label == "complex" else 0.0)
                           for s, label in zip(level_scores(labels, evidence, found), labels, strict=True)])
        reading = max(range(len(labels)), key=without.__getitem__)
        if labels[reading] != "complex" and without[reading] >= READING_DOUBT_AT:
            doubt = f"the situation overturns a clear reading as {labels[reading]} ({without[reading]:.2f})"
    reason = f"Intent {intent} by the text model{words}{told}: level {level}."
    return LevelDecision(level, probs[index], "text_model", reason, intent, doubt, probs[labels.index("complex")])
