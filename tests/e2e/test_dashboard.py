"""End to end: ``servicekontor replay reporting`` builds a store from a synthetic history,
the reporting service serves it, and headless Chromium (Debian's, driven by Playwright)
renders the dashboard from it without reaching any other origin. The screenshot is kept
in test-artifacts/dashboard.png.

The page is public and holds no data; its script sends the bearer token it was given in
the address's fragment (``#token=...``) or in its token box to the stats API."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from servicekontor.demo_data import OFFICES
from servicekontor.synthetic_history import write_history
from services.reporting.adapters.cost_config import SAMPLE
from tests.helpers import free_port, scaled, token, wait_until

pytestmark = pytest.mark.e2e
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACT = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard.png"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PERIOD = "from=2026-09-01&to=2026-12-31"
SERVE = (
    "import uvicorn; from services.reporting.bootstrap import bootstrap; "
    "uvicorn.run(bootstrap().app, host='127.0.0.1', port={port}, log_level='warning')"
)


TOKEN_KEY = "servicekontor.dashboard.token"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("dashboard")
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="needs the dev extra's playwright")
    history = write_history(tmp_path, 600, seed=12, first_day=date(2026, 9, 1),
                            days=84, office_names=OFFICES[:12])
    port = free_port()
    env = {**os.environ, "SK_DATA_DIR": str(tmp_path), "SK_REPORTING_PORT": str(port),
           "SK_REPORTING_COSTS_FILE": str(SAMPLE), "SK_LOG_LEVEL": "WARNING"}
    for name in ("SK_DATABASE_URL", "SK_REPORTING_DATABASE_URL", "SK_KAFKA_BOOTSTRAP_SERVERS"):
        env.pop(name, None)
    replayed = subprocess.run(
        [sys.executable, "-m", "servicekontor.cli", "replay", "reporting", "--data-dir", str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert replayed.returncode == 0, replayed.stderr
    assert re.search(rf"visits\s+│\s+{history.visits}\b", replayed.stdout), replayed.stdout
    tokens = {role: token(tmp_path, role) for role in ("bi", "kiosk")}  # the keys exist before the server starts
    server = subprocess.Popen([sys.executable, "-c", SERVE.format(port=port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{base}/health", timeout=2).status_code == 200, timeout=30)
        yield base, history, tokens
    finally:
        server.terminate()
        server.wait(timeout=scaled(10))


def test_the_dashboard_draws_every_chart_from_the_store(served) -> None:
    from playwright.sync_api import sync_playwright

    base, history, tokens = served
    bi = {"Authorization": f"Bearer {tokens['bi']}"}
    summary = httpx.get(f"{base}/v1/stats/summary", params={"from": "2026-09-01", "to": "2026-12-31"}, headers=bi).json()
    foreign, errors, api_calls = [], [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.on("request", lambda r: foreign.append(r.url) if urlparse(r.url).hostname != "127.0.0.1" else None)
        page.on("request", lambda r: api_calls.append((r.url, r.headers.get("authorization")))
                if urlparse(r.url).path.startswith("/v1/") else None)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{base}/dashboard?{PERIOD}#token={tokens['bi']}")
        page.wait_for_selector('body[data-ready="1"]', timeout=20_000)
        address, kept = page.url, page.evaluate(f"sessionStorage.getItem({TOKEN_KEY!r})")
        login_shown = page.is_visible("#login")
        kpis = page.inner_text("#kpis")
        bars = {chart: page.locator(f"#{chart} svg rect").count()
                for chart in ("visits", "agencies", "casetypes", "levels", "waiting", "day", "hours", "costs")}
        offices = page.locator("select[name=office_id] option").count()
        office_names = page.locator("select[name=office_id] option").all_inner_texts()
        status = page.inner_text("#status")
        texts = {card: page.inner_text(f"#{card}") for card in ("day-table", "satisfaction", "channels", "cost-table")}
        heading = page.inner_text("header h1")
        page.click("#lang")
        page.wait_for_selector('body[data-ready="1"]', timeout=20_000)
        english = (page.inner_text("header h1"), page.inner_text("#status"))
        page.click("#lang")
        page.wait_for_selector('body[data-ready="1"]', timeout=20_000)
        ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACT), full_page=True)
        page.select_option("select[name=agency]", "skatteverket")
        page.click("#filters button[type=submit]")
        page.wait_for_selector('body[data-ready="1"]', timeout=20_000)
        filtered = page.inner_text("#kpis")
        browser.close()
    assert not foreign and not errors, (foreign, errors)
    assert status.startswith("uppdaterad"), status
    # Swedish first, English on the toggle; office names, not ids.
    assert heading == "Servicekontor – uppföljning" and english[0] == "Servicekontor – reporting"
    assert english[1].startswith("updated"), english
    assert "Luleå" in office_names and "lulea" not in office_names
    # Waits, service times, no-shows and transfers per office; satisfaction per agency.
    assert "Östersund" in texts["day-table"] and "uteblev" in texts["day-table"], texts["day-table"]
    assert "Försäkringskassan" in texts["satisfaction"] and "Skatteverket" in texts["satisfaction"]
    assert "kundarbetsplats" in texts["channels"] and "Luleå" in texts["cost-table"]
    # The token left the address bar at once, stays in the tab, and goes only in the header.
    assert "token" not in address and address.endswith(f"/dashboard?{PERIOD}"), address
    assert kept == tokens["bi"] and not login_shown
    assert api_calls and all(auth == f"Bearer {tokens['bi']}" and tokens["bi"] not in url for url, auth in api_calls)
    visits = f"{summary['visits']:,}".replace(",", "\u00a0")
    assert summary["visits"] == history.visits and visits in kpis, kpis
    assert all(n > 0 for n in bars.values()), bars
    assert bars["visits"] >= 12 and offices == 13  # one bar a week over 12 weeks
    assert filtered != kpis, "the agency filter narrows the figures"
    assert ARTIFACT.stat().st_size > 20_000


def test_without_a_token_the_page_asks_for_one_and_says_why_a_token_was_refused(served) -> None:
    from playwright.sync_api import sync_playwright

    base, _history, tokens = served
    shell = httpx.get(f"{base}/dashboard")
    assert shell.status_code == 200 and "default-src 'none'" in shell.headers["content-security-policy"]
    assert httpx.get(f"{base}/v1/stats/summary").status_code == 401
    errors, api_calls = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.on("request", lambda r: api_calls.append(r.url) if urlparse(r.url).path.startswith("/v1/") else None)
        # A refused fetch is logged by the browser itself ("Failed to load resource"); any
        # other console error (a script fault, a CSP violation) fails the test.
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "Failed to load resource" not in m.text else None)
        page.on("pageerror", lambda e: errors.append(str(e)))

        page.goto(f"{base}/dashboard?{PERIOD}")
        page.wait_for_selector("#login:not([hidden])", timeout=20_000)
        assert not api_calls, "without a token the page asks the API nothing"
        assert "kräver en bearer-token" in page.inner_text("#login-message")
        assert page.inner_text("#kpis") == ""

        def use(value: str) -> None:
            page.fill("#login input[name=token]", value)
            page.click("#login button[type=submit]")

        use("not-a-token")
        page.wait_for_selector('body[data-auth="401"]', timeout=20_000)
        refused = page.inner_text("#login-message")
        assert "godtogs inte" in refused and "401" in page.inner_text("#status"), refused
        assert page.evaluate(f"sessionStorage.getItem({TOKEN_KEY!r})") is None, "a refused token is forgotten"

        use(tokens["kiosk"])
        page.wait_for_selector('body[data-auth="403"]', timeout=20_000)
        assert "får inte läsa statistiken" in page.inner_text("#login-message")

        use(tokens["bi"])
        page.wait_for_selector('body[data-auth="ok"]', timeout=20_000)
        page.wait_for_selector('body[data-ready="1"]', timeout=20_000)
        assert page.inner_text("#status").startswith("uppdaterad")
        assert page.is_hidden("#login") and page.locator("#visits svg rect").count() >= 12
        assert page.locator("select[name=office_id] option").count() == 13
        browser.close()
    assert not errors, errors


MEETINGS_ARTIFACT = ARTIFACT.with_name("dashboard-meetings.png")


def test_the_meetings_panel_shows_the_booked_and_video_meetings_of_the_history(served) -> None:
    """Issue 16: the synthetic history's bookings, as the meetings API counts them, on the
    panel (its figures, its bars per office, its table with lead times and room use)."""
    from playwright.sync_api import sync_playwright

    base, history, tokens = served
    bi = {"Authorization": f"Bearer {tokens['bi']}"}
    period = {"from": "2026-09-01", "to": "2026-12-31"}
    offices = httpx.get(f"{base}/v1/stats/meetings", params=period, headers=bi).json()["rows"]
    [video] = [r for r in httpx.get(f"{base}/v1/stats/meetings", params={**period, "group_by": "kind"},
                                    headers=bi).json()["rows"] if r["kind"] == "video"]
    booked, held = sum(r["booked"] for r in offices), sum(r["held"] for r in offices)
    assert booked == history.meetings > 0 and 0 < held < booked and video["video_room_use"] > 0
    errors = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{base}/dashboard?{PERIOD}#token={tokens['bi']}")
        page.wait_for_selector('body[data-ready="1"]', timeout=20_000)
        kpis, table = page.inner_text("#meeting-kpis"), page.inner_text("#meeting-table")
        bars = page.locator("#meetings svg rect").count()
        MEETINGS_ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
        page.locator("#meetings-card").screenshot(path=str(MEETINGS_ARTIFACT))
        browser.close()
    assert not errors, errors
    number = lambda n: f"{n:,}".replace(",", "\u00a0")  # noqa: E731  (sv-SE grouping)
    assert "Bokade möten" in kpis and number(booked) in kpis and number(held) in kpis, kpis
    share = f"{100 * video['video_room_use']:.1f}".replace(".", ",") + " %"
    assert share in kpis, (share, kpis)
    busiest = max(offices, key=lambda r: r["booked"])
    assert busiest["office_name"] in table and "ledtid median" in table and " d" in table, table
    assert bars >= len([r for r in offices if r["booked"]]) and MEETINGS_ARTIFACT.stat().st_size > 5_000
