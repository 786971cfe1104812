"""The classifier: the rules and a statistical text model together, explained.

1. Hints (the agency and case type chosen at the kiosk or desk) are checked against the
   catalog; unknown codes are dropped and the explanation says so.
2. The text model gives a probability per case type; the lexicon's keywords and the
   hints multiply in (``evidence.py``), so strong text outweighs a hint.
3. The level (``level.py``): the first level rule that matches the chosen case type or
   the text decides (what the sources state outright); otherwise the text model's level
   head with the level cues.
   The level is intent × case type: what the visitor wants (information, own case, needs
   the agency) combined with what the case type's service lets the office do.
4. Confidence is the lower of the agency's and the level's probability; below
   ``REVIEW_BELOW`` the decision asks for a handler's review.
5. Nothing recognised (no keyword, no word the model knows, no hint): no agency or case
   type, level general, ``needs_review``; the event records ``fallback`` (the office's
   lead agency, "ovrigt") so that every event still names catalog codes.
6. With an office, the destination (``destination.py``); the explanation says why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from services.routing.domain.destination import Route, Router
from services.routing.domain.evidence import Evidence, combine
from services.routing.domain.level import level_of
from services.routing.domain.ports import TextModel, TextPrediction
from services.routing.domain.rules import RuleSet
from services.routing.domain.text import normalise
from shared.catalog import Catalog

# Below this confidence a decision asks for a handler's review: the lowest threshold at
# which the corpus's held-out split, decided without review, meets every target (level
# 0.90, complex recall 0.95, over-forwarding 5 %, agency 0.95); docs/routing.md.
REVIEW_BELOW = 0.7
UNRECOGNISED_CONFIDENCE = 0.1


@dataclass(frozen=True)
class Classification:
    level: str
    agency: str | None  # None: nothing in the question was recognised
    case_type: str | None
    confidence: float
    explanation: str
    needs_review: bool
    model_version: str
    rule_id: str
    matched: tuple[str, ...] = field(default=())
    destination: str = ""
    destination_reason: str = ""
    intent: str = ""  # information | own case | needs the agency ("" when unrecognised)
    fallback: tuple[str, str] = ("", "")  # the codes an event records when agency is None

    @property
    def recorded(self) -> tuple[str, str]:
        """The agency and case type an event records: the decision's, or ``fallback``."""
        if self.agency is None or self.case_type is None:
            return self.fallback
        return self.agency, self.case_type


@dataclass(frozen=True)
class Question:
    """One question to classify: the text, the kiosk/desk hints and the office."""

    text: str
    agency: str | None = None
    case_type: str | None = None
    office_id: str | None = None


@dataclass(frozen=True)
class Hints:
    agency: str | None
    case_type: str | None
    notes: tuple[str, ...]


def check_hints(catalog: Catalog, agency: str | None, case_type: str | None) -> Hints:
    """Keep only hints that name catalog codes; a lone case type names its agency when
    only one agency has it."""
    notes: list[str] = []
    if agency and not catalog.is_agency(agency):
        notes.append(f"The hint's agency {agency!r} is not a catalog code and was ignored.")
        agency = None
    if case_type and not agency:
        owners = [a for (a, c) in catalog.case_types if c == case_type]
        agency = owners[0] if len(owners) == 1 else None
        if agency is None:
            notes.append(f"The hint's case type {case_type!r} names no single agency and was ignored.")
            case_type = None
    if case_type and agency and not catalog.is_case_type(agency, case_type):
        notes.append(f"The hint's case type {case_type!r} is not a case type of {agency} and was ignored.")
        case_type = None
    return Hints(agency or None, case_type or None, tuple(notes))


class Classifier:
    def __init__(
        self, rules: RuleSet, catalog: Catalog, model: TextModel, router: Router | None = None
    ) -> None:
        self.rules = rules
        self.catalog = catalog
        self.model = model
        self.router = router
        self.model_version = f"{rules.version}+{model.version}"
        # with no evidence at all, the most common case type (2014 shares) wins the tie
        self.tiebreak = {key: 1e-6 * (c.share or 0.0) for key, c in catalog.case_types.items()}
        # where an unrecognised question is recorded without an office: the agency whose
        # "other questions" were the largest share (2014)
        self.default_agency = max(
            (key for key in catalog.case_types if key[1] == "ovrigt"),
            key=lambda key: catalog.case_types[key].share or 0.0,
        )[0]

    def classify(
        self,
        text: str,
        agency: str | None = None,
        case_type: str | None = None,
        *,
        office_id: str | None = None,
    ) -> Classification:
        clean = normalise(text if isinstance(text, str) else "")
        return self._decide(Question(text, agency, case_type, office_id), clean, self.model.predict(clean))

    def classify_many(self, questions: Iterable[Question]) -> list[Classification]:
        """``classify`` for many questions, with the text model run once for all."""
        items = list(questions)
        cleans = [normalise(q.text if isinstance(q.text, str) else "") for q in items]
        predictions = self.model.predict_many(cleans)
        return [self._decide(q, c, p) for q, c, p in zip(items, cleans, predictions, strict=True)]

    def _decide(self, question: Question, clean: str, prediction: TextPrediction) -> Classification:
        hints = check_hints(self.catalog, question.agency, question.case_type)
        found = self.rules.scan(clean)
        evidence = combine(
            self.model, prediction, found.case_types, clean, hints.agency, hints.case_type, self.tiebreak
        )
        if not (found.case_types or prediction.known > 0.0 or hints.agency):
            return self._unrecognised(question, hints)
        level = level_of(self.model.level_labels, self.rules, evidence, clean, found)
        confidence = round(min(evidence.agency_probability, level.probability), 2)
        route = self.route(level.level, *evidence.chosen, question.office_id)
        parts = [evidence.describe(self.catalog), level.reason, *evidence.hint_notes(self.catalog)]
        parts += list(hints.notes)
        if route.destination != "office":
            parts.append(f"Destination {route.destination}: {route.reason}")
        return Classification(
            level=level.level,
            agency=evidence.chosen[0],
            case_type=evidence.chosen[1],
            confidence=confidence,
            explanation=" ".join(parts),
            needs_review=confidence < REVIEW_BELOW,
            model_version=self.model_version,
            rule_id=level.rule_id,
            matched=evidence.words,
            destination=route.destination,
            destination_reason=route.reason,
            intent=level.intent,
        )

    def _unrecognised(self, question: Question, hints: Hints) -> Classification:
        office = self.router.offices.get(question.office_id) if self.router and question.office_id else None
        fallback = (office.lead_agency if office else self.default_agency, "ovrigt")
        explanation = (
            "Nothing in the text was recognised as a matter for an agency (no known word, "
            "keyword or hint): no agency or case type is guessed; a handler decides. "
            f"Recorded under {self.catalog.agency_names[fallback[0]]}: Övriga frågor until then."
        )
        return Classification(
            level="general", agency=None, case_type=None, confidence=UNRECOGNISED_CONFIDENCE,
            explanation=" ".join([explanation, *hints.notes]), needs_review=True,
            model_version=self.model_version, rule_id="not_recognised", destination="office",
            destination_reason="Handled at the office by its service handler.", fallback=fallback,
        )

    def route(self, level: str, agency: str, case_type: str, office_id: str | None) -> Route:
        if self.router is None:
            if level == "complex":
                return Route("agency_system", "No office registry: the agency takes the case in its own system.")
            return Route("office", "Handled at the office by its service handler.")
        return self.router.route(level, agency, case_type, office_id)


__all__ = ["Classification", "Classifier", "Evidence", "Hints", "Question", "check_hints"]
