"""The sandbox through the page's API: the demo world, a newcomer's first days, the clock,
bad input, and a data folder that outlives the process."""

from __future__ import annotations

import html
import re
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest

import handlers
from bot.demo import TREE_PLANTING_TITLE
from bot.sandbox import Sandbox, SandboxError
from sandbox import Emulator
from sandbox.saved import load_world, save_world
from tests.e2e.texts import said, t
from tests.sandbox_web.conftest import (
    chat_until,
    has_text,
    person_id,
    plain,
    press,
    say,
    start_sandbox,
    stop_sandbox,
    texts,
)

WANDA_ZH = "湛江万达广场商圈党支部"


async def secretarys_qr_code(sandbox: Sandbox, page: httpx.AsyncClient) -> dict[str, Any]:
    """The message with the reporting point's QR code that the secretary asks for (/qr)."""
    secretary = person_id(sandbox, "secretary")
    await say(page, secretary, "/qr")
    # The demo's announcements may arrive around it: look for the picture, not the last.
    chat = await chat_until(page, secretary, lambda c: any(m["photo"] for m in c["messages"]))
    return next(m for m in chat["messages"] if m["photo"])


async def test_a_fresh_sandbox_shows_the_demo_world(
    sandbox: Sandbox, page: httpx.AsyncClient
) -> None:
    state = (await page.get("/api/state")).json()
    assert state["clock"]["local"] == "2026-03-10 09:30" and state["clock"]["weekday"] == "Tue"
    assert state["loopback_only"] is True
    people = {p["id"]: p for p in state["people"]}
    assert len(people) >= 5
    secretary = people[person_id(sandbox, "secretary")]
    assert "书记" in secretary["about"] and secretary["language"] == "zh"
    assert any(
        p["name"] == WANDA_ZH and abs(p["latitude"] - 21.2404) < 1e-6
        for p in state["map"]["places"]
    )
    codes = (await page.get("/api/codes")).json()
    assert "poster:wanda-plaza" in [code["id"] for code in codes]
    poster = await page.get(next(c["image"] for c in codes if c["id"] == "poster:wanda-plaza"))
    assert poster.headers["content-type"] == "image/png" and poster.content[:4] == b"\x89PNG"
    page_html = await page.get("/")
    assert page_html.status_code == 200 and "<script" in page_html.text


async def test_a_newcomer_scans_the_poster_reports_signs_up_and_is_reminded(
    sandbox: Sandbox, page: httpx.AsyncClient
) -> None:
    newcomer, secretary = person_id(sandbox, "newcomer"), person_id(sandbox, "secretary")

    answer = await page.post(f"/api/people/{newcomer}/scan", json={"code": "poster:wanda-plaza"})
    assert answer.status_code == 200, answer.text
    chat = await chat_until(page, newcomer, has_text(said("zh", "profile.consent")))
    assert plain(chat["messages"][0]["html"]).startswith("/start r_")  # what the camera opened
    await press(page, newcomer, t("zh", "profile.consent_yes"))
    await chat_until(page, newcomer, has_text(said("zh", "profile.ask_name")))
    await say(page, newcomer, "张伟")
    chat = await chat_until(page, newcomer, lambda c: c["reply_keyboard"] is not None)
    assert chat["reply_keyboard"]["rows"][0][0] == {
        "text": t("zh", "profile.share_phone"),
        "kind": "contact",
    }
    tapped = await page.post(f"/api/people/{newcomer}/tap", json={"row": 0, "column": 0})
    assert tapped.status_code == 200, tapped.text
    await chat_until(page, newcomer, has_text(said("zh", "profile.phone_saved")))
    await chat_until(page, newcomer, has_text(said("zh", "profile.ask_type")))  # sent next
    await press(page, newcomer, t("zh", "member_type.floating"))
    await chat_until(page, newcomer, has_text(said("zh", "profile.ask_home_branch")))
    await say(page, newcomer, "广西北海市某社区党支部")
    await chat_until(page, newcomer, has_text(said("zh", "profile.ask_workplace")))
    await press(page, newcomer, t("zh", "profile.skip"))
    await chat_until(page, newcomer, has_text(said("zh", "report.sent", unit=WANDA_ZH)))

    # The secretary's card arrives by the outbox; approving it tells the newcomer.
    await chat_until(page, secretary, lambda c: "张伟" in " ".join(texts(c)))
    await press(page, secretary, t("zh", "report.approve_button"))
    await chat_until(page, newcomer, has_text(said("zh", "report.approved", unit=WANDA_ZH)))

    await say(page, newcomer, "/events")
    chat = await chat_until(page, newcomer, lambda c: TREE_PLANTING_TITLE in str(c["messages"]))
    label = next(
        b["text"]
        for m in chat["messages"]
        for row in m["buttons"]
        for b in row
        if TREE_PLANTING_TITLE[:8] in b["text"]  # the button is dated, and maybe cut
    )
    await press(page, newcomer, label)
    await chat_until(page, newcomer, lambda c: t("zh", "events.signup_button") in str(c))
    await press(page, newcomer, t("zh", "events.signup_button"))
    question = said("zh", "events.ask_pledge_saplings", title=TREE_PLANTING_TITLE)
    await chat_until(page, newcomer, has_text(question))
    await say(page, newcomer, "2")
    pledged = said("zh", "events.pledge_saplings", amount=2)
    chat = await chat_until(page, newcomer, lambda c: pledged in " ".join(texts(c)))
    assert said("zh", "events.signed_up_note") in texts(chat)

    # The day before (5 days on at 09:00, so 14 March at 10:00): the 24-hour reminder.
    moved = await page.post("/api/clock", json={"to": "2026-03-14 10:00"})
    assert moved.status_code == 200 and moved.json()["local"] == "2026-03-14 10:00"
    chat = await chat_until(page, newcomer, has_text("⏰"))
    reminder = next(text for text in texts(chat) if "⏰" in text)
    assert TREE_PLANTING_TITLE in reminder and "24" in reminder
    state = (await page.get("/api/state")).json()
    assert next(p for p in state["people"] if p["id"] == newcomer)["unread"] > 0
    await page.post(f"/api/people/{newcomer}/read", json={})
    state = (await page.get("/api/state")).json()
    assert next(p for p in state["people"] if p["id"] == newcomer)["unread"] == 0


@pytest.mark.parametrize(
    ("path", "body", "error"),
    [
        ("/api/people", {"name": "   ", "language": "zh"}, "type a name"),
        ("/api/people", {"name": "名" * 500, "language": "zh"}, "500 characters"),
        ("/api/people", {"name": "王芳", "language": "fr"}, "zh (中文) or en"),
        ("/api/people/{newcomer}/location", {"latitude": 91, "longitude": 110}, "latitude"),
        ("/api/people/{newcomer}/location", {"latitude": 21, "longitude": "east"}, "numbers"),
        ("/api/people/{newcomer}/send", {"text": "  "}, "Type a message"),
        ("/api/people/{newcomer}/send", {"text": "长" * 5000}, "at most 4096"),
        ("/api/people/{newcomer}/send", {"text": "x" * 100_000}, "more than the sandbox reads"),
        ("/api/people/{newcomer}/scan", {"code": "poster:nowhere"}, "no such poster"),
        ("/api/people/{newcomer}/scan", {"code": "file:nothing"}, "no such QR code"),
        ("/api/people/{newcomer}/press", {"message_id": 999, "row": 0, "column": 0}, "gone"),
        ("/api/people/{newcomer}/tap", {"row": 0, "column": 0}, "no keyboard"),
        ("/api/clock", {"to": "2026-03-01 09:00"}, "only moves forward"),
        ("/api/clock", {"to": "next week"}, "YYYY-MM-DD HH:MM"),
        ("/api/clock", {"advance": -60}, "positive number"),
    ],
)
async def test_bad_input_gets_a_clear_answer_and_changes_nothing(
    sandbox: Sandbox, page: httpx.AsyncClient, path: str, body: dict[str, object], error: str
) -> None:
    newcomer = person_id(sandbox, "newcomer")
    before = (await page.get("/api/state")).json()
    answer = await page.post(path.format(newcomer=newcomer), json=body)
    assert answer.status_code in (400, 404)
    assert error.lower() in answer.json()["error"].lower()
    after = (await page.get("/api/state")).json()
    assert after["people"] == before["people"] and after["clock"]["local"] == "2026-03-10 09:30"
    assert sandbox.emulator.updates == []  # the bot was told nothing


async def test_an_unknown_person_or_file_is_404(page: httpx.AsyncClient) -> None:
    assert (await page.get("/api/people/1/chat")).status_code == 404
    assert "no such person" in (await page.post("/api/people/1/send", json={})).json()["error"]
    assert (await page.get("/api/files/nothing")).status_code == 404
    assert (await page.post("/api/people", content=b"{not json")).status_code == 400
    assert (await page.post("/api/people", content=b"[" * 50_000)).status_code == 400


async def test_links_and_commands_in_messages_can_be_tapped(
    sandbox: Sandbox, page: httpx.AsyncClient
) -> None:
    newcomer = person_id(sandbox, "newcomer")
    caption = (await secretarys_qr_code(sandbox, page))["html"]
    link = re.search(r'<a href="(https://t\.me/branchbot_sandbox\?start=r_[^"]+)"', caption)
    assert link, caption  # the caption's bare link is a link, as Telegram shows it

    outside = await page.post(f"/api/people/{newcomer}/open", json={"link": "https://example.com/"})
    assert outside.status_code == 400 and "outside the sandbox" in outside.json()["error"]
    opened = await page.post(f"/api/people/{newcomer}/open", json={"link": html.unescape(link[1])})
    assert opened.status_code == 200
    chat = await chat_until(page, newcomer, has_text(said("zh", "profile.consent")))
    welcome = next(m["html"] for m in chat["messages"] if m["from_bot"])
    assert 'class="command" href="#" data-command="/help"' in welcome


async def test_people_added_and_chats_outlive_a_restart(tmp_path: Path) -> None:
    folder = tmp_path / "kept"
    box = await start_sandbox(folder)
    async with httpx.AsyncClient(base_url=box.address) as page:
        added = (await page.post("/api/people", json={"name": "Amy Wu", "language": "en"})).json()
        await say(page, added["id"], "/help")
        await chat_until(page, added["id"], lambda c: len(texts(c)) == 1)
        await page.post("/api/clock", json={"advance": 3600})
    await stop_sandbox(box)

    box = await start_sandbox(folder)
    try:
        async with httpx.AsyncClient(base_url=box.address) as page:
            state = (await page.get("/api/state")).json()
            assert state["clock"]["local"] >= "2026-03-10 10:30"  # the hour moved is kept
            assert "Amy Wu" in [p["name"] for p in state["people"]]
            # The bot answers her again: update ids went on from where they were.
            await say(page, added["id"], "/help")
            chat = await chat_until(page, added["id"], lambda c: len(texts(c)) == 2)
            assert texts(chat)[0] == texts(chat)[1]
    finally:
        await stop_sandbox(box)

    box = await start_sandbox(folder, reset=True)
    try:
        assert "Amy Wu" not in [p.name for p in box.web.people.values()]  # type: ignore[union-attr]
    finally:
        await stop_sandbox(box)


async def test_a_second_sandbox_on_the_same_folder_is_refused(
    sandbox: Sandbox, page: httpx.AsyncClient, tmp_path: Path
) -> None:
    with pytest.raises(SandboxError, match=r"another sandbox .* is using"):
        await start_sandbox(tmp_path / "sandbox")
    assert (await page.get("/api/state")).status_code == 200  # the first one goes on


async def test_a_port_in_use_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SandboxError, match=f"port {port} is in use; start with another --port"):
            await start_sandbox(tmp_path, port=port)


async def test_a_data_folder_that_cannot_be_written_is_one_clear_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(SandboxError, match=r"cannot be written .* choose another with --data"):
        await start_sandbox(blocker / "sandbox")


async def test_a_bot_error_is_an_apology_in_the_chat_and_a_line_in_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(update: object, context: object) -> None:
        raise RuntimeError("a bug in /help")

    monkeypatch.setitem(handlers.COMMANDS, "help", broken)
    box = await start_sandbox(tmp_path / "broken")
    try:
        async with httpx.AsyncClient(base_url=box.address) as page:
            newcomer = person_id(box, "newcomer")
            await say(page, newcomer, "/help")
            await chat_until(page, newcomer, has_text(said("zh", "error.apology")))
            log = (await page.get("/api/state")).json()["log"]
            assert any(
                line["level"] == "ERROR" and "RuntimeError: a bug in /help" in line["text"]
                for line in log
            ), log
    finally:
        await stop_sandbox(box)


async def test_each_person_sees_the_bots_command_menu_in_their_language(
    sandbox: Sandbox, page: httpx.AsyncClient
) -> None:
    menus = {}
    for key in ("newcomer", "english"):
        chat = (await page.get(f"/api/people/{person_id(sandbox, key)}/chat")).json()
        menus[key] = {c["command"]: c["description"] for c in chat["commands"]}
    assert {"start", "events", "record", "help"} <= set(menus["newcomer"])
    assert menus["newcomer"].keys() == menus["english"].keys()
    assert menus["newcomer"]["events"] != menus["english"]["events"]  # 中文 and English
    assert menus["english"]["events"].isascii()


async def test_a_qr_code_one_person_received_can_be_scanned_by_another(
    sandbox: Sandbox, page: httpx.AsyncClient
) -> None:
    newcomer = person_id(sandbox, "newcomer")
    photo = (await secretarys_qr_code(sandbox, page))["photo"]
    assert photo["qr"].startswith("https://t.me/branchbot_sandbox?start=r_")
    file_code = "file:" + photo["url"].rsplit("/", 1)[1]
    assert file_code in [c["id"] for c in (await page.get("/api/codes")).json()]

    await page.post(f"/api/people/{newcomer}/scan", json={"code": file_code})
    chat = await chat_until(page, newcomer, has_text(said("zh", "profile.consent")))
    payload = photo["qr"].split("start=")[1]
    assert plain(chat["messages"][0]["html"]) == f"/start {payload}"


async def test_a_document_the_bot_sends_can_be_downloaded(
    sandbox: Sandbox, page: httpx.AsyncClient
) -> None:
    floating = person_id(sandbox, "floating")
    await say(page, floating, "/mydata")
    chat = await chat_until(page, floating, lambda c: any(m["document"] for m in c["messages"]))
    document = next(m["document"] for m in chat["messages"] if m["document"])
    download = await page.get(document["url"])
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment; filename*=UTF-8''")
    assert document["name"].endswith(".json") and len(download.content) == document["size"]
    assert "陈晓东" in download.content.decode("utf-8")  # the demo's floating member


async def test_a_world_saved_just_before_a_crash_does_not_silence_the_bot(
    tmp_path: Path,
) -> None:
    """kill -9 between two saves: the world file lags behind the database by a few updates."""
    folder = tmp_path / "crashed"
    box = await start_sandbox(folder)
    newcomer = person_id(box, "newcomer")
    async with httpx.AsyncClient(base_url=box.address) as page:
        await say(page, newcomer, "/help")
        await chat_until(page, newcomer, lambda c: len(texts(c)) == 1)
    await stop_sandbox(box)
    lagging = Emulator()
    extra = load_world(lagging, folder / "world.pickle")
    lagging._next_update_id -= 1  # as saved before the /help arrived
    save_world(lagging, folder / "world.pickle", extra)

    box = await start_sandbox(folder)
    try:
        async with httpx.AsyncClient(base_url=box.address) as page:
            await say(page, newcomer, "/help")
            chat = await chat_until(page, newcomer, lambda c: len(texts(c)) == 2)
            assert texts(chat)[0] == texts(chat)[1]
    finally:
        await stop_sandbox(box)
