"""Uploads, downloads, QR decoding, commands per scope/language and the menu button."""

import io

import pytest
import qrcode
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    InputFile,
    InputMediaDocument,
    InputMediaPhoto,
    MenuButtonCommands,
)
from telegram.error import BadRequest

from sandbox import Emulator, decode_qr


def _qr_png(text: str) -> bytes:
    buf = io.BytesIO()
    qrcode.make(text).save(buf, format="PNG")
    return buf.getvalue()


async def test_photo_upload_getfile_download(emu: Emulator, bot: Bot) -> None:
    alice = emu.user("Alice")
    png = _qr_png("https://t.me/branchbot_test?start=checkin_42")
    sent = await bot.send_photo(alice.id, png, caption="<b>Scan me</b>", parse_mode="HTML")
    assert sent.caption == "Scan me" and sent.photo[-1].width > 0
    file = await bot.get_file(sent.photo[-1].file_id)
    assert await file.download_as_bytearray() == png
    seen = await alice.next_message()
    assert seen.photo_bytes == png and seen.caption == "Scan me"
    assert decode_qr(seen.photo_bytes) == ["https://t.me/branchbot_test?start=checkin_42"]
    # Re-sending by file_id works; an unknown file_id does not.
    again = await bot.send_photo(alice.id, sent.photo[-1].file_id)
    assert again.photo[-1].file_unique_id == sent.photo[-1].file_unique_id
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_photo(alice.id, "no-such-file-id")
    with pytest.raises(BadRequest, match=r"(?i)IMAGE_PROCESS_FAILED"):
        await bot.send_photo(alice.id, b"not an image")
    assert len(emu.violations) == 2


async def test_document_and_edit_media(emu: Emulator, bot: Bot) -> None:
    alice = emu.user("Alice")
    data = bytes(range(256)) * 40  # binary content incl. CR/LF bytes survives multipart
    sent = await bot.send_document(alice.id, InputFile(data, filename="report.xlsx"))
    seen = await alice.next_message()
    assert seen.document_bytes == data and seen.document_name == "report.xlsx"
    assert sent.document.file_name == "report.xlsx"
    png = _qr_png("v2")
    # Pitfall: a ready-made InputFile inside InputMedia needs attach=True, else PTB omits
    # "media" from the JSON and uploads the part under the parameter name.
    with pytest.raises(BadRequest, match=r'(?i)field "media"'):
        await sent.edit_media(InputMediaDocument(InputFile(png, filename="v2.png")))
    emu.violations.clear()
    edited = await sent.edit_media(
        InputMediaDocument(InputFile(png, filename="v2.png", attach=True))
    )
    assert edited.document.file_name == "v2.png"
    assert seen.document_bytes == png and seen.edited
    photo_msg = await bot.send_photo(alice.id, _qr_png("p1"))
    await photo_msg.edit_media(InputMediaPhoto(_qr_png("p2"), caption="new"))
    assert decode_qr((await alice.next_message()).photo_bytes or b"") == ["p2"]
    # A user's photo can be fetched by the bot.
    user_msg = await alice.send_photo(png, caption="my receipt")
    file = await bot.get_file(user_msg.photo.file_id if user_msg.photo else "")
    assert await file.download_as_bytearray() == png
    assert emu.violations == []


async def test_commands_per_scope_and_language(emu: Emulator, bot: Bot) -> None:
    alice = emu.user("Alice", language_code="zh")
    bob = emu.user("Bob", language_code="en")
    await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("help", "Help")])
    await bot.set_my_commands([BotCommand("start", "开始")], language_code="zh")
    await bot.set_my_commands(
        [BotCommand("report", "Report")], scope=BotCommandScopeAllPrivateChats()
    )
    await bot.set_my_commands(
        [BotCommand("admin", "Admin")], scope=BotCommandScopeChat(bob.id), language_code="en"
    )
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    assert [c.description for c in await bot.get_my_commands(language_code="zh")] == ["开始"]
    assert await bot.get_my_commands(language_code="fr") == ()
    got = await bot.get_my_commands(scope=BotCommandScopeChat(bob.id), language_code="en")
    assert [c.command for c in got] == ["admin"]
    # What clients show: most specific scope first, then language fallback.
    assert [c["command"] for c in emu.visible_commands(bob)] == ["admin"]
    assert [c["command"] for c in emu.visible_commands(alice)] == ["report"]
    await bot.delete_my_commands(scope=BotCommandScopeAllPrivateChats())
    assert [c["description"] for c in emu.visible_commands(alice)] == ["开始"]
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Bad-Command", "x")])
    await bot.set_chat_menu_button(chat_id=alice.id, menu_button=MenuButtonCommands())
    assert (await bot.get_chat_menu_button(alice.id)).type == "commands"
    chat = await bot.get_chat(alice.id)
    assert chat.first_name == "Alice" and chat.type == "private"
    assert len(emu.violations) == 1
