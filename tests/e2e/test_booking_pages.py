"""End to end (issue 16): a meeting booked from the desk page and checked in at the kiosk,
in Chromium against ``servicekontor up``.

The office's supervisor publishes an agency's times; the desk records a question routing
sends to a booked meeting, lists the free times, books one (with an Idempotency-Key),
shows the code and time, cancels and books again; at the kiosk the visitor checks in
with the code (a wrong code is refused in words) and gets a ticket in the booked queue,
which the desk's call-next calls. The desk page reads the bookings from the visit
overview (a reload keeps them), lists the office's bookings of the day, and records the
checked-in meeting's outcome. Screenshots go to ``/tmp/shots/`` (``SK_SHOTS``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.e2e.conftest import RunningSystem
from tests.e2e.test_office_pages import Watched, axe_problems, browser, system  # noqa: F401

pytestmark = pytest.mark.e2e
OFFICE = "pitea"  # no agency desks; video and booked meetings: a passport needs a booked meeting here
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def publish(running: RunningSystem, agency: str, case_types: list[str], kind: str, starts: list[datetime]) -> None:
    answer = httpx.post(
        running.url("intake", f"/v1/offices/{OFFICE}/slots"), headers=running.headers("supervisor"),
        json={"agency": agency, "case_types": case_types, "kind": kind, "length_minutes": 30,
              "starts": [s.isoformat() for s in starts]},
    )
    assert answer.status_code == 201, answer.text


def test_a_meeting_booked_at_the_desk_and_checked_in_at_the_kiosk(system, browser) -> None:  # noqa: F811 (the fixtures)
    from playwright.sync_api import expect

    creds = system.credentials()
    base = system.url("intake")
    soon = (datetime.now(UTC) + timedelta(minutes=10)).replace(second=0, microsecond=0)
    later = soon + timedelta(days=1)
    publish(system, "polisen", ["pass"], "in_person", [soon, later])
    desk = Watched(browser, {"width": 1440, "height": 1000})
    kiosk = Watched(browser, {"width": 1080, "height": 1920})

    # A walk-in at the desk, who needs a passport.
    desk.page.goto(f"{base}/desk?office={OFFICE}#token={creds['desk']}")
    desk.page.wait_for_selector("body[data-panel=open-desk]", timeout=15_000)
    desk.page.select_option("#office", OFFICE)
    desk.page.fill("#desk-name", "2")
    desk.page.check("#queue-choices input[value=general]")
    desk.page.check("#queue-choices input[value=booked]")
    desk.page.click("#open-desk button[type=submit]")
    desk.page.wait_for_selector("body[data-panel=work]", timeout=10_000)
    httpx.post(system.url("intake", "/v1/visits"), headers=system.headers("desk"),
               json={"office_id": OFFICE, "channel": "desk", "queue": "general"}).raise_for_status()
    desk.page.click("#call-next")
    desk.page.wait_for_selector("body[data-called=A001]", timeout=5_000)
    desk.page.fill("#question-text", "Jag behöver ett nytt pass, mitt gamla har gått ut")
    desk.page.click("#question-form button[type=submit]")
    card = desk.page.locator("#questions .question").first
    expect(card.locator("[data-fact=Vart]")).to_contain_text("bokat möte", timeout=10_000)

    # The free times for the passport at this office; the first one booked.
    card.locator("button[data-book]").click()
    times = card.locator(".slots button[data-slot]")
    expect(times).to_have_count(2, timeout=5_000)
    desk.shot("desk-meeting-slots", full_page=True)
    with desk.page.expect_response(lambda r: r.url.endswith("/v1/bookings") and r.request.method == "POST") as made:
        times.first.click()
    assert made.value.status == 201 and made.value.request.headers.get("idempotency-key")
    first = made.value.json()
    assert first["kind"] == "in_person" and first["agency"] == "polisen" and first["case_type"] == "pass"
    booking = card.locator(".booking")
    expect(booking.locator(".code")).to_have_text(first["code"], timeout=5_000)
    clock = soon.astimezone().strftime("%H:%M")
    assert clock in booking.inner_text() and "bokad" in booking.inner_text()
    desk.shot("desk-meeting-booked", full_page=True)
    assert httpx.get(system.url("intake", f"/v1/bookings/{first['booking_id']}"),
                     headers=system.headers("desk")).json()["question_id"] == card.get_attribute("data-question")

    # Cancelled (the time is free again), then booked once more: a new code.
    card.locator("button[data-cancel]").click()
    expect(card.locator("button[data-book]")).to_be_visible(timeout=5_000)
    assert "avbokat" in card.inner_text()
    assert httpx.get(system.url("intake", f"/v1/bookings/{first['booking_id']}"),
                     headers=system.headers("desk")).json()["status"] == "cancelled"
    card.locator("button[data-book]").click()
    expect(card.locator(".slots button[data-slot]")).to_have_count(2, timeout=5_000)
    with desk.page.expect_response(lambda r: r.url.endswith("/v1/bookings") and r.request.method == "POST") as made:
        card.locator(".slots button[data-slot]").first.click()
    second = made.value.json()
    code, booking_id = second["code"], second["booking_id"]
    expect(card.locator(".booking .code")).to_have_text(code, timeout=5_000)

    # The booking is intake's, not the tab's: after a reload the overview brings it back.
    desk.page.reload()
    desk.page.wait_for_selector("body[data-panel=work]", timeout=10_000)
    card = desk.page.locator("#questions .question").first
    expect(card.locator(".booking .code")).to_have_text(code, timeout=10_000)
    assert desk.page.evaluate("sessionStorage.getItem('servicekontor.desk.bookings')") is None
    # The office's bookings of the day, this visitor's marked (the cancelled one struck through).
    today = datetime.now(STOCKHOLM).date()
    if soon.astimezone(STOCKHOLM).date() == today:  # (not when the test runs across midnight)
        mine = desk.page.locator(f"#day-bookings li[data-day-booking='{booking_id}']")
        expect(mine).to_contain_text(code, timeout=10_000)
        expect(mine).to_contain_text("Polis")
        assert "den här besökaren" in mine.inner_text() and "bokad" in mine.inner_text()
        expect(desk.page.locator(f"#day-bookings li[data-day-booking='{first['booking_id']}']")).to_have_attribute(
            "data-status", "cancelled")
    desk.shot("desk-meeting-after-reload", full_page=True)
    desk_axe = axe_problems(desk.page)
    desk.page.click("#end")
    desk.page.wait_for_selector("#call-next:visible")

    # The kiosk: a wrong code is refused in words, the right one gives a ticket in the booked queue.
    kiosk.page.goto(f"{base}/kiosk?office={OFFICE}&reset=3#token={creds['kiosk']}")
    kiosk.page.wait_for_selector("body[data-screen=start]", timeout=15_000)
    kiosk.shot("kiosk-start-with-checkin")
    kiosk.page.click("button[data-checkin]")
    kiosk.page.wait_for_selector("body[data-screen=checkin]")
    wrong = "ZZZZZZ" if code != "ZZZZZZ" else "YYYYYY"
    kiosk.page.fill("#checkin-code", wrong)
    kiosk.page.click("#checkin button[type=submit]")
    expect(kiosk.page.locator("#checkin-error")).to_have_text(re.compile("Koden finns inte"), timeout=5_000)
    kiosk.shot("kiosk-checkin-wrong-code")
    kiosk.page.click("#language")
    assert kiosk.page.inner_text("#checkin-title") == "I have a booked time"
    kiosk.page.click("#language")
    kiosk_axe = axe_problems(kiosk.page)
    kiosk.page.fill("#checkin-code", code.lower())
    with kiosk.page.expect_response(lambda r: r.url.endswith("/v1/bookings/check-in")) as checked:
        kiosk.page.click("#checkin button[type=submit]")
    assert checked.value.status == 200 and checked.value.request.headers.get("idempotency-key")
    kiosk.page.wait_for_selector("body[data-screen=ticket]", timeout=5_000)
    assert kiosk.page.inner_text("#ticket-number") == "B001"
    assert kiosk.page.inner_text("#ticket-queue") == "Bokad tid"
    assert kiosk.page.inner_text("#ticket-first") == "Din bokade tid"
    assert kiosk.page.inner_text("#ticket-position") == clock
    kiosk.shot("kiosk-checked-in")
    kiosk_axe += axe_problems(kiosk.page)

    # The desk calls the next visitor: the checked-in meeting.
    desk.page.click("#call-next")
    desk.page.wait_for_selector("body[data-called=B001]", timeout=5_000)
    assert "Bokad tid" in desk.page.inner_text("#current-meta")
    assert httpx.get(system.url("intake", f"/v1/bookings/{booking_id}"),
                     headers=system.headers("desk")).json()["status"] == "checked_in"

    # The called visitor's meeting, from the overview of the visit the check-in made: the
    # desk records how it went (an Idempotency-Key, like every POST of the page).
    meeting = desk.page.locator(f"#visit-bookings [data-visit-booking='{booking_id}']")
    expect(meeting.locator(".booking")).to_have_attribute("data-status", "checked_in", timeout=10_000)
    expect(meeting.locator(".code")).to_have_text(code)
    buttons = meeting.locator("button[data-meeting-outcome]")
    assert [buttons.nth(i).get_attribute("data-meeting-outcome") for i in range(buttons.count())] == [
        "held", "agency_absent", "technical_failure", "visitor_left"]
    desk.shot("desk-called-meeting", full_page=True)
    desk_axe += axe_problems(desk.page)
    with desk.page.expect_response(lambda r: r.url.endswith(f"/v1/bookings/{booking_id}/outcome")) as recorded:
        meeting.locator("button[data-meeting-outcome=held]").click()
    assert recorded.value.status == 200 and recorded.value.request.headers.get("idempotency-key")
    expect(meeting.locator(".booking")).to_have_attribute("data-status", "held", timeout=5_000)
    expect(meeting).to_contain_text("utfall: mötet hölls")
    expect(desk.page.locator("#desk-status")).to_contain_text("registrerat")
    assert meeting.locator("button[data-meeting-outcome]").count() == 0
    got = httpx.get(system.url("intake", f"/v1/bookings/{booking_id}"), headers=system.headers("desk")).json()
    assert (got["status"], got["outcome"]) == ("held", "held")
    desk.page.reload()
    expect(desk.page.locator(f"#visit-bookings [data-visit-booking='{booking_id}'] .booking")).to_have_attribute(
        "data-status", "held", timeout=10_000)
    desk.shot("desk-meeting-outcome", full_page=True)

    for watched in (desk, kiosk):
        errors = [e for e in watched.errors if "status of 404" not in e]  # the refused code's fetch
        assert not watched.foreign and not errors, (watched.foreign, watched.errors)
    assert not desk_axe and not kiosk_axe, (desk_axe, kiosk_axe)
