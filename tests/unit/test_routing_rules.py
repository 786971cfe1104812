"""Every level rule of ``rules.yaml`` has a test here (a test below fails when one has
none); the seed's own examples come first. Rules decide with the shipped text model."""

from __future__ import annotations

from importlib import resources

import pytest
import yaml

from services.routing.adapters.rule_files import load_classifier, load_rules
from services.routing.domain.rules import build_rules
from services.routing.domain.text import normalise
from shared.catalog import load_catalog

classifier = load_classifier()
RULES = load_rules()


@pytest.mark.parametrize(
    ("text", "agency", "case_type", "level", "rule_id"),
    [
        ("Jag vill ansöka om id-kort", "skatteverket", "id_kort", "complex", "complex.identity_document"),
        ("Jag behöver ett nytt pass", "polisen", "pass", "complex", "complex.identity_document"),
        ("Jag behöver ett resedokument, mitt hemland ger mig inget", "migrationsverket", "ovrigt", "complex", "complex.identity_document"),
        ("Jag har flyttat till Sverige och vill folkbokföra mig", "skatteverket", "flytt_till_sverige", "complex", "complex.moving_to_sweden"),
        ("I just moved to Sweden, how do I get a personal number?", "skatteverket", "flytt_till_sverige", "complex", "complex.moving_to_sweden"),
        ("Jag vill förlänga mitt uppehållstillstånd", "migrationsverket", "uppehallstillstand", "complex", "complex.permits_and_citizenship"),
        ("Jag vill ansöka om medborgarskap", "migrationsverket", "medborgarskap", "complex", "complex.permits_and_citizenship"),
        # intent × case type: asking about an agency-only service, or about an own pending case
        ("Hur blir man svensk medborgare?", "migrationsverket", "medborgarskap", "general", "intent"),
        ("Vad kostar ett id-kort?", "skatteverket", "id_kort", "general", "intent"),
        ("Har ni fått min ansökan om skuldsanering?", "kronofogden", "skuldsanering", "in_depth", "intent"),
        ("Jag vill ansöka om skuldsanering", "kronofogden", "skuldsanering", "complex", "complex.debt_relief"),
        ("Jag vill överklaga beslutet om sjukpenning", "forsakringskassan", "sjukpenning", "complex", "complex.appeal_or_authority_decision"),
        ("Jag vill bestrida betalningsföreläggandet", "kronofogden", "skulder", "complex", "complex.appeal_or_authority_decision"),
    ],
)
def test_rules_decide_level_agency_and_case_type(text, agency, case_type, level, rule_id):
    result = classifier.classify(text)
    assert (result.agency, result.case_type, result.level, result.rule_id) == (agency, case_type, level, rule_id)
    assert rule_id in result.explanation


def test_every_level_rule_has_a_test_above():
    raw = yaml.safe_load(resources.files("services.routing.adapters").joinpath("data", "rules.yaml").read_text())
    tested = {p[4] for p in test_rules_decide_level_agency_and_case_type.pytestmark[0].args[1]}
    assert {rule["id"] for rule in raw["levels"]} <= tested


@pytest.mark.parametrize(
    ("text", "agency", "case_type", "level"),
    [
        # these were keyword rules in rules-2026.11-1 (general.documents_and_e_services,
        # in_depth.own_case, general.information); the text model decides them now
        ("Var hittar jag blanketten för bostadsbidrag?", "forsakringskassan", "bostadsbidrag", "general"),
        ("När kommer utbetalningen av mitt bostadsbidrag?", "forsakringskassan", "bostadsbidrag", "in_depth"),
        ("Föräldrapenning, vad är det?", "forsakringskassan", "foraldrapenning", "general"),
        ("Jag jobbar i Norge men bor i Sverige, var ska jag betala skatt?", "skatteverket", "skatt_privatperson", "complex"),
    ],
)
def test_where_no_rule_decides_the_text_model_does_and_says_so(text, agency, case_type, level):
    result = classifier.classify(text)
    assert (result.agency, result.case_type, result.level, result.rule_id) == (agency, case_type, level, "text_model")
    assert "by the text model" in result.explanation and "weighed most" in result.explanation


def test_typos_and_missing_diacritics_still_match():
    result = classifier.classify("jag vill ansoka om idkort")
    assert (result.agency, result.case_type, result.level) == ("skatteverket", "id_kort", "complex")


def test_a_keyword_ending_in_a_dot_matches_only_whole_words():
    assert ("polisen", "pass") not in RULES.scan(normalise("Det passar mig bra")).case_types
    assert ("polisen", "pass") in RULES.scan(normalise("Jag behöver pass")).case_types


def test_other_keywords_match_at_the_start_of_a_word_only():
    found = RULES.scan(normalise("Bostadsbidraget kom inte")).case_types
    assert ("forsakringskassan", "bostadsbidrag") in found
    assert ("kronofogden", "skulder") not in RULES.scan(normalise("bidragsskuld")).case_types


def test_an_agency_name_is_evidence_for_all_its_case_types():
    found = RULES.scan(normalise("Frågor till Kronofogden")).case_types
    assert {c for (a, c) in found if a == "kronofogden"} == {"skulder", "skuldsanering", "ovrigt"}


def test_level_cues_are_found_per_level_and_situations_per_group():
    found = RULES.scan(normalise("Jag bor i Norge, när kommer min utbetalning?"))
    assert set(found.cues) == {"in_depth"} and set(found.situations) == {"another_country"}
    found = RULES.scan(normalise("Jag vill ha en ny prövning, det är fel! Min man dog i mars."))
    assert set(found.cues) == {"complex"} and set(found.situations) == {"contested", "death"}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"case_types": {"skatteverket/nope": ["x"]}, "levels": []}, "unknown case type"),
        ({"case_types": {}, "agencies": {"riksbanken": ["x"]}, "levels": []}, "unknown agency"),
        ({"case_types": {}, "levels": [{"id": "r", "level": "urgent", "keywords": ["x"], "reason": "."}]}, "unknown level"),
        ({"case_types": {}, "levels": [{"id": "r", "level": "complex", "reason": "."}]}, "neither"),
        ({"case_types": {}, "levels": [{"id": "r", "level": "complex", "keywords": ["x"], "reason": "."}] * 2}, "twice"),
    ],
)
def test_a_broken_rule_file_is_refused_with_a_reason(raw, message):
    with pytest.raises(ValueError, match=message):
        build_rules({"version": "t", **raw}, load_catalog())


def test_a_hint_outweighed_by_the_text_says_so():
    result = classifier.classify("Jag vill ansöka om id-kort", agency="pensionsmyndigheten")
    assert result.agency == "skatteverket"
    assert "outweighed" in result.explanation


def test_hint_alone_decides_with_low_confidence_when_no_words_match():
    result = classifier.classify("Bonjour, je voudrais un rendez-vous", agency="trafikverket")
    assert result.agency == "trafikverket" and result.needs_review
    assert result.confidence < 0.5


@pytest.mark.parametrize("text", ["", " ", "x" * 100_000, "日本語の質問です", "🙂🙂🙂", "Guten Tag, ich brauche Hilfe", "qwerty asdf"])
def test_odd_text_gets_a_level_with_low_confidence_not_a_crash(text):
    result = classifier.classify(text)
    assert result.level == "general"  # kept at the office for a handler, never sent on by default
    assert result.needs_review and result.confidence < 0.5


def test_unknown_hint_codes_are_ignored_not_fatal():
    result = classifier.classify("bostadsbidrag", agency="nope", case_type="nope")
    assert result.agency == "forsakringskassan"
