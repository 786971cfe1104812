"""Get the text model for a process: load the artifact ``train-classifier`` wrote, if it
matches the shipped corpus and rules, else train from the corpus in memory (seconds,
deterministic) in a child process and save it, so the next start only loads. The
artifact is versioned by the corpus hash, the trainer and the rules version, never
committed (``<data_dir>/models/`` is outside git): a plain ``.npz`` of arrays, loaded
without pickle."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from services.routing.adapters import training
from services.routing.adapters.corpus import Example, corpus_files, corpus_hash, load_corpus
from services.routing.adapters.text_model import Head, LinearTextModel
from services.routing.domain.rules import RuleSet
from shared.catalog import Catalog


def text_model_version(files: list[Path]) -> str:
    return f"corpus-{corpus_hash(files)}+{training.TRAINER_VERSION}"


def artifact_path(version: str, rules_version: str, data_dir: Path | None = None) -> Path:
    """The cache file for a model version trained under a rules version (the rules choose
    which examples the level head learns from, so both name the file)."""
    root = data_dir or Path(os.environ.get("SK_DATA_DIR", "data"))
    return root / "models" / f"routing-text-model-{version.replace('+', '-')}-{rules_version}.npz"


def train_from_corpus(catalog: Catalog, rules: RuleSet, files: list[Path] | None = None) -> LinearTextModel:
    files = corpus_files() if files is None else files
    examples: list[Example] = [e for e in load_corpus(files, catalog) if e.split == "train"]
    return training.train(examples, text_model_version(files), rules.ruled_case_types())


def _load_matching(path: Path, version: str) -> LinearTextModel | None:
    if not path.is_file():
        return None
    try:
        model = load(path)
    except (OSError, ValueError, KeyError):
        return None  # a damaged artifact is rebuilt, not fatal
    return model if model.version == version else None


def build_artifact(data_dir: Path | None = None) -> Path:
    """Train from the shipped corpus and save the artifact (what ``train-classifier``
    does); returns its path. Written to a temporary name first, so a reader never sees
    half a file."""
    from services.routing.adapters.rule_files import load_rules
    from shared.catalog import load_catalog

    catalog = load_catalog()
    rules = load_rules(catalog)
    model = train_from_corpus(catalog, rules)
    path = artifact_path(model.version, rules.version, data_dir)
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    save(model, partial)
    os.replace(partial, path)
    return path


def load_text_model(catalog: Catalog, rules: RuleSet, data_dir: Path | None = None) -> LinearTextModel:
    """The artifact for the shipped corpus and rules. When there is none (a fresh
    checkout, a changed corpus), it is built once in a child process, so that this one
    never loads scikit-learn (start-up under a second and a small RSS from then on);
    if that fails, the model is trained here."""
    files = corpus_files()
    version = text_model_version(files)
    path = artifact_path(version, rules.version, data_dir)
    model = _load_matching(path, version)
    if model is not None:
        return model
    env = {**os.environ, "SK_DATA_DIR": str(data_dir or Path(os.environ.get("SK_DATA_DIR", "data")))}
    code = "from services.routing.adapters.model_store import build_artifact; build_artifact()"
    root = Path(__file__).resolve().parents[3]
    try:
        subprocess.run([sys.executable, "-c", code], env=env, cwd=root, check=True, timeout=600,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        model = _load_matching(path, version)
    except (OSError, subprocess.SubprocessError):
        model = None
    return model if model is not None else train_from_corpus(catalog, rules, files)


def save(model: LinearTextModel, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    terms = np.empty(len(model.vocabulary), dtype=object)
    for term, index in model.vocabulary.items():
        terms[index] = term
    with path.open("wb") as out:
        np.savez_compressed(
            out,
            version=np.array(model.version),
            terms=terms.astype(str),
            idf=model.idf,
            case_type_labels=np.array(model.case_type.labels),
            case_type_weights=model.case_type.weights,
            case_type_bias=model.case_type.bias,
            level_labels=np.array(model.level.labels),
            level_weights=model.level.weights,
            level_bias=model.level.bias,
            known_words=np.array(sorted(model.known_words)),
        )


def load(path: Path) -> LinearTextModel:
    with np.load(path, allow_pickle=False) as data:
        def head(name: str) -> Head:
            labels = tuple(str(x) for x in data[f"{name}_labels"])
            return Head(labels, np.ascontiguousarray(data[f"{name}_weights"]), data[f"{name}_bias"])

        vocabulary = {str(term): i for i, term in enumerate(data["terms"])}
        known = frozenset(str(w) for w in data["known_words"])
        return LinearTextModel(str(data["version"]), vocabulary, data["idf"], head("case_type"), head("level"), known)
