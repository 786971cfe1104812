"""Get the text model for a process: load the artifact ``train-classifier`` wrote, if it
matches the shipped corpus and rules, else train from the corpus in memory (seconds,
deterministic). The artifact is a cache, never committed (``<data_dir>/models/`` is
outside git): a plain ``.npz`` of arrays, loaded without pickle."""

from __future__ import annotations

import os
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


def load_text_model(catalog: Catalog, rules: RuleSet, data_dir: Path | None = None) -> LinearTextModel:
    files = corpus_files()
    version = text_model_version(files)
    path = artifact_path(version, rules.version, data_dir)
    if path.is_file():
        try:
            model = load(path)
        except (OSError, ValueError, KeyError):
            model = None  # a damaged cache is retrained, not fatal
        if model is not None and model.version == version:
            return model
    return train_from_corpus(catalog, rules, files)


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
