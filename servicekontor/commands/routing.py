"""Routing's commands: ``train-classifier``, ``classify-eval`` and ``export-overrides``."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from servicekontor.commands._common import DataDir
from shared.catalog import LEVELS


def register(app: typer.Typer) -> None:
    app.command("train-classifier")(train_classifier)
    app.command("classify-eval")(classify_eval)
    app.command("export-overrides")(export_overrides)


def train_classifier(
    data_dir: DataDir = None,
) -> None:
    """Build the text model artifact from the shipped corpus (train split), versioned by
    the corpus hash, trainer and rules version, under <data_dir>/models/, where the
    service and `classify` load it from. (A start without it builds it once.)"""
    from services.routing.adapters.model_store import build_artifact

    started = time.perf_counter()
    path = build_artifact(data_dir)
    typer.echo(f"trained in {time.perf_counter() - started:.1f} s; saved {path}")


def classify_eval(
    split: Annotated[str, typer.Option(help="the corpus split beside the independent set: heldout | train")] = "heldout",
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON", show_default="off: tables")] = False,
    check: Annotated[bool, typer.Option(help="Exit 1 when the independent set misses a target")] = False,
    mistakes: Annotated[int, typer.Option(help="How many wrong decisions to list (corpus split and dev set; never the independent set)")] = 0,
) -> None:
    """The sets side by side: the corpus's held-out split, the development set (rules and
    review thresholds were tuned on it) and the independent set (written from the level
    definitions, never trained or tuned on). Figures of all questions and of those decided
    without review, the confusion matrices, the over-forwarding rate and coverage per
    threshold of the review rule. --check: the independent set's decisions without review
    must meet the targets."""
    from services.routing.adapters.corpus import corpus_files, load_corpus
    from services.routing.adapters.eval_sets import load_dev, load_independent
    from services.routing.adapters.rule_files import load_classifier
    from services.routing.domain.evaluation import evaluate
    from shared.catalog import load_catalog

    catalog = load_catalog()
    examples = [e for e in load_corpus(corpus_files(), catalog) if e.split == split]
    if not examples:
        typer.echo(f"no examples in split {split!r}", err=True)
        raise typer.Exit(2)
    classifier = load_classifier()
    reports = {split: evaluate(classifier, examples, keep_mistakes=mistakes),
               "dev": evaluate(classifier, load_dev(catalog), keep_mistakes=mistakes),
               "independent": evaluate(classifier, load_independent(catalog), keep_mistakes=0)}
    if as_json:
        body = {name: r.as_dict() for name, r in reports.items()}
        typer.echo(json.dumps({"model_version": classifier.model_version, **body}, indent=2))
    else:
        _print_reports(classifier.model_version, reports)
    misses = reports["independent"].misses(decided_only=True)
    covered = f"(coverage: {reports['independent'].decided['coverage']:.3f} decided without review)"
    if check and misses:
        typer.echo("independent set below target: " + "; ".join(misses) + f" {covered}", err=True)
        raise typer.Exit(1)
    if check and as_json:
        typer.echo(f"independent set: all targets met {covered}", err=True)


def _print_reports(version: str, reports: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    names = list(reports)
    console.print(f"[bold]classify-eval[/], model {version}: " + ", ".join(f"{n} {r.examples} questions" for n, r in reports.items()))
    figures = Table("figure", *(f"{n} (all)" for n in names), *(f"{n} (no review)" for n in names))
    rows = ["level_accuracy", "complex_recall", "over_forwarding", "agency_accuracy", "case_type_accuracy", "coverage"]
    for name in rows:
        every = [reports[n].figures().get(name, reports[n].__dict__.get(name, 0.0)) for n in names]
        every = [reports[n].case_type_accuracy if name == "case_type_accuracy" else v for n, v in zip(names, every, strict=True)]
        figures.add_row(name.replace("_", " "), *(f"{v:.3f}" for v in every), *(f"{reports[n].decided[name]:.3f}" for n in names))
    for level in LEVELS:
        figures.add_row(f"recall {level}", *(f"{reports[n].level_recall[level]:.3f}" for n in names), *("" for _ in names))
    console.print(figures)
    for n in names:
        matrix = Table("true \\ decided", *LEVELS, title=f"{n}: level confusion matrix")
        for true in LEVELS:
            matrix.add_row(true, *(str(reports[n].confusion[true][decided]) for decided in LEVELS))
        console.print(matrix)
        cover = Table("confidence ≥", "coverage", "level", "complex recall", "over-forwarding", "agency",
                      title=f"{n}: coverage (review rule at each confidence threshold)")
        for row in reports[n].review_coverage:
            cover.add_row(f"{row['threshold']:.2f}", *(f"{row[k]:.3f}" for k in ("coverage", "level_accuracy", "complex_recall", "over_forwarding", "agency_accuracy")))
        console.print(cover)
        for item in reports[n].mistakes:
            console.print(f"- {item['text'][:100]!r}: expected {item['expected']}, decided {item['decided']}")
    for n in names:
        if reports[n].mixed.get("marked"):
            m = reports[n].mixed
            console.print(f"{n}: {m['marked']} questions split into several matters (for review); of {m['written']} written as mixed, {m['found']} found")
    misses = reports["independent"].misses(decided_only=True)
    covered = f"(coverage: {reports['independent'].decided['coverage']:.3f} decided without review)"
    console.print(f"[red]independent set below target: {'; '.join(misses)} {covered}" if misses
                  else f"[green]independent set: all targets met {covered}")


def export_overrides(
    out: Annotated[Path | None, typer.Option(help="Write here (JSON Lines)", show_default="stdout")] = None,
    database_url: Annotated[str | None, typer.Option(help="Routing's database", show_default="SK_ROUTING_DATABASE_URL, else SK_DATABASE_URL, else SQLite in --data-dir")] = None,
    data_dir: DataDir = None,
) -> None:
    """Export handlers' overrides as labelled training examples (corpus format). Review the
    file, put it in services/routing/adapters/data/feedback/ and retrain: the model version changes."""
    from services.routing.adapters.feedback import export_overrides as read_examples
    from services.routing.config import RoutingSettings

    overrides = {k: v for k, v in {"data_dir": data_dir, "routing_database_url": database_url}.items() if v}
    url = RoutingSettings(**overrides).resolved_database_url()
    examples = asyncio.run(read_examples(url))
    lines = "".join(e.to_json() + "\n" for e in examples)
    if out is None:
        sys.stdout.write(lines)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(lines, encoding="utf-8")
        typer.echo(f"{len(examples)} overridden questions written to {out}", err=True)
