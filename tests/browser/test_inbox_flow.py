"""The rehabkoordinator's whole day in the inbox, in headless Chromium: sign in, find the
request, accept, forward, write to the socialsekreterare, answer the national form
(first with a required field missing, shown beside that field), see it completed, and
print the request and the answer. Screenshots of every step are kept as artifacts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Response,
    expect,
    sync_playwright,
)

from tests.browser.conftest import (
    CHROMIUM_ARGS,
    DISPLAY_NAME,
    PASSWORD,
    USER,
    LiveInbox,
)
from tests.support.answers import example_answer_fields, without

pytestmark = pytest.mark.browser

MISSING = "q:kv.prognos.bedomning"
MISSING_ID = "q-kv_2e_prognos_2e_bedomning"


@pytest.fixture
def browser(chromium_path: Path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="sv-SE", viewport={"width": 1100, "height": 900})
    page = context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # A page answered with 422 or 404 is logged as a failed load; those statuses are
        # checked where they are expected. Script errors and CSP violations are not.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(message.text)

    def on_response(response: Response) -> None:
        kind = response.request.resource_type
        if kind in ("stylesheet", "script", "image", "font") and not response.ok:
            problems.append(f"{response.status} for {response.url}")

    page.on("console", on_console)
    page.on("response", on_response)
    page.on("pageerror", lambda error: problems.append(str(error)))
    yield page
    context.close()
    assert problems == [], "no script errors, CSP violations or missing page resources"


def _shot(page: Page, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def _fill(page: Page, fields: list[tuple[str, str]]) -> None:
    """Answer like a person: tick, choose and type, item by item (in form order, so
    the questions that depend on an answer appear before they are filled in)."""
    for name, value in fields:
        controls = page.locator(f'[name="{name}"]')
        first = controls.first
        kind = first.evaluate("el => el.tagName === 'INPUT' ? el.type : el.tagName")
        if kind in ("radio", "checkbox"):
            page.locator(f'[name="{name}"][value="{value}"]').check()
        elif kind == "SELECT":
            first.select_option(value)
        else:
            first.fill(value)


def test_the_whole_inbox_flow(live_inbox: LiveInbox, page: Page, artifacts: Path) -> None:
    task_id = live_inbox.submit_request("2026-0500")

    # Sign in, with the keyboard.
    page.goto(f"{live_inbox.base_url}/inbox/")
    expect(page).to_have_url(f"{live_inbox.base_url}/inbox/logga-in")
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    page.get_by_label("Användarnamn").fill(USER)
    page.get_by_label("Lösenord").fill(PASSWORD)
    _shot(page, artifacts, "01-sign-in")
    page.get_by_label("Lösenord").press("Enter")

    # The list: her unit's open request.
    expect(page).to_have_url(f"{live_inbox.base_url}/inbox/arenden")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Förfrågningar till Vårdcentralen Halmstad Norr"
    )
    expect(page.get_by_text(f"Inloggad som {DISPLAY_NAME}")).to_be_visible()
    _shot(page, artifacts, "02-list")
    page.locator("#open-tasks").get_by_role("link", name="Anna Testsson").click()

    # The request.
    expect(page).to_have_url(f"{live_inbox.base_url}/inbox/arenden/{task_id}")
    expect(page.locator("#task-status")).to_have_text("Läst")
    expect(page.get_by_role("heading", name="Kommunens fråga")).to_be_visible()
    expect(page.get_by_text("Personen uppger att värk i ryggen hindrar praktik.")).to_be_visible()
    expect(page.get_by_text("soc@kommun.example.se")).to_be_visible()
    _shot(page, artifacts, "03-request")

    # Accept.
    page.get_by_role("button", name="Acceptera förfrågan").click()
    expect(page.get_by_role("status")).to_have_text("Förfrågan är accepterad.")
    expect(page.locator("#task-status")).to_have_text("Accepterad")
    assert live_inbox.task(task_id)["status"] == "accepted"

    # Forward inside the unit.
    page.get_by_label("Arbetsstatus", exact=True).select_option("vidarebefordrad-till-profession")
    page.get_by_label("Anteckning, till exempel vem").fill("Till fysioterapeut Eva Ek.")
    _shot(page, artifacts, "04-forward")
    page.get_by_role("button", name="Spara arbetsstatus").click()
    expect(page.get_by_role("status")).to_have_text("Arbetsstatus är sparad.")
    expect(page.locator("#business-status-now")).to_have_text("Vidarebefordrad till profession")
    expect(page.get_by_text("Till fysioterapeut Eva Ek.")).to_be_visible()

    # A follow-up question to the socialsekreterare.
    page.get_by_label("Nytt meddelande eller följdfråga").fill("Vilka arbetsuppgifter ingår?")
    page.get_by_role("button", name="Skicka meddelande").click()
    expect(page.get_by_role("status")).to_have_text(
        "Meddelandet är skickat till socialsekreteraren."
    )
    expect(page.locator("#messages")).to_contain_text("Vilka arbetsuppgifter ingår?")
    _shot(page, artifacts, "05-message-sent")

    # The answer form, sent with a required field left empty.
    page.get_by_role("link", name="Skriv utlåtande").click()
    expect(page).to_have_url(f"{live_inbox.base_url}/inbox/arenden/{task_id}/utlatande")
    description = page.locator("#q-1_2e_2")
    expect(description).to_be_hidden()  # until "Ja" is chosen for 1.1
    _fill(page, without(example_answer_fields(), MISSING))
    expect(description).to_be_visible()
    _shot(page, artifacts, "06-form-filled")
    page.get_by_role("button", name="Skicka utlåtandet till kommunen").click()

    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link")).to_have_text(["Svara på frågan ”Bedömning av prognos”."])
    error = page.locator(f"#{MISSING_ID}-error")
    expect(error).to_contain_text("Svara på frågan ”Bedömning av prognos”.")
    field = page.locator(f"#{MISSING_ID}")
    expect(field).to_have_attribute("aria-invalid", "true")
    wrap = page.locator(f"#{MISSING_ID}-wrap")
    expect(wrap.locator(".error-message")).to_have_count(1)  # beside that field, nowhere else
    expect(page.locator(".error-message")).to_have_count(1)
    assert error.bounding_box()["y"] < field.bounding_box()["y"]  # type: ignore[index]
    assert field.bounding_box()["y"] - error.bounding_box()["y"] < 200  # type: ignore[index]
    expect(page.locator("#q-kv_2e_kontakt_2e_namn")).to_have_value("Bertil Koordinator")
    _shot(page, artifacts, "07-error-beside-field")

    # The summary's link takes her to the field; she fills it in and sends.
    summary.get_by_role("link").click()
    expect(field).to_be_focused()
    page.keyboard.type("God prognos; omfattningen kan öka inom tre månader.")
    page.get_by_role("button", name="Skicka utlåtandet till kommunen").click()

    expect(page).to_have_url(f"{live_inbox.base_url}/inbox/arenden/{task_id}?klart=utlatande")
    expect(page.get_by_role("status")).to_have_text(
        "Utlåtandet är skickat till kommunen. Förfrågan är klar."
    )
    expect(page.locator("#task-status")).to_have_text("Klar")
    task = live_inbox.task(task_id)
    assert task["status"] == "completed"
    _shot(page, artifacts, "08-completed")

    # Both printable views.
    page.get_by_role("link", name="Utskriftsvänlig version av förfrågan").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Förfrågan om medicinskt utlåtande")
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.get_by_text("Personen uppger att värk i ryggen hindrar praktik.")).to_be_visible()
    _shot(page, artifacts, "09-print-request")
    page.pdf(path=str(artifacts / "09-print-request.pdf"))
    page.emulate_media(media="screen")
    page.go_back()
    page.get_by_role("link", name="Utskriftsvänlig version av utlåtandet").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Medicinskt utlåtande till socialtjänsten – aktivitetsförmåga"
    )
    page.emulate_media(media="print")
    expect(page.get_by_text("God prognos; omfattningen kan öka inom tre månader.")).to_be_visible()
    expect(page.get_by_text("Bertil Koordinator")).to_be_visible()
    _shot(page, artifacts, "10-print-answer")
    page.pdf(path=str(artifacts / "10-print-answer.pdf"))

    for name in ("01-sign-in", "07-error-beside-field", "10-print-answer"):
        assert (artifacts / f"{name}.png").stat().st_size > 10_000


def test_the_form_can_be_used_with_the_keyboard_alone(
    live_inbox: LiveInbox, page: Page, artifacts: Path
) -> None:
    task_id = live_inbox.submit_request("2026-0501")
    page.goto(f"{live_inbox.base_url}/inbox/logga-in")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Hoppa till innehållet")).to_be_focused()
    page.keyboard.press("Enter")  # past the header, straight to the content
    page.keyboard.press("Tab")
    expect(page.get_by_label("Användarnamn")).to_be_focused()
    page.keyboard.type(USER)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Lösenord")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_inbox.base_url}/inbox/arenden")

    page.goto(f"{live_inbox.base_url}/inbox/arenden/{task_id}/utlatande")
    first_choice = page.locator("#q-kv_2e_underlag_2e_typ-0")
    first_choice.focus()
    page.keyboard.press("Space")
    expect(first_choice).to_be_checked()
    yes = page.locator("#q-1_2e_1-0")
    yes.focus()
    page.keyboard.press("Space")
    expect(page.locator("#q-1_2e_2")).to_be_visible()
    page.keyboard.press("ArrowDown")  # radio group: the arrow moves to "Nej"
    expect(page.locator("#q-1_2e_1-1")).to_be_checked()
    expect(page.locator("#q-1_2e_2")).to_be_hidden()
    expect(page.locator("#q-1_2e_2")).to_be_disabled()
    _shot(page, artifacts, "keyboard-form")


def test_sign_in_failure_is_announced_and_says_nothing_about_the_account(
    live_inbox: LiveInbox, page: Page, artifacts: Path
) -> None:
    page.goto(f"{live_inbox.base_url}/inbox/logga-in")
    page.get_by_label("Användarnamn").fill(USER)
    page.get_by_label("Lösenord").fill("fel lösenord")
    page.get_by_role("button", name="Logga in").click()
    alert = page.get_by_role("alert")
    expect(alert).to_be_focused()
    expect(alert).to_contain_text("Inloggningen misslyckades")
    wrong_password = alert.inner_text()
    page.get_by_label("Användarnamn").fill("finns.inte")
    page.get_by_label("Lösenord").fill(PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    expect(page.get_by_role("alert")).to_have_text(wrong_password)
    _shot(page, artifacts, "sign-in-failed")


def test_the_open_list_is_paged_with_labelled_links(
    live_inbox: LiveInbox, page: Page, artifacts: Path
) -> None:
    for case in ("2026-0601", "2026-0602", "2026-0603"):
        live_inbox.submit_request(case)
    live_inbox.app.state.inbox_page_size = 2  # type: ignore[attr-defined]
    page.goto(f"{live_inbox.base_url}/inbox/logga-in")
    page.get_by_label("Användarnamn").fill(USER)
    page.get_by_label("Lösenord").fill(PASSWORD)
    page.get_by_label("Lösenord").press("Enter")
    expect(page).to_have_url(f"{live_inbox.base_url}/inbox/arenden")
    expect(page.locator("#open-count")).to_have_text("Visar 1–2 av 3 öppna förfrågningar.")
    expect(page.locator("#open-tasks tbody tr")).to_have_count(2)
    pages = page.get_by_role("navigation", name="Sidor med öppna förfrågningar")
    expect(pages.get_by_role("link", name="Föregående sida")).to_have_count(0)
    _shot(page, artifacts, "list-page-1")
    pages.get_by_role("link", name="Nästa sida").click()
    expect(page).to_have_url(f"{live_inbox.base_url}/inbox/arenden?sida=2")
    expect(page.locator("#open-count")).to_have_text("Visar 3–3 av 3 öppna förfrågningar.")
    expect(page.locator("#open-tasks tbody tr")).to_have_count(1)
    expect(pages.get_by_role("link", name="Nästa sida")).to_have_count(0)
    pages.get_by_role("link", name="Föregående sida").click()
    expect(page).to_have_url(f"{live_inbox.base_url}/inbox/arenden?sida=1")
