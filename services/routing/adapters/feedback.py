"""Handlers' overrides back into training data: read routing's own event store, take the
last override of each question with the question's (already scrubbed) text, and write
examples in the corpus format (``split: train``, ``source: override``)."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from services.routing.adapters.corpus import Example
from services.routing.adapters.repositories import SqlQuestionFacts
from services.routing.domain.text import normalise
from shared.db import create_engine, session_maker
from shared.eventstore import read_log
from shared.personal_data import scrub_text

OVERRIDDEN = "routing.ClassificationOverridden"
_ENGLISH = frozenset({"the", "a", "an", "i", "my", "is", "are", "do", "does", "how", "what", "when", "where", "can", "you", "to", "for", "of"})


def guess_lang(text: str) -> str:
    words = normalise(text).split()
    english = sum(w in _ENGLISH for w in words)
    if not words or english == 0:
        return "sv"
    return "en" if english / len(words) >= 0.3 else "mixed"


async def overrides(session: AsyncSession, page: int = 500) -> dict[str, dict]:
    """The last override payload of each question, in log order."""
    last: dict[str, dict] = {}
    position = 0
    while batch := await read_log(session, position, page):
        for logged in batch:
            if logged.envelope.event_type == OVERRIDDEN:
                last[logged.envelope.stream_id] = logged.envelope.payload
        position = batch[-1].position
    return last


async def export_overrides(database_url: str) -> list[Example]:
    """Examples from every overridden question in the routing database at ``database_url``."""
    engine = create_engine(database_url, schema="routing")
    try:
        async with session_maker(engine)() as session:
            found = await overrides(session)
            facts = SqlQuestionFacts(session)
            examples = []
            for question_id, payload in found.items():
                fact = await facts.get(question_id)
                if fact is None or not fact.text.strip():
                    continue
                text = scrub_text(fact.text)
                examples.append(Example(
                    id=f"override-{question_id}",
                    text=text,
                    agency=payload["agency"],
                    case_type=payload["case_type"],
                    level=payload["level"],
                    lang=guess_lang(text),
                    split="train",
                    source="override",
                    note=f"was {payload['previous_level']} {payload['previous_agency']}/{payload['previous_case_type']}: {payload['reason']}"[:300],
                ))
            return examples
    finally:
        await engine.dispose()
