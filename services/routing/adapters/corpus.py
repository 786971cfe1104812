"""The labelled corpus: JSON Lines under ``services/routing/adapters/data/`` (``corpus.jsonl``,
written for this project, plus ``feedback/*.jsonl`` exported from handlers' overrides).

One object a line: ``id``, ``text``, ``agency``, ``case_type``, ``level``, ``lang``
(sv|en|mixed), ``split`` (train|heldout; fixed, never reshuffled) and ``source``
(authored|override); an optional ``note``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from shared.catalog import LEVELS, Catalog

DATA_DIR = Path(__file__).resolve().parent / "data"
SPLITS = ("train", "heldout")
LANGS = ("sv", "en", "mixed")


@dataclass(frozen=True)
class Example:
    id: str
    text: str
    agency: str
    case_type: str
    level: str
    lang: str
    split: str
    source: str = "authored"
    note: str | None = None

    @property
    def label(self) -> str:
        return f"{self.agency}/{self.case_type}"

    def to_json(self) -> str:
        body = {k: v for k, v in asdict(self).items() if v is not None}
        return json.dumps(body, ensure_ascii=False)


INDEPENDENT_FILE = "independent_eval.jsonl"  # evaluation only: never a corpus file
DEV_FILE = "dev_set.jsonl"  # tuning of rules and thresholds only: never a corpus file
EVALUATION_FILES = frozenset({INDEPENDENT_FILE, DEV_FILE})


def corpus_files(root: Path = DATA_DIR) -> list[Path]:
    """The corpus files in a fixed order: the authored corpus, then feedback files. The
    evaluation sets (``EVALUATION_FILES``: the independent set and the development set)
    are not among them."""
    authored = [p for p in sorted(root.glob("*.jsonl")) if p.name not in EVALUATION_FILES]
    return authored + sorted(root.glob("feedback/*.jsonl"))


def corpus_hash(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def parse_example(line: str, catalog: Catalog, where: str) -> Example:
    raw = json.loads(line)
    example = Example(**raw)
    problems = [
        "unknown case type" * (not catalog.is_case_type(example.agency, example.case_type)),
        "unknown level" * (example.level not in LEVELS),
        "unknown split" * (example.split not in SPLITS),
        "unknown lang" * (example.lang not in LANGS),
        "empty text" * (not example.text.strip()),
    ]
    if problems := [p for p in problems if p]:
        raise ValueError(f"{where}: {', '.join(problems)}")
    return example


def load_corpus(files: list[Path], catalog: Catalog) -> list[Example]:
    """Every example of the files, checked; a later file's example replaces an earlier
    one with the same id (an override exported twice counts once)."""
    examples: dict[str, Example] = {}
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                example = parse_example(line, catalog, f"{path.name}:{number}")
                examples[example.id] = example
    return list(examples.values())
