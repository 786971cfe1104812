"""End to end: the office pages intake serves (kiosk, desk, display), in Debian's headless
Chromium driven by Playwright, against ``servicekontor up``.

A kiosk takes tickets in two queues, the display shows them waiting, a desk calls the
next visitor and the display shows the call within a second of the call-next answer,
the desk records a complex question, sees its classification and explanation at once,
forwards it and sees the agency's status arrive (the simulator sends callbacks). Every
page passes axe-core without serious or critical violations. Screenshots go to
``/tmp/shots/`` (``SK_SHOTS`` to change)."""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from tests.e2e.conftest import RunningSystem

pytestmark = pytest.mark.e2e
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = Path(os.environ.get("SK_SHOTS", "/tmp/shots"))
OFFICE = "lulea"  # takes ID-card applications: queues A (general) and I (id_card)
SERIOUS = {"serious", "critical"}


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="needs the dev extra's playwright")
    tmp_path = tmp_path_factory.mktemp("office_pages")
    running = RunningSystem(tmp_path / "data", tmp_path / "servicekontor.log")
    running.start()
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield running
    if running.process and running.process.poll() is None:
        running.process.kill()
        running.process.wait(timeout=10)


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


class Watched:
    """A page whose script errors, CSP violations and requests to other hosts are kept."""

    def __init__(self, browser, viewport: dict[str, int], *, storage: str | None = None) -> None:
        self.context = browser.new_context(viewport=viewport)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.foreign: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.foreign.append(r.url)
                     if urlparse(r.url).hostname != "127.0.0.1" else None)

    def shot(self, name: str, **options) -> Path:
        path = SHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), **options)
        return path


def axe_problems(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]})
    assert results.response["testEngine"]["name"] == "axe-core"
    return [f"{v['id']} ({v['impact']}): {v['help']} – {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"] if v["impact"] in SERIOUS]


def test_the_pages_are_public_shells_under_a_strict_policy(system) -> None:
    for page in ("kiosk", "desk", "display"):
        shell = httpx.get(system.url("intake", f"/{page}"), params={"office": OFFICE})
        policy = shell.headers["content-security-policy"]
        assert shell.status_code == 200 and shell.headers["content-type"].startswith("text/html")
        assert "default-src 'none'" in policy and "script-src 'nonce-" in policy and "unsafe-inline" not in policy.split("style-src")[0]
        nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
        assert f'<script nonce="{nonce}">' in shell.text and "__" not in re.sub(r"__proto__", "", shell.text.split("<script")[0])
        assert "Bearer ey" not in shell.text
    assert not {"/kiosk", "/desk", "/display"} & set(httpx.get(system.url("intake", "/openapi.json")).json()["paths"])
    # The desk page may reach routing, and routing lets intake's pages in (CORS), no one else.
    desk_policy = httpx.get(system.url("intake", "/desk")).headers["content-security-policy"]
    assert system.url("routing") in desk_policy
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type,idempotency-key"}
    allowed = httpx.options(system.url("routing", "/v1/questions/q/override"),
                            headers={"Origin": system.url("intake"), **preflight})
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == system.url("intake")
    refused = httpx.options(system.url("routing", "/v1/questions/q/override"),
                            headers={"Origin": "http://evil.example", **preflight})
    assert "access-control-allow-origin" not in refused.headers


def test_an_office_day_in_the_browser(system, browser) -> None:
    from playwright.sync_api import expect

    creds = system.credentials()
    base = system.url("intake")
    display = Watched(browser, {"width": 1920, "height": 1080})
    kiosk = Watched(browser, {"width": 1080, "height": 1920})
    desk = Watched(browser, {"width": 1440, "height": 1000})

    # The display: the token leaves the address at once and stays on the screen's browser.
    display.page.goto(f"{base}/display?office={OFFICE}#token={creds['display']}")
    display.page.wait_for_selector("body[data-connection=open]", timeout=15_000)
    assert display.page.url.endswith(f"/display?office={OFFICE}")
    assert display.page.evaluate("localStorage.getItem('servicekontor.display.token')") == creds["display"]
    display.shot("display-empty")

    # The kiosk: Swedish first, big buttons for the office's services; a ticket in each of two queues.
    kiosk.page.goto(f"{base}/kiosk?office={OFFICE}&reset=3#token={creds['kiosk']}")
    kiosk.page.wait_for_selector("body[data-screen=start]", timeout=15_000)
    assert kiosk.page.evaluate("document.documentElement.lang") == "sv"
    assert "Vad behöver du hjälp med?" in kiosk.page.inner_text("h1:visible")
    kiosk.shot("kiosk-start")
    kiosk_axe = axe_problems(kiosk.page)
    visit_ids = []
    kiosk.page.on("response", lambda r: visit_ids.append(r.json()["visit_id"])
                  if r.url.endswith("/v1/visits") and r.status == 201 else None)
    kiosk.page.click("button[data-queue=general]")
    kiosk.page.wait_for_selector("body[data-screen=ticket]", timeout=10_000)
    assert kiosk.page.inner_text("#ticket-number") == "A001"
    assert kiosk.page.inner_text("#ticket-position") == "1"
    assert kiosk.page.inner_text("#live") == "Ditt nummer är A001, Allmän service."
    kiosk.shot("kiosk-ticket-sv")
    kiosk.page.click("#language")
    assert kiosk.page.evaluate("document.documentElement.lang") == "en"
    assert kiosk.page.inner_text("#ticket-title") == "Your number"
    kiosk.shot("kiosk-ticket-en")
    kiosk_axe += axe_problems(kiosk.page)
    kiosk.page.emulate_media(media="print")
    kiosk.shot("kiosk-ticket-print")
    printed = kiosk.page.inner_text("body")
    kiosk.page.emulate_media(media="screen")
    assert "A001" in printed and "Lule" in printed
    # Back to the start screen by itself, in Swedish again.
    kiosk.page.wait_for_selector("body[data-screen=start]", timeout=10_000)
    assert kiosk.page.evaluate("document.documentElement.lang") == "sv"
    # The second ticket by keyboard alone, with the focus visible on the way.
    for _ in range(15):
        kiosk.page.keyboard.press("Tab")
        if kiosk.page.evaluate("document.activeElement.dataset.queue") == "id_card":
            break
    assert kiosk.page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    kiosk.shot("kiosk-keyboard-focus")
    kiosk.page.keyboard.press("Enter")
    kiosk.page.wait_for_selector("body[data-screen=ticket]", timeout=10_000)
    assert kiosk.page.inner_text("#ticket-number") == "I001"
    assert len(visit_ids) == 2 and not any(v in kiosk.page.content() for v in visit_ids), "the kiosk shows no visit id"

    # The display shows both waiting.
    waiting = {"general": "1", "id_card": "1"}
    for queue, count in waiting.items():
        expect(display.page.locator(f"[data-queue={queue}] .count")).to_have_text(re.compile(f"^{count}väntar"), timeout=5_000)

    # The desk: sign in with the token from the address, open desk 3 for both queues.
    desk.page.goto(f"{base}/desk#token={creds['desk']}")
    desk.page.wait_for_selector("body[data-panel=open-desk]", timeout=15_000)
    assert "token" not in desk.page.url
    assert desk.page.evaluate("sessionStorage.getItem('servicekontor.desk.token')") == creds["desk"]
    desk.page.select_option("#office", OFFICE)
    desk.page.fill("#desk-name", "3")
    desk.page.check("#queue-choices input[value=general]")
    desk.page.check("#queue-choices input[value=id_card]")
    desk.shot("desk-open")
    desk_axe = axe_problems(desk.page)
    desk.page.click("#open-desk button[type=submit]")
    desk.page.wait_for_selector("body[data-panel=work]", timeout=10_000)

    # Call next: how long from the call-next answer until the display shows it.
    display.page.evaluate("""() => {
        window.shownAt = {};
        const note = () => { for (const row of document.querySelectorAll('#calls .call')) {
            const key = row.dataset.ticket + ' ' + row.querySelector('.desk').textContent;
            if (!(key in window.shownAt)) window.shownAt[key] = Date.now(); } };
        new MutationObserver(note).observe(document.getElementById('calls'), {childList: true, subtree: true});
    }""")
    with desk.page.expect_response(lambda r: r.url.endswith("/desks/3/call-next")) as called:
        desk.page.click("#call-next")
    response = called.value
    assert response.status == 200 and response.json()["ticket"] == "A001"
    response.finished()
    timing = response.request.timing
    answered_at = timing["startTime"] + timing["responseEnd"]
    display.page.locator("#calls .call[data-ticket=A001]").wait_for(timeout=5_000)
    shown = display.page.evaluate("window.shownAt")
    key = next(k for k in shown if k.startswith("A001 "))
    delay_ms = shown[key] - answered_at
    print(f"\ncall-next answered → display shows '{key}': {delay_ms:.0f} ms")
    assert "Disk 3" in key and delay_ms < 1000, (key, delay_ms)
    newest = display.page.locator("#calls .call.newest")
    assert newest.get_attribute("data-ticket") == "A001" and "Disk 3" in newest.inner_text()
    assert "A001 till Disk 3" in display.page.inner_text("#announce")
    assert display.page.locator("[data-queue=general] .count").inner_text().startswith("0")
    display.shot("display-called")
    assert desk.page.inner_text("#current-ticket") == "A001"

    # A complex question: classified at once, with its explanation; forwarded; the agency answers.
    desk.page.fill("#question-text", "Jag vill ansöka om id-kort")
    desk.page.click("#question-form button[type=submit]")
    card = desk.page.locator("#questions .question").first
    card.locator(".badge.complex").wait_for(timeout=8_000)
    assert "Skatteverket – Id-kort" in card.inner_text() and card.locator(".explanation").inner_text().strip()
    desk.shot("desk-classified", full_page=True)
    card.locator("button[data-outcome=forwarded]").click()
    expect(desk.page.locator("#questions [data-fact='Myndighetens status']").first).to_have_text(
        re.compile("mottaget|handläggs|beslutat|avslutat"), timeout=30_000)
    card = desk.page.locator("#questions .question").first
    assert "Avslutad: Vidarebefordrad" in card.inner_text()
    assert "levererat" in card.locator("[data-fact='Till myndigheten']").inner_text()
    desk.shot("desk-agency-status", full_page=True)
    desk_axe += axe_problems(desk.page)

    # The next visitor: the display keeps the last call in view under the newest.
    desk.page.click("#end")
    desk.page.wait_for_selector("#call-next:visible")
    desk.page.click("#call-next")
    desk.page.wait_for_selector("body[data-called=I001]", timeout=5_000)
    display.page.wait_for_selector("#calls .call.newest[data-ticket=I001]", timeout=5_000)
    assert display.page.locator("#calls .call[data-ticket=A001]").count() == 1
    display.shot("display-two-calls")
    display_axe = axe_problems(display.page)

    # Override a classification (routing, across origins), recall the visitor, then no-show.
    desk.page.fill("#question-text", "Jag har tappat mitt id-kort och behöver ett nytt")
    desk.page.click("#question-form button[type=submit]")
    card = desk.page.locator("#questions .question").first
    card.locator(".badge").first.wait_for(timeout=8_000)
    card.locator("summary").click()
    card.locator("select[id^=level-]").select_option("in_depth")
    card.locator("input[id^=reason-]").fill("Besökaren vill bara veta vad som gäller")
    with desk.page.expect_response(lambda r: r.url.endswith("/override") and r.request.method == "POST") as overridden:
        card.locator("form button[type=submit]").click()
    assert overridden.value.status == 200 and overridden.value.json()["overridden"] is True
    assert overridden.value.request.headers.get("idempotency-key"), "the override is sent with a key"
    expect(card.locator(".badge.in_depth")).to_have_text("Fördjupad", timeout=5_000)
    assert "ändrad av handläggare" in card.inner_text()
    assert card.locator("input[id^=reason-]").input_value() == "" and not card.locator("details[open]").count()
    desk.shot("desk-overridden", full_page=True)
    desk.page.click("#recall")
    expect(display.page.locator("#calls .call.newest")).to_contain_text("Igen", timeout=5_000)
    assert display.page.locator("#calls .call.newest").get_attribute("data-ticket") == "I001"
    assert display.page.locator("#calls .call[data-ticket=I001]").count() == 1, "a recalled ticket is listed once"
    desk.page.click("#no-show")
    expect(desk.page.locator("#desk-status")).to_have_text("I001 kom inte. Besöket är avslutat.", timeout=5_000)
    assert desk.page.locator("#call-next").is_visible()

    # Three desks call at once: every call stays on the screen, none flashes by.
    kiosk_auth, desk_auth = system.headers("kiosk"), system.headers("desk")
    for _ in range(3):
        httpx.post(system.url("intake", "/v1/visits"), headers=kiosk_auth,
                   json={"office_id": OFFICE, "channel": "kiosk", "queue": "general"}).raise_for_status()
    desks = ("4", "5", "6")
    for name in desks:
        httpx.post(system.url("intake", f"/v1/offices/{OFFICE}/desks/{name}/open"), headers=desk_auth,
                   json={"queues": ["general"]}).raise_for_status()
    with ThreadPoolExecutor(3) as pool:
        calls = list(pool.map(lambda name: httpx.post(
            system.url("intake", f"/v1/offices/{OFFICE}/desks/{name}/call-next"), headers=desk_auth, json={}), desks))
    tickets = sorted(c.json()["ticket"] for c in calls)
    assert tickets == ["A002", "A003", "A004"], tickets
    for ticket in tickets:
        expect(display.page.locator(f"#calls .call.fresh[data-ticket={ticket}]")).to_be_visible(timeout=5_000)
    display.shot("display-three-desks")

    for watched in (display, kiosk, desk):
        assert not watched.foreign and not watched.errors, (watched.foreign, watched.errors)
    print(f"axe (serious/critical): kiosk {kiosk_axe}, desk {desk_axe}, display {display_axe}")
    assert not kiosk_axe and not desk_axe and not display_axe, (kiosk_axe, desk_axe, display_axe)


def test_the_display_asks_for_its_token_and_reconnects_when_the_stream_fails(system, browser) -> None:
    from playwright.sync_api import expect

    creds = system.credentials()
    screen = Watched(browser, {"width": 1920, "height": 1080})
    page = screen.page
    page.goto(system.url("intake", f"/display?office={OFFICE}"))
    expect(page.locator("#setup")).to_be_visible(timeout=10_000)
    page.fill("#setup-token", creds["kiosk"][:-4] + "AAAA")  # a forged signature
    page.click("#setup button[type=submit]")
    expect(page.locator("#setup-message")).to_contain_text("401", timeout=10_000)
    assert page.evaluate("localStorage.getItem('servicekontor.display.token')") is None, "a refused token is forgotten"

    # The first two stream requests fail: the screen says so and connects again by itself.
    failures = []

    def flaky(route) -> None:
        if len(failures) < 2:
            failures.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route("**/queue/stream", flaky)
    page.fill("#setup-token", creds["display"])
    page.click("#setup button[type=submit]")
    expect(page.locator("#connection")).to_contain_text("försöker igen", timeout=10_000)
    expect(page.locator("#connection")).to_have_text("Ansluten", timeout=15_000)
    assert len(failures) == 2 and page.locator("[data-queue=general]").count() == 1
    # Refused fetches are logged by the browser itself; nothing else may be.
    assert not [e for e in screen.errors if "Failed to load resource" not in e and "ERR_FAILED" not in e], screen.errors
    assert not screen.foreign
