"""SQL views of the office day (waits, service, no-shows, transfers, recalls, channels,
staffed desk time) and satisfaction per agency: plain SQL for SQLite and PostgreSQL.
Minutes are seconds / 60; office names come from ``dim_office``."""

from __future__ import annotations

_NO_SHOWS = "SUM(CASE WHEN f.no_show THEN 1 ELSE 0 END)"
_SATISFIED = """COUNT(*) AS answers,
       1.0 * SUM(CASE WHEN v.satisfaction_treatment >= 4 THEN 1 ELSE 0 END) / COUNT(*) AS treatment_satisfied,
       1.0 * SUM(CASE WHEN v.satisfaction_time >= 4 THEN 1 ELSE 0 END) / COUNT(*) AS time_satisfied,
       1.0 * SUM(CASE WHEN v.satisfaction_got_help THEN 1 ELSE 0 END) / COUNT(*) AS got_help"""

DAY_VIEWS: dict[str, str] = {
    "v_visit_flow": """
SELECT f.*, o.name AS office_name, d.year, d.month, d.iso_week
FROM reporting_visit_flow f
LEFT JOIN dim_office o ON o.office_id = f.office_id
LEFT JOIN dim_date d ON d.day = f.service_day""",
    "v_waits_by_office_queue": f"""
SELECT f.office_id, o.name AS office_name, f.queue, COUNT(*) AS visits,
       COUNT(f.wait_seconds) AS called, AVG(f.wait_seconds) / 60.0 AS mean_wait_minutes,
       MAX(f.wait_seconds) / 60.0 AS max_wait_minutes, {_NO_SHOWS} AS no_shows,
       SUM(f.transfers) AS transfers, SUM(f.recalls) AS recalls
FROM reporting_visit_flow f LEFT JOIN dim_office o ON o.office_id = f.office_id
GROUP BY f.office_id, o.name, f.queue""",
    "v_service_by_office_queue": """
SELECT s.office_id, o.name AS office_name, s.queue, COUNT(*) AS steps,
       COUNT(s.service_seconds) AS served_steps,
       AVG(s.service_seconds) / 60.0 AS mean_service_minutes,
       AVG(s.wait_seconds) / 60.0 AS mean_step_wait_minutes,
       SUM(CASE WHEN s.end_reason = 'no_show' THEN 1 ELSE 0 END) AS no_shows,
       SUM(CASE WHEN s.end_reason = 'transferred' THEN 1 ELSE 0 END) AS transfers,
       SUM(s.recalls) AS recalls
FROM reporting_service_steps s LEFT JOIN dim_office o ON o.office_id = s.office_id
GROUP BY s.office_id, o.name, s.queue""",
    "v_waits_by_hour_weekday": f"""
SELECT f.office_id, f.registered_weekday AS weekday, f.registered_hour AS hour,
       COUNT(*) AS visits, AVG(f.wait_seconds) / 60.0 AS mean_wait_minutes,
       AVG(f.service_seconds) / 60.0 AS mean_service_minutes, {_NO_SHOWS} AS no_shows
FROM reporting_visit_flow f
WHERE f.registered_hour IS NOT NULL
GROUP BY f.office_id, f.registered_weekday, f.registered_hour""",
    "v_visits_by_channel": """
SELECT v.office_id, o.name AS office_name, v.service_day, v.channel, COUNT(*) AS visits
FROM reporting_visits v LEFT JOIN dim_office o ON o.office_id = v.office_id
WHERE v.service_day IS NOT NULL
GROUP BY v.office_id, o.name, v.service_day, v.channel""",
    "v_desk_hours_by_office_day": """
SELECT s.office_id, o.name AS office_name, s.service_day, COUNT(*) AS sessions,
       COUNT(DISTINCT s.desk) AS desks, SUM(s.staffed_seconds) / 3600.0 AS staffed_hours,
       SUM(CASE WHEN s.closed_at IS NULL THEN 1 ELSE 0 END) AS open_sessions
FROM reporting_desk_sessions s LEFT JOIN dim_office o ON o.office_id = s.office_id
GROUP BY s.office_id, o.name, s.service_day""",
    "v_satisfaction_by_agency": f"""
SELECT p.agency, a.name AS agency_name, {_SATISFIED}
FROM reporting_visits v
JOIN (SELECT DISTINCT visit_id, agency FROM reporting_questions WHERE agency IS NOT NULL) p
  ON p.visit_id = v.visit_id
LEFT JOIN dim_agency a ON a.agency = p.agency
WHERE v.satisfaction_treatment IS NOT NULL
GROUP BY p.agency, a.name""",
}
