"""One line of ``servicekontor classify`` (the JSON Lines contract in ARCHITECTURE.md):
``{"text", "agency", "case_type", "office_id"}`` in, a decision out, with the destination
the office registry gives when ``office_id`` is set, why it asks for review
(``review_reasons``) and, for a question holding several matters, each one (``parts``).
Bad lines get an error object, never an exception."""

from __future__ import annotations

import json
from typing import Any

from services.routing.domain.classifier import Classifier


def classify_line(classifier: Classifier, line: str, number: int) -> dict[str, Any]:
    try:
        item = json.loads(line)
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise ValueError("each line must be a JSON object with a string 'text'")
        hints = [item.get("agency"), item.get("case_type"), item.get("office_id")]
        if any(h is not None and not isinstance(h, str) for h in hints):
            raise ValueError("'agency', 'case_type' and 'office_id' must be strings or null")
    except ValueError as error:  # json.JSONDecodeError is a ValueError
        return {"error": {"code": "invalid_line", "message": str(error), "line": number}}
    result = classifier.classify(item["text"], item.get("agency"), item.get("case_type"), office_id=item.get("office_id"))
    return {
        "level": result.level,
        "agency": result.agency,
        "case_type": result.case_type,
        "confidence": result.confidence,
        "explanation": result.explanation,
        "needs_review": result.needs_review,
        "model_version": result.model_version,
        "destination": result.destination,
        "destination_reason": result.destination_reason,
        "rule_id": result.rule_id,
        "intent": result.intent,
        "review_reasons": list(result.review_reasons),
        "parts": [
            {"text": p.text, "level": p.level, "agency": p.agency, "case_type": p.case_type, "confidence": p.confidence}
            for p in result.parts
        ],
    }
