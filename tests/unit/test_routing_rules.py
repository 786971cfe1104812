"""Every rule of ``rules.yaml`` has a test here; the seed's own examples come first."""

from importlib import resources

import pytest
import yaml

from services.routing.rules import load_classifier

classifier = load_classifier()


@pytest.mark.parametrize(
    ("text", "agency", "case_type", "level", "rule_id"),
    [
        ("Jag vill ansöka om id-kort", "skatteverket", "id_kort", "complex", "complex.identity_document"),
        ("Jag behöver ett nytt pass", "polisen", "pass", "complex", "complex.identity_document"),
        ("Jag har flyttat till Sverige och vill folkbokföra mig", "skatteverket", "flytt_till_sverige", "complex", "complex.moving_to_sweden"),
        ("I just moved to Sweden, how do I get a personal number?", "skatteverket", "flytt_till_sverige", "complex", "complex.moving_to_sweden"),
        ("Jag vill förlänga mitt uppehållstillstånd", "migrationsverket", "uppehallstillstand", "complex", "complex.permits_and_citizenship"),
        ("Jag vill ansöka om skuldsanering", "kronofogden", "skuldsanering", "complex", "complex.debt_relief"),
        ("Jag vill överklaga beslutet om sjukpenning", "forsakringskassan", "sjukpenning", "complex", "complex.appeal_or_authority_decision"),
        ("Var hittar jag blanketten för bostadsbidrag?", "forsakringskassan", "bostadsbidrag", "general", "general.documents_and_e_services"),
        ("När kommer utbetalningen av mitt bostadsbidrag?", "forsakringskassan", "bostadsbidrag", "in_depth", "in_depth.own_case"),
        ("Föräldrapenning, vad är det?", "forsakringskassan", "foraldrapenning", "general", "general.information"),
    ],
)
def test_rules_decide_level_agency_and_case_type(text, agency, case_type, level, rule_id):
    result = classifier.classify(text)
    assert (result.agency, result.case_type, result.level, result.rule_id) == (agency, case_type, level, rule_id)
    assert rule_id in result.explanation


def test_every_level_rule_has_a_test_above():
    raw = yaml.safe_load(resources.files("services.routing.rules").joinpath("rules.yaml").read_text())
    tested = {p[4] for p in test_rules_decide_level_agency_and_case_type.pytestmark[0].args[1]}
    assert {rule["id"] for rule in raw["levels"]} <= tested


def test_typos_and_missing_diacritics_still_match():
    result = classifier.classify("jag vill ansoka om idkort")
    assert (result.agency, result.case_type, result.level) == ("skatteverket", "id_kort", "complex")


def test_word_inside_another_word_does_not_match_whole_word_keywords():
    assert classifier.classify("Det passar mig bra").case_type != "pass"


def test_a_hint_outweighed_by_the_text_says_so():
    result = classifier.classify("Jag vill ansöka om id-kort", agency="pensionsmyndigheten")
    assert result.agency == "skatteverket"
    assert "outweighed" in result.explanation


def test_hint_alone_decides_with_low_confidence_when_no_words_match():
    result = classifier.classify("Bonjour, je voudrais un rendez-vous", agency="trafikverket")
    assert result.agency == "trafikverket" and result.needs_review
    assert result.confidence < 0.5


@pytest.mark.parametrize("text", ["", " ", "x" * 100_000, "日本語の質問です", "🙂🙂🙂"])
def test_odd_text_gets_a_level_with_low_confidence_not_a_crash(text):
    result = classifier.classify(text)
    assert result.level in {"general", "in_depth", "complex"}
    assert result.needs_review and result.confidence < 0.5


def test_unknown_hint_codes_are_ignored_not_fatal():
    result = classifier.classify("bostadsbidrag", agency="nope", case_type="nope")
    assert result.agency == "forsakringskassan"
