"""Quality without relying on surveys (``GET /v1/stats/quality``), per office or agency.

- first-contact resolution: answered at the office / resolved questions (answered,
  referred, forwarded); ``answered_came_back``: answered questions whose person came back
  about the same agency and case type within 30 days (linked contacts only), and the
  resolution share net of them;
- waiting time against the target: share of called visits called within 15 minutes;
- the estimate shown at the kiosk against the wait that followed (actual − shown);
- the agencies' time from forwarding (accepted by the agency's system) to decision
  (the first ``decided`` or ``closed`` callback), median in days;
- the survey: response rate (answers / ended visits) and each share with its 95 % Wilson
  interval; flagged when fewer than ``MIN_ANSWERS`` answered.
Per agency a visit counts for every agency its questions went to. Pure.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from services.reporting.domain.repeats import contacts_of, repeats
from services.reporting.domain.spread import flag_outliers
from services.reporting.domain.steering_inputs import Period, QuestionRow, VisitRow

GROUPS = ("office", "agency")
TARGET_MINUTES = 15
CAME_BACK_DAYS = 30
MIN_ANSWERS = 30
Z95 = 1.959964


def wilson(successes: int, n: int) -> tuple[float, float] | None:
    """The 95 % Wilson score interval of a share (good also for small n and shares near 0 or 1)."""
    if n == 0:
        return None
    p = successes / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / (1 + Z95**2 / n)
    return round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)


def _share(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


def _survey_share(successes: int, n: int) -> dict[str, Any]:
    ci = wilson(successes, n)
    return {"share": _share(successes, n), "ci_low": ci[0] if ci else None, "ci_high": ci[1] if ci else None}


def quality(
    group_by: str, period: Period, visits: Iterable[VisitRow], questions: Sequence[QuestionRow],
    office_id: str | None = None,
) -> dict[str, Any]:
    """``questions``: of every office (a person comes back at any office), also from the
    30 days after the period; the figures count the period's (and ``office_id``'s)."""
    every = contacts_of(questions)
    _, came_back = repeats(every, CAME_BACK_DAYS)
    returned = {qid for i in came_back for qid in every[i].question_ids}
    mine = (lambda office: True) if office_id is None else (lambda office: office == office_id)
    inside = [q for q in questions if period.holds(q.service_day) and mine(q.office_id)]
    visits = [v for v in visits if period.holds(v.service_day) and mine(v.office_id)]
    keys_of: dict[str, set[str]] = defaultdict(set)  # visit -> its groups
    for v in visits:
        if group_by == "office":
            keys_of[v.visit_id].add(v.office_id)
    if group_by == "agency":
        for q in inside:
            if q.agency:
                keys_of[q.visit_id].add(q.agency)
    groups: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(list))
    for q in inside:
        key = q.office_id if group_by == "office" else q.agency
        if key is not None:
            groups[key]["questions"].append(q)
    for v in visits:
        for key in keys_of.get(v.visit_id, ()):
            groups[key]["visits"].append(v)
    label = "office_id" if group_by == "office" else "agency"
    rows = [{label: k, **_figures(g["visits"], g["questions"], returned)} for k, g in sorted(groups.items())]
    spreads = flag_outliers(rows, ("first_contact_resolution", "within_target_share", "mean_abs_estimate_error_minutes"))
    return {"period": {"from": period.first.isoformat(), "to": period.last.isoformat()},
            "target_minutes": TARGET_MINUTES, "rows": rows, "spread": spreads}


def _figures(visits: list[VisitRow], questions: list[QuestionRow], returned: set[str]) -> dict[str, Any]:
    outcome = defaultdict(int)
    for q in questions:
        outcome[q.outcome] += 1
    resolved = outcome["answered"] + outcome["referred"] + outcome["forwarded"]
    came_back = sum(1 for q in questions if q.outcome == "answered" and q.question_id in returned)
    waits = [v.wait_seconds for v in visits if v.wait_seconds is not None]
    within = sum(1 for w in waits if w <= TARGET_MINUTES * 60)
    errors = [v.wait_seconds / 60 - v.estimated_wait_minutes for v in visits
              if v.wait_seconds is not None and v.estimated_wait_minutes is not None]
    forwarded = [q for q in questions if q.forwarded_at is not None]
    decision_days = [(q.decided_at - q.forwarded_at).total_seconds() / 86400
                     for q in forwarded if q.decided_at is not None]
    ended = sum(1 for v in visits if v.ended)
    answers = [v for v in visits if v.treatment is not None]
    n = len(answers)
    return {
        "visits": len(visits), "questions": len(questions), "resolved": resolved,
        "answered": outcome["answered"], "referred": outcome["referred"], "forwarded": outcome["forwarded"],
        "first_contact_resolution": _share(outcome["answered"], resolved),
        "answered_came_back": came_back,
        "first_contact_resolution_net": _share(outcome["answered"] - came_back, resolved),
        "called": len(waits), "within_target": within, "within_target_share": _share(within, len(waits)),
        "estimates": len(errors),
        "mean_estimate_error_minutes": round(statistics.fmean(errors), 2) if errors else None,
        "mean_abs_estimate_error_minutes": round(statistics.fmean(map(abs, errors)), 2) if errors else None,
        "cases_forwarded": len(forwarded), "cases_decided": len(decision_days),
        "median_decision_days": round(statistics.median(decision_days), 2) if decision_days else None,
        "survey": {
            "ended_visits": ended, "answers": n, "response_rate": _share(n, ended),
            "got_help": _survey_share(sum(1 for v in answers if v.got_help), n),
            "treatment_satisfied": _survey_share(sum(1 for v in answers if v.treatment >= 4), n),
            "time_satisfied": _survey_share(sum(1 for v in answers if (v.time or 0) >= 4), n),
            "too_few_answers": n < MIN_ANSWERS,
        },
    }
