"""The sandbox page in a real headless browser (Debian's Chromium, driven by Playwright):
what a person sees and clicks, from scanning the poster to the reminder the day before."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from bot.demo import TREE_PLANTING_TITLE
from bot.sandbox import Sandbox
from tests.e2e.texts import said, t
from tests.sandbox_web.conftest import person_id

CHROMIUM = os.environ.get("BRANCHBOT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# As root in a container, without a network: no sandbox, no background connections.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = os.environ.get("BRANCHBOT_SCREENSHOTS")  # a folder: keep what the page looked like
WANDA_ZH = "湛江万达广场商圈党支部"


@pytest.fixture(scope="session")
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            "the sandbox page is tested in Debian's Chromium, which is not installed: "
            "apt-get install chromium (or set BRANCHBOT_CHROMIUM to a Chromium binary)"
        )
    return CHROMIUM


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


async def open_page(browser: Browser, sandbox: Sandbox, width: int, height: int) -> Page:
    page = await browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []  # the page's own errors; a refused request (400) is not one
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.errors = errors  # type: ignore[attr-defined]
    # Offline means offline: the page asks nothing of any server but the sandbox.
    elsewhere: list[str] = []
    page.on(
        "request",
        lambda r: (
            None
            if r.url.startswith((sandbox.address, "data:", "blob:"))
            else elsewhere.append(r.url)
        ),
    )
    page.elsewhere = elsewhere  # type: ignore[attr-defined]
    await page.goto(sandbox.address)
    return page


async def snapshot(page: Page, name: str) -> None:
    if SCREENSHOTS:  # Playwright makes the folder
        await page.screenshot(path=f"{SCREENSHOTS}/{name}.png")


def person(page: Page, person_id: int):  # type: ignore[no-untyped-def]
    return page.locator(f'[data-testid="person"][data-person-id="{person_id}"]')


def bot_messages(page: Page):  # type: ignore[no-untyped-def]
    return page.locator('[data-testid="message"][data-from-bot="true"]')


async def sees(page: Page, text: str) -> None:
    """A message from the bot with this text is in the open chat (announcements that the
    scheduler sends may come before or after it)."""
    await expect(bot_messages(page).filter(has_text=text).last).to_be_visible()


async def press(page: Page, label: str, exact: bool = True) -> None:
    """Click the inline button with this label (or, not exact, containing it) on the latest
    message that has it."""
    keyboards = page.get_by_test_id("inline-keyboard")
    await keyboards.get_by_role("button", name=label, exact=exact).last.click()


async def send(page: Page, text: str) -> None:
    await page.get_by_test_id("composer").fill(text)
    await page.get_by_test_id("send").click()


async def test_a_newcomer_reports_signs_up_and_is_reminded(
    sandbox: Sandbox, browser: Browser
) -> None:
    page = await open_page(browser, sandbox, 1280, 800)
    newcomer, secretary = person_id(sandbox, "newcomer"), person_id(sandbox, "secretary")
    await expect(page.get_by_test_id("clock")).to_contain_text("2026-03-10 09:30")

    # The newcomer points the phone camera at the poster at Wanda Plaza.
    await person(page, newcomer).click()
    await page.get_by_test_id("scan").click()
    await page.locator('[data-testid="code"][data-code-id="poster:wanda-plaza"]').click()
    await sees(page, said("zh", "profile.consent"))
    await snapshot(page, "1-consent")
    await press(page, t("zh", "profile.consent_yes"))
    await sees(page, said("zh", "profile.ask_name"))
    await send(page, "张伟")
    share_phone = page.get_by_test_id("reply-keyboard").get_by_role(
        "button", name=t("zh", "profile.share_phone")
    )
    await share_phone.click()
    await press(page, t("zh", "member_type.floating"))
    await sees(page, said("zh", "profile.ask_home_branch"))
    await send(page, "广西北海市某社区党支部")
    await press(page, t("zh", "profile.skip"))
    await sees(page, said("zh", "report.sent", unit=WANDA_ZH))
    await snapshot(page, "2-reported")

    # The secretary sees the card (and an unread count), and approves.
    await expect(person(page, secretary).get_by_test_id("unread")).to_be_visible()
    await person(page, secretary).click()
    card = bot_messages(page).filter(has_text="张伟")
    await expect(card).to_have_count(1)
    await press(page, t("zh", "report.approve_button"))
    await expect(card).to_contain_text(said("zh", "report.card_approved"))
    await snapshot(page, "3-approved")

    # The newcomer signs up for the tree-planting day with two saplings.
    await person(page, newcomer).click()
    await sees(page, said("zh", "report.approved", unit=WANDA_ZH))
    await send(page, "/events")
    await press(page, TREE_PLANTING_TITLE[:8], exact=False)  # the list button is dated, maybe cut
    await press(page, t("zh", "events.signup_button"))
    await sees(page, said("zh", "events.ask_pledge_saplings", title=TREE_PLANTING_TITLE))
    await send(page, "2")
    await sees(page, said("zh", "events.pledge_saplings", amount=2))
    await snapshot(page, "4-signed-up")

    # The day before, the reminder arrives without reloading the page.
    await page.get_by_test_id("clock-to").fill("2026-03-14T10:00")
    await page.get_by_test_id("clock-jump").click()
    await expect(page.get_by_test_id("clock")).to_contain_text("2026-03-14 10:00")
    reminder = bot_messages(page).filter(has_text="⏰")
    await expect(reminder).to_have_count(1, timeout=15_000)
    await expect(reminder).to_contain_text(TREE_PLANTING_TITLE)
    await snapshot(page, "5-reminded")
    assert page.errors == []  # type: ignore[attr-defined]
    assert page.elsewhere == []  # type: ignore[attr-defined]


async def test_bad_input_in_the_page_gets_a_clear_message(
    sandbox: Sandbox, browser: Browser
) -> None:
    page = await open_page(browser, sandbox, 390, 844)  # a phone
    people = page.get_by_test_id("person")
    count = await people.count()

    await page.get_by_test_id("add-person").click()
    await page.get_by_test_id("new-person-name").fill("   ")
    await page.get_by_test_id("new-person-submit").click()
    await expect(page.get_by_test_id("form-error")).to_contain_text("type a name")
    await page.get_by_test_id("new-person-name").fill("长" * 500)
    await page.get_by_test_id("new-person-submit").click()
    await expect(page.get_by_test_id("form-error")).to_contain_text("at most 64")
    await snapshot(page, "6-bad-name")
    assert await people.count() == count

    await page.get_by_test_id("new-person-name").fill("Amy Wu")
    await page.get_by_test_id("new-person-language").select_option("en")
    await page.get_by_test_id("new-person-submit").click()
    await expect(people).to_have_count(count + 1)
    # On a phone the new person's chat opens in place of the list, as on Telegram.
    await page.get_by_role("button", name="Back to people").click()
    await person(page, person_id(sandbox, "floating")).click()
    await page.get_by_test_id("attach").click()
    await page.get_by_test_id("share-location").click()
    await page.get_by_test_id("lat").fill("123")
    await page.get_by_test_id("lon").fill("110.41")
    await page.get_by_test_id("location-send").click()
    await expect(page.get_by_test_id("location-error")).to_contain_text("between -90 and 90")
    await snapshot(page, "7-bad-location")
    assert sandbox.emulator.updates == []  # nothing reached the bot
    assert page.errors == []  # type: ignore[attr-defined]
