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
   ``REVIEW_BELOW`` the decision asks for a handler's review. So does a decision with a
   reason to doubt it whatever its confidence (``review_reasons``): a situation that
   needs the agency told in a question not decided complex, a decision that is not
   complex while the reading leaves complex ``RECALL_GUARD`` or more, a conflict the
   level found (a request beside a question, a situation against a clear reading),
   keywords that point to another agency than the text model reads, a text largely
   unknown to the model, or a question holding several matters (each part is classified
   and reported in ``parts``; the decision is the most demanding part's).
5. Nothing recognised (no keyword, no word the model knows, no hint): no agency or case
   type, level general, ``needs_review``; the event records ``fallback`` (the office's
   lead agency, "ovrigt") so that every event still names catalog codes.
6. With an office, the destination (``destination.py``); the explanation says why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from services.routing.domain.destination import Route, Router
from services.routing.domain.evidence import Evidence, combine
from services.routing.domain.level import level_of
from services.routing.domain.ports import TextModel, TextPrediction
from services.routing.domain.rules import RuleSet
from services.routing.domain.text import normalise, segments
from shared.catalog import LEVELS, Catalog

# Below this confidence a decision asks for a handler's review. Chosen on the development
# set (adapters/data/dev_set.jsonl) and the held-out split, never on the independent set: see
# docs/routing.md for the coverage table it was chosen from.
REVIEW_BELOW = 0.75
UNRECOGNISED_CONFIDENCE = 0.1
# The text model's own reading of another agency counts as a conflict with the keywords
# from this probability (the text alone, before keywords and hints).
CONFLICT_AT = 0.5
# A decision that is not complex while the reading leaves complex at least this much asks
# for a review (recall first: a complex matter kept at the office costs the most).
RECALL_GUARD = 0.2


@dataclass(frozen=True)
class Part:
    """One matter of a question that holds several."""

    text: str
    level: str
    agency: str
    case_type: str
    confidence: float


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
    review_reasons: tuple[str, ...] = ()  # why a handler should look, beside a low confidence
    parts: tuple[Part, ...] = ()  # the matters of a question that holds several

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

    def _decide(self, question: Question, clean: str, prediction: TextPrediction, *, whole: bool = True) -> Classification:
        hints = check_hints(self.catalog, question.agency, question.case_type)
        found = self.rules.scan(clean)
        keyword_agencies = self.rules.specific_agencies(found)
        if whole and len(keyword_agencies) >= 2:
            parts = self._parts(question)
            if parts is not None:
                return parts
        evidence = combine(
            self.model, prediction, found.case_types, clean, hints.agency, hints.case_type, self.tiebreak
        )
        if not (found.case_types or prediction.known > 0.0 or hints.agency):
            return self._unrecognised(question, hints)
        level = level_of(self.model.level_labels, self.rules, evidence, clean, found)
        confidence = round(min(evidence.agency_probability, level.probability), 2)
        reasons = ([level.doubt] if level.doubt else []) + self._doubts(level.level, evidence, found, keyword_agencies)
        if level.level != "complex" and level.complex_probability >= RECALL_GUARD:
            reasons.append(f"the reading leaves {level.complex_probability:.2f} for a matter that needs the agency")
        route = self.route(level.level, *evidence.chosen, question.office_id)
        parts = [evidence.describe(self.catalog), level.reason, *evidence.hint_notes(self.catalog)]
        parts += list(hints.notes)
        if reasons:
            parts.append("For review: " + "; ".join(reasons) + ".")
        if route.destination != "office":
            parts.append(f"Destination {route.destination}: {route.reason}")
        return Classification(
            level=level.level,
            agency=evidence.chosen[0],
            case_type=evidence.chosen[1],
            confidence=confidence,
            explanation=" ".join(parts),
            needs_review=confidence < REVIEW_BELOW or bool(reasons),
            model_version=self.model_version,
            rule_id=level.rule_id,
            matched=evidence.words,
            destination=route.destination,
            destination_reason=route.reason,
            intent=level.intent,
            review_reasons=tuple(reasons),
        )

    def _doubts(self, level: str, evidence: Evidence, found, keyword_agencies: set[str]) -> list[str]:
        """Reasons to ask for a review whatever the confidence."""
        reasons = []
        if found.situations and level != "complex":
            told = ", ".join(f"{g.replace('_', ' ')} ({w[0].text!r})" for g, w in found.situations.items())
            reasons.append(f"the question tells a situation that may need the agency ({told}) but reads as {level}")
        text_best = max(range(len(evidence.labels)), key=evidence.prediction.case_types.__getitem__)
        text_agency = evidence.labels[text_best][0]
        if (keyword_agencies and text_agency not in keyword_agencies and evidence.weight >= 1.0
                and evidence.prediction.case_types[text_best] >= CONFLICT_AT):
            named = "/".join(sorted(keyword_agencies))
            reasons.append(f"the keywords point to {named}, the text model reads {text_agency}")
        if evidence.weight < 1.0:
            reasons.append("much of the text is unknown to the model")
        return reasons

    def _parts(self, question: Question) -> Classification | None:
        """A question whose pieces name matters of different agencies: each matter is
        classified on its own; the decision is the most demanding one's, for review."""
        groups: list[tuple[list[str], set[str]]] = []  # pieces of one matter, its agencies
        pending: list[str] = []  # leading pieces that name no agency join the first matter
        for piece in segments(question.text if isinstance(question.text, str) else ""):
            agencies = self.rules.specific_agencies(self.rules.scan(normalise(piece)))
            if not agencies:
                (groups[-1][0] if groups else pending).append(piece)
            elif groups and agencies == groups[-1][1]:  # the same matter goes on
                groups[-1][0].append(piece)
            else:
                groups.append(([*pending, piece], agencies))
                pending = []
        if len(groups) < 2 or len(set().union(*(agencies for _, agencies in groups))) < 2:
            return None
        merged = [" ".join(pieces) for pieces, _ in groups]
        decided = []
        for piece in merged:
            clean = normalise(piece)
            result = self._decide(Question(piece, office_id=question.office_id), clean, self.model.predict(clean), whole=False)
            if result.agency is not None:
                decided.append((piece, result))
        if len({d.agency for _, d in decided}) < 2:
            return None
        top = max((d for _, d in decided), key=lambda d: LEVELS.index(d.level))  # the first of the most demanding
        parts = tuple(Part(piece, d.level, d.agency, d.case_type, d.confidence) for piece, d in decided)
        listed = "; ".join(f"{i}. {p.text!r}: {p.level} {p.agency}/{p.case_type}" for i, p in enumerate(parts, 1))
        agencies = ", ".join(dict.fromkeys(self.catalog.agency_names[p.agency] for p in parts))
        reason = f"the question holds {len(parts)} matters for different agencies ({agencies}), each classified on its own"
        return replace(
            top,
            explanation=f"Several matters in one question: {listed}. The decision is the most demanding one's. "
            + top.explanation + f" For review: {reason}.",
            needs_review=True,
            review_reasons=(reason, *top.review_reasons),
            parts=parts,
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
            review_reasons=("nothing in the text was recognised",),
            model_version=self.model_version, rule_id="not_recognised", destination="office",
            destination_reason="Handled at the office by its service handler.", fallback=fallback,
        )

    def route(self, level: str, agency: str, case_type: str, office_id: str | None) -> Route:
        if self.router is None:
            if level == "complex":
                return Route("agency_system", "No office registry: the agency takes the case in its own system.")
            return Route("office", "Handled at the office by its service handler.")
        return self.router.route(level, agency, case_type, office_id)


__all__ = ["Classification", "Classifier", "Evidence", "Hints", "Part", "Question", "check_hints"]
