"""Demo traffic: the seed's mix of agencies and case types (the sources' 2014 shares:
docs/reporting.md, ``source_share_2014``) and
questions written the way visitors put them. Case types the seed gives no share get the
remainder, split evenly."""

from __future__ import annotations

import math
import random
from datetime import date, timedelta

from shared.catalog import load_catalog
from shared.personal_data import luhn_ok

OFFICES = [
    "kiruna", "gallivare", "lulea", "skelleftea", "umea", "ornskoldsvik", "ostersund",
    "sundsvall", "hudiksvall", "falun", "gavle", "uppsala", "vasteras", "orebro", "karlstad",
    "stockholm-kungsholmen", "stockholm-rinkeby", "sodertalje", "norrkoping", "linkoping",
    "jonkoping", "vaxjo", "kalmar", "visby", "karlskrona", "kristianstad", "helsingborg",
    "malmo-centrum", "malmo-rosengard", "goteborg-angered", "goteborg-centrum", "boras",
    "trollhattan", "halmstad", "vanersborg", "arvika",
]

QUESTIONS: dict[str, list[str]] = {
    "forsakringskassan/bostadsbidrag": ["Hur ansöker jag om bostadsbidrag?", "När kommer utbetalningen av mitt bostadsbidrag?", "Jag vill överklaga beslutet om bostadsbidrag"],
    "forsakringskassan/aktivitetsstod": ["Vad gäller för aktivitetsstöd när man går en utbildning?", "Har ni fått min ansökan om aktivitetsstöd?", "Varför fick jag fel belopp i aktivitetsstöd?"],
    "forsakringskassan/foraldrapenning": ["Hur tar jag ut föräldrapenning?", "Jag behöver hjälp att anmäla vab i e-tjänsten", "När får jag pengarna för föräldrapenningen?"],
    "forsakringskassan/sjukpenning": ["Hur ansöker man om sjukpenning?", "Har ni tagit emot mitt läkarintyg för sjukpenning?"],
    "forsakringskassan/barnbidrag": ["Hur fungerar flerbarnstillägg och barnbidrag?", "Mitt barnbidrag har inte kommit den här månaden"],
    "forsakringskassan/ovrigt": ["Jag vill lämna in en blankett till Försäkringskassan om underhållsstöd", "Hur ansöker jag om underhållsstöd?"],
    "skatteverket/folkbokforing": ["Jag har flyttat inom kommunen och vill göra en adressändring", "Jag behöver ett personbevis", "Hur byter man namn?"],
    "skatteverket/flytt_till_sverige": ["Jag har flyttat till Sverige och vill folkbokföra mig", "I just moved to Sweden, how do I get a personal identity number?", "Min fru har flyttat hit till Sverige från Syrien och behöver folkbokföras i Sverige"],
    "skatteverket/id_kort": ["Jag vill ansöka om id-kort", "Mitt id-kort är stulet, jag behöver ett nytt", "I need an ID card"],
    "skatteverket/skatt_privatperson": ["Hur deklarerar jag med BankID?", "När får jag min skatteåterbäring?", "Jag har fått kvarskatt, vad gör jag?"],
    "skatteverket/ovrigt": ["Var lämnar man in en bouppteckning?", "Hur ansöker jag om F-skatt?"],
    "pensionsmyndigheten/bostadstillagg": ["Kan jag som pensionär få bostadstillägg?", "När kommer mitt bostadstillägg att betalas ut?"],
    "pensionsmyndigheten/allman_pension": ["Hur mycket får jag i pension?", "Hur ansöker jag om att gå i pension?"],
    "pensionsmyndigheten/ovrigt": ["Hur ansöker man om efterlevandepension?"],
    "arbetsformedlingen/inskrivning": ["Jag har blivit arbetslös och vill skriva in mig", "Hur skriver jag in mig som arbetssökande?"],
    "arbetsformedlingen/aktivitetsrapport": ["Jag kan inte logga in för att skicka aktivitetsrapporten", "Har ni fått min aktivitetsrapport?"],
    "arbetsformedlingen/ovrigt": ["Var hittar jag lediga jobb och praktik?"],
    "migrationsverket/uppehallstillstand": ["Jag vill förlänga mitt uppehållstillstånd", "How do I apply for a work permit?"],
    "migrationsverket/medborgarskap": ["Jag vill ansöka om svenskt medborgarskap"],
    "migrationsverket/ovrigt": ["Hur får jag dagersättning från Migrationsverket?"],
    "kronofogden/skulder": ["Jag har fått ett betalningsföreläggande, vad betyder det?", "Hur stor är min skuld hos Kronofogden?"],
    "kronofogden/skuldsanering": ["Jag vill ansöka om skuldsanering"],
    "kronofogden/ovrigt": ["Vad händer vid en avhysning?"],
    "polisen/pass": ["Jag behöver ett nytt pass", "Var kan jag ansöka om pass?"],
    "polisen/ovrigt": ["Jag har tappat min plånbok, finns det hittegods här?"],
    "trafikverket/korkort": ["Hur bokar jag förarprov för körkort?", "Har ni fått min ansökan om körkortstillstånd?"],
    "trafikverket/ovrigt": ["Hur betalar jag fordonsskatt?"],
}


def case_type_weights() -> dict[str, float]:
    catalog = load_catalog()
    known = {f"{c.agency}/{c.code}": c.share for c in catalog.case_types.values() if c.share}
    rest = [key for key in QUESTIONS if key not in known]
    rest_share = 0.15
    scale = (1.0 - rest_share) / sum(known.values())
    weights = {key: share * scale for key, share in known.items()}
    weights.update({key: rest_share / len(rest) for key in rest})
    return weights


def synthetic_pin(rng: random.Random) -> str:
    """A made-up personnummer with a valid check digit (for demo traffic only)."""
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 65 * 365))
    stem = born.strftime("%y%m%d") + f"{rng.randrange(0, 1000):03d}"
    check = next(d for d in range(10) if luhn_ok(stem + str(d)))
    return f"{born.year}{stem[2:]}{check}"


# --- The office day (``servicekontor demo``, day mode) -----------------------------------
# Sample behaviour for a simulated day, in office minutes; not measured figures.

# The queue a visitor picks at the kiosk, where the office offers it (renormalised over
# what it offers). ``agency_desk``: any of the office's agency desk queues.
QUEUE_WEIGHTS = {
    "general": 0.64, "id_card": 0.14, "self_service": 0.08, "booked": 0.05,
    "newcomers": 0.04, "agency_desk": 0.05,
}
# What the visitors of a queue ask about (None: the sources' whole mix, case_type_weights).
QUEUE_TOPICS: dict[str, list[str] | None] = {
    "general": None,
    "self_service": None,
    "booked": None,
    "id_card": ["skatteverket/id_kort"],
    "newcomers": [
        "skatteverket/flytt_till_sverige", "migrationsverket/uppehallstillstand",
        "arbetsformedlingen/inskrivning", "forsakringskassan/barnbidrag",
    ],
}
# Median service time (office minutes) of one visit by queue; the time is log-normal
# around it (SERVICE_SIGMA), plus EXTRA_QUESTION_MINUTES for each further question.
SERVICE_MEDIAN_MINUTES = {
    "general": 5.0, "self_service": 8.0, "booked": 15.0, "id_card": 7.0, "newcomers": 12.0,
}
AGENCY_DESK_MEDIAN_MINUTES = 9.0
SERVICE_SIGMA = 0.55
EXTRA_QUESTION_MINUTES = 2.5
MAX_SERVICE_MINUTES = 45.0
# Visitors a day and generalist desks by office size (registry: small 2-5 handlers,
# medium 6-10, large more); an office with ID cards adds an ID-card desk, one with agency
# desks one desk for the agencies' officials (two at a large office). About half the
# desks' time is planned as service: the system's own response times add to it, and the
# peaks fill the rest.
VISITORS_BY_SIZE = {"small": 40, "medium": 90, "large": 160}
GENERALIST_DESKS_BY_SIZE = {"small": 2, "medium": 3, "large": 5}

NO_SHOW_SHARE = 0.07         # called, never came: a no-show (recalled first, mostly)
SLOW_SHARE = 0.10            # called, came only after a recall
SURVEY_SHARE = 0.35          # answered the three survey questions at the end
DESK_CHANNEL_SHARE = 0.08    # walk-ins registered by a handler at the desk
SELF_SERVICE_CHANNEL_SHARE = 0.7  # of the self_service queue: registered at the workstation
TRANSFER_SHARE = 0.4         # of complex questions an agency's own desk here can take


def arrival_intensity(minute_of_day: float, opens: float, closes: float) -> float:
    """Relative arrival rate at a clock minute: a base, a morning peak about 45 minutes
    after opening, a lunch peak around 12:15, and a quieter last half-hour."""
    def bump(centre: float, width: float, height: float) -> float:
        return height * math.exp(-(((minute_of_day - centre) / width) ** 2) / 2)

    rate = 1.0 + bump(opens + 45, 35, 1.3) + bump(12 * 60 + 15, 40, 1.6)
    if minute_of_day > closes - 30:
        rate *= 0.5
    return rate


def arrival_minutes(rng: random.Random, n: int, opens: float, closes: float) -> list[float]:
    """``n`` arrival clock minutes in [opens, closes - 5), shaped by arrival_intensity
    (rejection sampling), in order."""
    last = closes - 5
    peak = max(arrival_intensity(m, opens, closes) for m in range(int(opens), int(last) + 1))
    found: list[float] = []
    while len(found) < n:
        minute = rng.uniform(opens, last)
        if rng.random() * peak <= arrival_intensity(minute, opens, closes):
            found.append(minute)
    return sorted(found)


def service_minutes(rng: random.Random, queue: str, questions: int, agency_desk: bool = False) -> float:
    median = AGENCY_DESK_MEDIAN_MINUTES if agency_desk else SERVICE_MEDIAN_MINUTES.get(queue, 6.0)
    minutes = median * math.exp(rng.gauss(0, SERVICE_SIGMA)) + EXTRA_QUESTION_MINUTES * (questions - 1)
    return min(MAX_SERVICE_MINUTES, max(1.0, minutes))
