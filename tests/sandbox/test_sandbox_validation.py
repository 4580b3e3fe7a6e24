"""The validator rejects what Telegram rejects, proven with python-telegram-bot itself."""

import io

import httpx
import pytest
import qrcode
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto
from telegram.constants import ParseMode
from telegram.error import BadRequest, EndPointNotFound, InvalidToken
from telegram.ext import Defaults, ExtBot

from sandbox import Emulator
from sandbox.request import MAX_REQUEST_BYTES

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBUserWarning")


def _only_violation(emu: Emulator, needle: str) -> None:
    assert len(emu.violations) == 1, emu.violations
    assert needle in emu.violations[0].description


async def test_callback_data_too_long(emu: Emulator, bot: Bot) -> None:
    alice = emu.user("Alice")
    kb = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="a" * 65)]])
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(alice.id, "hi", reply_markup=kb)
    _only_violation(emu, "BUTTON_DATA_INVALID")
    assert emu.violations[0].method == "sendMessage"
    # 64 bytes of UTF-8 is fine; 22 three-byte characters (66 bytes) is not.
    ok = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="a" * 64)]])
    await bot.send_message(alice.id, "hi", reply_markup=ok)
    wide = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="我" * 22)]])
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(alice.id, "hi", reply_markup=wide)


async def test_unknown_method_is_404(emu: Emulator, bot: Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendTelepathy", api_kwargs={"chat_id": 1})
    async with httpx.AsyncClient() as client:
        r = await client.post(f"{emu.base_url}{emu.token}/sendTelepathy")
    assert r.status_code == 404
    assert r.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert len(emu.violations) == 2


async def test_wrong_token_is_401(emu: Emulator) -> None:
    bad = Bot("999:wrong", base_url=emu.base_url)
    with pytest.raises(InvalidToken):
        await bad.initialize()
    await bad.shutdown()
    _only_violation(emu, "Unauthorized")


async def test_missing_required_parameter(emu: Emulator, bot: Bot) -> None:
    alice = emu.user("Alice")
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.do_api_request("sendMessage", api_kwargs={"chat_id": alice.id})
    with pytest.raises(BadRequest, match=r"(?i)is required"):
        await bot.do_api_request("sendLocation", api_kwargs={"chat_id": alice.id, "latitude": 1})
    assert len(emu.violations) == 2


async def test_unknown_parameter(emu: Emulator, bot: Bot) -> None:
    alice = emu.user("Alice")
    with pytest.raises(BadRequest, match=r'(?i)unknown parameter "colour"'):
        await bot.send_message(alice.id, "hi", api_kwargs={"colour": "red"})
    _only_violation(emu, "colour")


async def test_wrong_types(emu: Emulator, bot: Bot) -> None:
    alice = emu.user("Alice")
    with pytest.raises(BadRequest, match=r"(?i)expected Boolean"):
        await bot.do_api_request(
            "sendMessage",
            api_kwargs={"chat_id": alice.id, "text": "x", "disable_notification": "maybe"},
        )
    with pytest.raises(BadRequest, match=r"(?i)expected Integer"):
        await bot.do_api_request(
            "deleteMessage", api_kwargs={"chat_id": alice.id, "message_id": "x"}
        )
    # Nested objects are checked field by field.
    with pytest.raises(BadRequest, match=r'(?i)unknown field "callback"'):
        await bot.do_api_request(
            "sendMessage",
            api_kwargs={
                "chat_id": alice.id,
                "text": "x",
                "reply_markup": {"inline_keyboard": [[{"text": "a", "callback": "b"}]]},
            },
        )
    with pytest.raises(BadRequest, match=r"(?i)expected an Array"):
        await bot.do_api_request(
            "sendMessage",
            api_kwargs={"chat_id": alice.id, "text": "x", "reply_markup": {"inline_keyboard": 5}},
        )
    with pytest.raises(BadRequest, match=r"(?i)exactly one"):
        await bot.do_api_request(
            "sendMessage",
            api_kwargs={
                "chat_id": alice.id,
                "text": "x",
                "reply_markup": {
                    "inline_keyboard": [[{"text": "a", "callback_data": "b", "url": "https://x.y"}]]
                },
            },
        )
    with pytest.raises(BadRequest, match=r"(?i)Text buttons are unallowed"):
        await bot.send_message(
            alice.id, "x", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("a")]])
        )
    assert len(emu.violations) == 6


async def test_text_limits_and_parse_modes(emu: Emulator, bot: Bot) -> None:
    alice = emu.user("Alice")
    await bot.send_message(alice.id, "x" * 4096)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(alice.id, "x" * 4097)
    # The limit applies to visible text: markup does not count.
    await bot.send_message(alice.id, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(alice.id, "<b> </b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(alice.id, "1 < 2", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(alice.id, "Tom & Jerry", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r'(?i)Unsupported start tag "div"'):
        await bot.send_message(alice.id, "<div>x</div>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)Can't find end tag"):
        await bot.send_message(alice.id, "<b>x", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)Character '.' is reserved"):
        await bot.send_message(alice.id, "Done.", parse_mode="MarkdownV2")
    m = await bot.send_message(
        alice.id, r"*Done*\. [link](https://x.org/a\)b)", parse_mode="MarkdownV2"
    )
    assert m.text == "Done. link"
    assert m.entities[1].url == "https://x.org/a)b"
    m = await bot.send_message(
        alice.id, 'Tom &amp; <a href="https://x.org">Jerry</a> &lt;3 &#128512;', parse_mode="HTML"
    )
    assert m.text == "Tom & Jerry <3 😀"
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await bot.send_photo(alice.id, _png(), caption="c" * 1025)
    assert len(emu.violations) == 8


async def test_chat_not_found_and_missing_messages(emu: Emulator, bot: Bot) -> None:
    alice = emu.user("Alice")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(424242, "hi")
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=alice.id, message_id=99)
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(alice.id, 99)
    assert len(emu.violations) == 3


async def test_message_not_modified(emu: Emulator, bot: Bot) -> None:
    alice = emu.user("Alice")
    kb = InlineKeyboardMarkup([[InlineKeyboardButton("a", callback_data="a")]])
    m = await bot.send_message(alice.id, "<b>v1</b>", parse_mode="HTML", reply_markup=kb)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await m.edit_text("<b>v1</b>", parse_mode="HTML", reply_markup=kb)
    # Omitting reply_markup in an edit removes the keyboard, so that is a modification.
    await m.edit_text("<b>v1</b>", parse_mode="HTML")
    sent = await alice.next_message()
    assert sent.buttons == [] and sent.edited
    _only_violation(emu, "message is not modified")


async def test_answer_callback_query_rules(emu: Emulator, bot: Bot) -> None:
    alice = emu.user("Alice")
    kb = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go")]])
    await bot.send_message(alice.id, "pick", reply_markup=kb)
    qid = await alice.press("Go")
    with pytest.raises(BadRequest, match=r"(?i)MESSAGE_TOO_LONG"):
        await bot.answer_callback_query(qid, text="t" * 201)
    await bot.answer_callback_query(qid, text="ok", show_alert=True)
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(qid)
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query("12345")
    answer = await alice.wait_answer()
    assert answer.text == "ok" and answer.show_alert
    assert len(emu.violations) == 3


async def test_raw_http_bodies(emu: Emulator) -> None:
    alice = emu.user("Alice")
    base = f"{emu.base_url}{emu.token}"
    async with httpx.AsyncClient() as client:
        r = await client.post(f"{base}/SENDMESSAGE", json={"chat_id": alice.id, "text": "json"})
        assert r.status_code == 200 and r.json()["result"]["text"] == "json"
        r = await client.get(f"{base}/sendMessage", params={"chat_id": alice.id, "text": "get"})
        assert r.json()["ok"] is True
        r = await client.post(
            f"{base}/sendMessage",
            json={"chat_id": alice.id, "text": "x", "reply_markup": '{"inline_keyboard": 3}'},
        )
        assert r.status_code == 400
        assert r.json()["error_code"] == 400 and r.json()["ok"] is False
        # Over Telegram's 50 MB for files: 413, as Telegram answers, and the body unread.
        r = await client.post(
            f"{base}/sendDocument",
            content=b"x" * (MAX_REQUEST_BYTES + 1),
            headers={"Content-Type": "multipart/form-data; boundary=b"},
        )
        assert r.status_code == 413 and r.json()["description"] == "Request Entity Too Large"
    assert [m.text for m in emu.messages(alice.chat)] == ["json", "get"]
    assert [v.status for v in emu.violations] == [400, 413]


def _png() -> bytes:
    import io

    import qrcode

    buf = io.BytesIO()
    qrcode.make("hello").save(buf, format="PNG")
    return buf.getvalue()


async def test_parameters_that_library_defaults_add_are_tolerated(emu: Emulator) -> None:
    """python-telegram-bot's Defaults(parse_mode=…) sends parse_mode with editMessageMedia too,
    which has no such parameter: Telegram ignores it, so the emulator does; a misspelt one is
    still refused."""
    alice = emu.user("Alice")
    png = io.BytesIO()
    qrcode.make("x").save(png, format="PNG")
    async with ExtBot(
        emu.token, base_url=emu.base_url, defaults=Defaults(parse_mode=ParseMode.HTML)
    ) as bot:
        photo = await bot.send_photo(alice.id, png.getvalue(), caption="<b>one</b>")
        edited = await bot.edit_message_media(
            InputMediaPhoto(png.getvalue(), caption="<b>two</b>"),
            chat_id=alice.id,
            message_id=photo.message_id,
        )
        assert edited.caption == "two" and edited.caption_entities[0].type == "bold"
        assert emu.violations == []
        with pytest.raises(BadRequest, match=r'(?i)unknown parameter "parse_mod"'):
            await bot.send_message(alice.id, "hi", api_kwargs={"parse_mod": "HTML"})
