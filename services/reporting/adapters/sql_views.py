"""SQL views for the common questions. Plain SQL that SQLite (3.25+) and PostgreSQL both
run; on PostgreSQL they are created in the ``reporting`` schema."""

from __future__ import annotations

from services.reporting.adapters.day_sql_views import DAY_VIEWS
from services.reporting.adapters.meeting_sql_views import MEETING_VIEWS
from services.reporting.adapters.steering_sql_views import STEERING_VIEWS

_DATE_COLUMNS = "d.year, d.quarter, d.tertial, d.month, d.iso_week, d.weekday"

VIEWS: dict[str, str] = {
    "v_visits": f"""
SELECT v.*, {_DATE_COLUMNS}
FROM reporting_visits v LEFT JOIN dim_date d ON d.day = v.service_day""",
    "v_questions": f"""
SELECT q.question_id, q.visit_id, q.office_id, q.service_day, {_DATE_COLUMNS},
       q.agency, a.name AS agency_name, q.case_type, ct.name AS case_type_name, q.level,
       q.destination, q.classified_level, q.classified_agency, q.classified_case_type,
       q.overridden, q.outcome, q.routed_at, q.delivery_status, q.delivery_attempts,
       q.failed_attempts, q.forward_seconds
FROM reporting_questions q
LEFT JOIN dim_date d ON d.day = q.service_day
LEFT JOIN dim_agency a ON a.agency = q.agency
LEFT JOIN dim_case_type ct ON ct.agency = q.agency AND ct.case_type = q.case_type""",
    "v_case_type_shares": """
SELECT q.agency, q.case_type, ct.name AS case_type_name, COUNT(*) AS questions,
       1.0 * COUNT(*) / SUM(COUNT(*)) OVER () AS share, ct.source_share_2014
FROM reporting_questions q
LEFT JOIN dim_case_type ct ON ct.agency = q.agency AND ct.case_type = q.case_type
WHERE q.agency IS NOT NULL
GROUP BY q.agency, q.case_type, ct.name, ct.source_share_2014""",
    "v_case_type_shares_by_tertial": """
SELECT d.year, d.tertial, a.agency, a.case_type, SUM(a.questions) AS questions,
       1.0 * SUM(a.questions) / SUM(SUM(a.questions)) OVER (PARTITION BY d.year, d.tertial) AS share
FROM agg_case_type_day a JOIN dim_date d ON d.day = a.service_day
GROUP BY d.year, d.tertial, a.agency, a.case_type""",
    "v_case_type_shares_by_month": """
SELECT d.month, a.agency, a.case_type, SUM(a.questions) AS questions,
       1.0 * SUM(a.questions) / SUM(SUM(a.questions)) OVER (PARTITION BY d.month) AS share
FROM agg_case_type_day a JOIN dim_date d ON d.day = a.service_day
GROUP BY d.month, a.agency, a.case_type""",
    "v_agency_shares_by_month": """
SELECT d.month, a.agency, SUM(a.questions) AS questions,
       1.0 * SUM(a.questions) / SUM(SUM(a.questions)) OVER (PARTITION BY d.month) AS share
FROM agg_case_type_day a JOIN dim_date d ON d.day = a.service_day
GROUP BY d.month, a.agency""",
    "v_level_mix": """
SELECT agency, case_type, level, SUM(questions) AS questions,
       1.0 * SUM(questions) / SUM(SUM(questions)) OVER (PARTITION BY agency, case_type) AS share
FROM agg_case_type_day
GROUP BY agency, case_type, level""",
    "v_complex_destinations": """
SELECT agency, destination, COUNT(*) AS questions,
       1.0 * COUNT(*) / SUM(COUNT(*)) OVER (PARTITION BY agency) AS share
FROM reporting_questions
WHERE level = 'complex' AND agency IS NOT NULL
GROUP BY agency, destination""",
    "v_forwarding_by_agency": """
SELECT agency, COUNT(*) AS cases,
       SUM(CASE WHEN delivery_status = 'delivered' THEN 1 ELSE 0 END) AS delivered,
       SUM(CASE WHEN delivery_status = 'dead_lettered' THEN 1 ELSE 0 END) AS dead_lettered,
       SUM(delivery_attempts) AS attempts, SUM(failed_attempts) AS failed_attempts,
       1.0 * SUM(failed_attempts) / NULLIF(SUM(delivery_attempts), 0) AS attempt_failure_rate,
       AVG(forward_seconds) AS mean_forward_seconds
FROM reporting_questions
WHERE delivery_status IS NOT NULL
GROUP BY agency""",
    "v_override_rate_by_agency": """
SELECT classified_agency AS agency, COUNT(*) AS classified,
       SUM(CASE WHEN overridden THEN 1 ELSE 0 END) AS overridden,
       1.0 * SUM(CASE WHEN overridden THEN 1 ELSE 0 END) / COUNT(*) AS override_rate
FROM reporting_questions
WHERE classified_level IS NOT NULL
GROUP BY classified_agency""",
    "v_satisfaction_by_office_month": """
SELECT a.office_id, d.month, SUM(a.survey_answers) AS answers,
       1.0 * SUM(a.satisfied_treatment) / NULLIF(SUM(a.survey_answers), 0) AS treatment_satisfied,
       1.0 * SUM(a.satisfied_time) / NULLIF(SUM(a.survey_answers), 0) AS time_satisfied,
       1.0 * SUM(a.got_help) / NULLIF(SUM(a.survey_answers), 0) AS got_help
FROM agg_office_day a JOIN dim_date d ON d.day = a.service_day
GROUP BY a.office_id, d.month""",
    "v_visits_by_hour_weekday": """
SELECT office_id, registered_weekday AS weekday, registered_hour AS hour, COUNT(*) AS visits
FROM reporting_visits
WHERE registered_hour IS NOT NULL
GROUP BY office_id, registered_weekday, registered_hour""",
    "v_wait_percentiles_by_office": """
WITH ranked AS (
  SELECT office_id, wait_seconds AS w,
         ROW_NUMBER() OVER (PARTITION BY office_id ORDER BY wait_seconds) AS rn,
         COUNT(*) OVER (PARTITION BY office_id) AS n
  FROM reporting_visits WHERE wait_seconds IS NOT NULL)
SELECT office_id, MAX(n) AS visits_called,
       MIN(CASE WHEN rn * 2 >= n THEN w END) AS p50_wait_seconds,
       MIN(CASE WHEN rn * 10 >= n * 9 THEN w END) AS p90_wait_seconds
FROM ranked GROUP BY office_id""",
    "v_cost_allocation_totals": """
SELECT period_from, period_to, agency, SUM(fixed_sek) AS fixed_sek,
       SUM(variable_sek) AS variable_sek, SUM(total_sek) AS total_sek,
       SUM(total_sek) / SUM(SUM(total_sek)) OVER (PARTITION BY period_from, period_to) AS share
FROM cost_allocation
GROUP BY period_from, period_to, agency""",
    "v_cost_per_visit": """
SELECT c.office_id, c.period_from, c.period_to, c.fixed_sek + c.variable_sek AS cost_sek,
       v.visits, (c.fixed_sek + c.variable_sek) / NULLIF(v.visits, 0) AS cost_per_visit
FROM cost_office_period c
LEFT JOIN (SELECT p.office_id, p.period_from, p.period_to, SUM(a.visits) AS visits
           FROM cost_office_period p JOIN agg_office_day a ON a.office_id = p.office_id
            AND a.service_day BETWEEN p.period_from AND p.period_to
           GROUP BY p.office_id, p.period_from, p.period_to) v
  ON v.office_id = c.office_id AND v.period_from = c.period_from AND v.period_to = c.period_to""",
    **DAY_VIEWS,
    **STEERING_VIEWS,
    **MEETING_VIEWS,
}


def view_statements() -> list[str]:
    """Drop and create every view (a changed definition replaces the old one)."""
    statements = [f"DROP VIEW IF EXISTS {name}" for name in VIEWS]
    return statements + [f"CREATE VIEW {name} AS {sql.strip()}" for name, sql in VIEWS.items()]
