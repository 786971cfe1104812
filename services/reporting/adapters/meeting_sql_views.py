"""SQL views of the meetings (plain SQL for SQLite and PostgreSQL): counts per office,
meeting day, agency, kind and case type, with who cancelled and the video minutes booked.
Lead-time percentiles and room use are in ``GET /v1/stats/meetings`` (room-minutes need
the office registry's opening hours)."""

from __future__ import annotations

MEETING_VIEWS: dict[str, str] = {
    "v_meetings_by_office_day": """
SELECT m.office_id, o.name AS office_name, m.service_day, m.agency, m.kind, m.case_type,
       COUNT(*) AS booked,
       SUM(CASE WHEN m.status = 'held' THEN 1 ELSE 0 END) AS held,
       SUM(CASE WHEN m.status = 'no_show' THEN 1 ELSE 0 END) AS no_show,
       SUM(CASE WHEN m.status = 'cancelled' THEN 1 ELSE 0 END) AS cancelled,
       SUM(CASE WHEN m.status = 'cancelled' AND m.cancelled_by = 'visitor' THEN 1 ELSE 0 END) AS cancelled_by_visitor,
       SUM(CASE WHEN m.status = 'cancelled' AND m.cancelled_by = 'office' THEN 1 ELSE 0 END) AS cancelled_by_office,
       SUM(CASE WHEN m.status = 'cancelled' AND m.cancelled_by = 'agency' THEN 1 ELSE 0 END) AS cancelled_by_agency,
       SUM(CASE WHEN m.status = 'not_held' THEN 1 ELSE 0 END) AS not_held,
       SUM(CASE WHEN m.status = 'booked' THEN 1 ELSE 0 END) AS upcoming,
       SUM(CASE WHEN m.kind = 'video' AND m.status <> 'cancelled' THEN m.length_minutes ELSE 0 END)
         AS video_booked_minutes,
       AVG(m.lead_minutes) AS mean_lead_minutes
FROM reporting_meetings m LEFT JOIN dim_office o ON o.office_id = m.office_id
WHERE m.service_day IS NOT NULL AND m.agency IS NOT NULL
GROUP BY m.office_id, o.name, m.service_day, m.agency, m.kind, m.case_type""",
}
