"""Routing's commands: ``train-classifier``, ``classify-eval`` and ``export-overrides``."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from shared.catalog import LEVELS


def register(app: typer.Typer) -> None:
    app.command("train-classifier")(train_classifier)
    app.command("classify-eval")(classify_eval)
    app.command("export-overrides")(export_overrides)


def train_classifier(
    data_dir: Annotated[Path | None, typer.Option(help="Where the model is cached [SK_DATA_DIR, ./data]")] = None,
) -> None:
    """Train the text model from the shipped corpus (train split) and cache it under
    <data_dir>/models/, where the service and `classify` load it from."""
    from services.routing.adapters.model_store import artifact_path, save, train_from_corpus
    from services.routing.rules import load_rules
    from shared.catalog import load_catalog

    catalog = load_catalog()
    rules = load_rules(catalog)
    started = time.perf_counter()
    model = train_from_corpus(catalog, rules)
    seconds = time.perf_counter() - started
    path = artifact_path(model.version, rules.version, data_dir)
    save(model, path)
    typer.echo(f"trained {model.version} in {seconds:.1f} s: {len(model.vocabulary)} features, "
               f"{len(model.case_type.labels)} case types; saved {path}")


def classify_eval(
    split: Annotated[str, typer.Option(help="train | heldout")] = "heldout",
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON")] = False,
    check: Annotated[bool, typer.Option(help="Exit 1 when an acceptance figure is missed")] = False,
    mistakes: Annotated[int, typer.Option(help="How many wrong decisions to list")] = 0,
) -> None:
    """Accuracy, per-level recall and the level confusion matrix on the project's own
    held-out split (questions the model never trained on)."""
    from services.routing.adapters.corpus import corpus_files, load_corpus
    from services.routing.evaluation import evaluate
    from services.routing.rules import load_classifier
    from shared.catalog import load_catalog

    examples = [e for e in load_corpus(corpus_files(), load_catalog()) if e.split == split]
    if not examples:
        typer.echo(f"no examples in split {split!r}", err=True)
        raise typer.Exit(2)
    classifier = load_classifier()
    report = evaluate(classifier, examples, keep_mistakes=mistakes)
    if as_json:
        typer.echo(json.dumps({"split": split, "model_version": classifier.model_version, **report.as_dict()}, indent=2))
    else:
        _print_report(split, classifier.model_version, report)
    if check and report.misses():
        typer.echo("below target: " + "; ".join(report.misses()), err=True)
        raise typer.Exit(1)


def _print_report(split: str, version: str, report) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]classify-eval[/] on split [bold]{split}[/] ({report.examples} questions), model {version}")
    figures = Table("figure", "value")
    for name in ("level_accuracy", "agency_accuracy", "case_type_accuracy", "needs_review_share"):
        figures.add_row(name.replace("_", " "), f"{getattr(report, name):.3f}")
    for level in LEVELS:
        figures.add_row(f"recall {level}", f"{report.level_recall[level]:.3f}")
    console.print(figures)
    matrix = Table("true \\ decided", *LEVELS, title="level confusion matrix")
    for true in LEVELS:
        matrix.add_row(true, *(str(report.confusion[true][decided]) for decided in LEVELS))
    console.print(matrix)
    for item in report.mistakes:
        console.print(f"- {item['text'][:100]!r}: expected {item['expected']}, decided {item['decided']}")
    misses = report.misses()
    console.print("[red]below target: " + "; ".join(misses) if misses else "[green]all acceptance figures met")


def export_overrides(
    out: Annotated[Path | None, typer.Option(help="Write here (JSON Lines); default: stdout")] = None,
    database_url: Annotated[str | None, typer.Option(help="Routing's database [SK_ROUTING_DATABASE_URL]")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Embedded data directory [SK_DATA_DIR]")] = None,
) -> None:
    """Export handlers' overrides as labelled training examples (corpus format). Review the
    file, put it in services/routing/data/feedback/ and retrain: the model version changes."""
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
