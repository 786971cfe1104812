"""Demo traffic: the seed's mix of agencies and case types (DOMAIN.md, 2014 shares) and
questions written the way visitors put them. Case types the seed gives no share get the
remainder, split evenly."""

from __future__ import annotations

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
