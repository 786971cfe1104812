"""SQL views of the steering figures (plain SQL for SQLite and PostgreSQL): workload per
office and day, first-contact resolution and waits against the 15-minute target per
office and month, the kiosk's estimate against the wait, agency decisions and the
contacts a person's pseudonym links (the raw material of repeat contacts)."""

from __future__ import annotations

STEERING_VIEWS: dict[str, str] = {
    "v_workload_by_office_day": """
SELECT a.office_id, o.name AS office_name, o.county, a.service_day, a.visits, a.questions,
       COALESCE(h.staffed_hours, 0) AS staffed_hours,
       a.visits / NULLIF(h.staffed_hours, 0) AS visits_per_staffed_hour,
       a.questions / NULLIF(h.staffed_hours, 0) AS questions_per_staffed_hour
FROM agg_office_day a
LEFT JOIN (SELECT office_id, service_day, SUM(staffed_seconds) / 3600.0 AS staffed_hours
           FROM reporting_desk_sessions GROUP BY office_id, service_day) h
  ON h.office_id = a.office_id AND h.service_day = a.service_day
LEFT JOIN dim_office o ON o.office_id = a.office_id""",
    "v_first_contact_by_office_month": """
SELECT q.office_id, SUBSTR(q.service_day, 1, 7) AS month, COUNT(*) AS resolved,
       SUM(CASE WHEN q.outcome = 'answered' THEN 1 ELSE 0 END) AS answered,
       SUM(CASE WHEN q.outcome = 'referred' THEN 1 ELSE 0 END) AS referred,
       SUM(CASE WHEN q.outcome = 'forwarded' THEN 1 ELSE 0 END) AS forwarded,
       1.0 * SUM(CASE WHEN q.outcome = 'answered' THEN 1 ELSE 0 END) / COUNT(*) AS first_contact_resolution
FROM reporting_questions q
WHERE q.outcome IS NOT NULL AND q.service_day IS NOT NULL
GROUP BY q.office_id, SUBSTR(q.service_day, 1, 7)""",
    "v_wait_target_by_office_month": """
SELECT f.office_id, SUBSTR(f.service_day, 1, 7) AS month, COUNT(f.wait_seconds) AS called,
       SUM(CASE WHEN f.wait_seconds <= 900 THEN 1 ELSE 0 END) AS within_15_minutes,
       1.0 * SUM(CASE WHEN f.wait_seconds <= 900 THEN 1 ELSE 0 END) / NULLIF(COUNT(f.wait_seconds), 0)
         AS within_target_share
FROM reporting_visit_flow f
WHERE f.service_day IS NOT NULL
GROUP BY f.office_id, SUBSTR(f.service_day, 1, 7)""",
    "v_estimate_error_by_office": """
SELECT f.office_id, COUNT(*) AS estimates,
       AVG(f.wait_seconds / 60.0 - e.estimated_wait_minutes) AS mean_error_minutes,
       AVG(ABS(f.wait_seconds / 60.0 - e.estimated_wait_minutes)) AS mean_abs_error_minutes
FROM reporting_visit_flow f JOIN reporting_wait_estimates e ON e.visit_id = f.visit_id
WHERE f.wait_seconds IS NOT NULL
GROUP BY f.office_id""",
    "v_agency_decisions": """
SELECT q.question_id, q.office_id, q.service_day, q.agency, q.case_type, q.forwarded_at, d.decided_at
FROM reporting_questions q JOIN reporting_agency_decisions d ON d.question_id = q.question_id""",
    "v_person_contacts": """
SELECT l.person_pseudonym, q.visit_id, q.office_id, q.service_day, q.agency, q.case_type,
       MIN(q.recorded_at) AS recorded_at
FROM reporting_questions q JOIN reporting_person_links l ON l.question_id = q.question_id
WHERE q.agency IS NOT NULL AND q.case_type IS NOT NULL
GROUP BY l.person_pseudonym, q.visit_id, q.office_id, q.service_day, q.agency, q.case_type""",
}
