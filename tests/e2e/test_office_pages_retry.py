"""The kiosk and the desk send an ``Idempotency-Key`` with each action and, when the answer
is lost on the way back (the server did the work, the browser saw a network error), send
the action again with the same key: one ticket, one call of one visitor. In Debian's
headless Chromium driven by Playwright, against ``servicekontor up``."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import RunningSystem
from tests.e2e.test_office_pages import CHROMIUM, Watched, browser  # noqa: F401 - the fixture

pytestmark = pytest.mark.e2e
OFFICE = "kiruna"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="needs the dev extra's playwright")
    tmp_path = tmp_path_factory.mktemp("office_pages_retry")
    running = RunningSystem(tmp_path / "data", tmp_path / "servicekontor.log")
    running.start()
    yield running
    if running.process and running.process.poll() is None:
        running.process.kill()
        running.process.wait(timeout=10)


class LoseFirstAnswer:
    """Route handler: the first request reaches the server, its answer never reaches the
    page; every request's Idempotency-Key and the answers the server gave are kept."""

    def __init__(self) -> None:
        self.keys: list[str | None] = []
        self.answers: list[dict] = []

    def __call__(self, route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        self.keys.append(route.request.headers.get("idempotency-key"))
        response = route.fetch()
        self.answers.append({"status": response.status, "body": response.json() if response.status != 204 else None,
                             "replayed": response.headers.get("idempotent-replayed")})
        if len(self.keys) == 1:
            route.abort("connectionreset")
        else:
            route.fulfill(response=response)


def event_types(system: RunningSystem) -> list[str]:
    return [t for (t,) in system.query("intake", "SELECT event_type FROM event_store ORDER BY position")]


def test_a_lost_answer_is_sent_again_with_its_key_one_ticket_and_one_call(system, browser) -> None:  # noqa: F811
    creds, base = system.credentials(), system.url("intake")

    kiosk = Watched(browser, {"width": 1080, "height": 1920})
    lost_ticket = LoseFirstAnswer()
    kiosk.page.route("**/v1/visits", lost_ticket)
    kiosk.page.goto(f"{base}/kiosk?office={OFFICE}#token={creds['kiosk']}")
    kiosk.page.wait_for_selector("body[data-screen=start]", timeout=15_000)
    kiosk.page.click("button[data-queue=general]")
    kiosk.page.wait_for_selector("body[data-screen=ticket]", timeout=15_000)
    assert len(lost_ticket.keys) == 2 and lost_ticket.keys[0] == lost_ticket.keys[1]
    assert UUID.match(lost_ticket.keys[0])
    first, retry = lost_ticket.answers
    assert (first["status"], retry["status"], retry["replayed"]) == (201, 201, "true")
    assert retry["body"] == first["body"]
    assert kiosk.page.inner_text("#ticket-number") == first["body"]["ticket"] == "A001"
    assert event_types(system).count("intake.VisitRegistered") == 1

    # A new tap is a new action: a new key, a new ticket.
    kiosk.page.click("#done")
    kiosk.page.wait_for_selector("body[data-screen=start]", timeout=10_000)
    kiosk.page.click("button[data-queue=general]")
    kiosk.page.wait_for_selector("body[data-screen=ticket]", timeout=15_000)
    assert kiosk.page.inner_text("#ticket-number") == "A002"
    assert len(lost_ticket.keys) == 3 and lost_ticket.keys[2] not in lost_ticket.keys[:2]

    desk = Watched(browser, {"width": 1440, "height": 1000})
    desk.page.goto(f"{base}/desk#token={creds['desk']}")
    desk.page.wait_for_selector("body[data-panel=open-desk]", timeout=15_000)
    desk.page.select_option("#office", OFFICE)
    desk.page.fill("#desk-name", "7")
    desk.page.click("#open-desk button[type=submit]")
    desk.page.wait_for_selector("body[data-panel=work]", timeout=10_000)
    lost_call = LoseFirstAnswer()
    desk.page.route("**/call-next", lost_call)
    desk.page.click("#call-next")
    desk.page.wait_for_selector("body[data-called]", timeout=15_000)
    assert len(lost_call.keys) == 2 and lost_call.keys[0] == lost_call.keys[1] and UUID.match(lost_call.keys[0])
    assert lost_call.answers[1]["body"] == lost_call.answers[0]["body"]
    assert desk.page.inner_text("#current-ticket") == "A001"  # the visitor called first, not A002
    assert event_types(system).count("intake.VisitCalled") == 1
    stored = system.query("intake", "SELECT COUNT(*) FROM idempotency_keys")[0][0]
    assert stored == 4  # two tickets, the desk's opening, one call
    for watched in (kiosk, desk):
        assert not watched.foreign
        assert not [e for e in watched.errors if "Failed to load resource" not in e and "ERR_" not in e], watched.errors
