"""Routing's commands: classify-eval on the held-out split, train-classifier, and the
`classify` JSON Lines contract (ARCHITECTURE.md)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from servicekontor.cli import app

runner = CliRunner()


def test_classify_eval_shows_both_sets_with_matrices_over_forwarding_and_coverage():
    result = runner.invoke(app, ["classify-eval"])
    assert result.exit_code == 0, result.output
    for words in ("heldout", "independent", "forwarding", "heldout: level confusion matrix",
                  "independent: level confusion matrix", "independent: coverage", "recall"):
        assert words in result.output


def test_classify_eval_check_exits_1_when_the_independent_set_misses_a_target(monkeypatch):
    monkeypatch.setattr("services.routing.domain.evaluation.TARGETS", {"level_accuracy": 1.01, "complex_recall": 0, "agency_accuracy": 0})
    result = runner.invoke(app, ["classify-eval", "--check"])
    assert result.exit_code == 1 and "independent set below target: level_accuracy" in result.output


def test_classify_eval_as_json_gives_the_figures_and_the_matrix():
    result = runner.invoke(app, ["classify-eval", "--json"])
    body = json.loads(result.output)
    assert body["heldout"]["examples"] >= 250 and body["independent"]["examples"] >= 300
    for report in (body["heldout"], body["independent"]):
        assert set(report["confusion"]) == {"general", "in_depth", "complex"}
        assert sum(sum(row.values()) for row in report["confusion"].values()) == report["examples"]
        assert 0 <= report["over_forwarding"] <= 1 and report["coverage"][0]["coverage"] == 1.0


def test_classify_eval_refuses_an_unknown_split():
    assert runner.invoke(app, ["classify-eval", "--split", "nope"]).exit_code == 2


def test_train_classifier_writes_the_model_where_the_service_looks(tmp_path):
    result = runner.invoke(app, ["train-classifier", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    saved = list((tmp_path / "models").glob("routing-text-model-corpus-*.npz"))
    assert len(saved) == 1 and str(saved[0]) in result.output.replace("\n", "")


def test_classify_keeps_its_json_lines_contract():
    lines = [
        {"text": "Jag vill ansöka om id-kort", "agency": None, "case_type": None, "office_id": "ostersund"},
        {"text": "När kommer mitt barnbidrag?", "agency": "forsakringskassan", "case_type": None, "office_id": None},
        {"text": "", "agency": "nope", "case_type": "nope", "office_id": "atlantis"},
    ]
    result = runner.invoke(app, ["classify"], input="\n".join(json.dumps(x) for x in lines) + "\nnot json\n")
    answers = [json.loads(line) for line in result.output.splitlines()]
    assert len(answers) == 4 and answers[3]["error"]["code"] == "invalid_line"
    for answer in answers[:3]:
        assert {"level", "agency", "case_type", "confidence", "explanation"} <= set(answer)
        assert answer["level"] in {"general", "in_depth", "complex"} and 0 <= answer["confidence"] <= 1
    assert (answers[0]["level"], answers[0]["agency"], answers[0]["case_type"]) == ("complex", "skatteverket", "id_kort")
    assert answers[1]["level"] == "in_depth" and answers[2]["needs_review"] is True


def test_a_classify_line_uses_the_office_for_the_destination():
    from services.routing.adapters.rule_files import load_classifier
    from services.routing.entrypoints.cli_io import classify_line

    classifier = load_classifier()
    line = json.dumps({"text": "Jag vill ansöka om id-kort", "agency": None, "case_type": None, "office_id": "ostersund"})
    answer = classify_line(classifier, line, 1)
    assert (answer["level"], answer["destination"]) == ("complex", "agency_desk")
    unknown = classify_line(classifier, line.replace("ostersund", "atlantis"), 2)
    assert unknown["destination"] == "agency_system" and "unknown" in unknown["destination_reason"]
    general = classify_line(classifier, json.dumps({"text": "Hur ansöker jag om bostadsbidrag?"}), 3)
    assert general["destination"] == "office"


def test_a_bad_classify_line_gets_an_error_object():
    from services.routing.adapters.rule_files import load_classifier
    from services.routing.entrypoints.cli_io import classify_line

    for number, line in enumerate(["not json", "[1]", '{"text": 5}', '{"text": "x", "office_id": 7}'], start=1):
        error = classify_line(load_classifier(), line, number)["error"]
        assert (error["code"], error["line"]) == ("invalid_line", number) and error["message"]
