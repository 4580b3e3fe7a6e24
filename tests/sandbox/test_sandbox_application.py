"""A real PTB Application polling the emulator, driven by scripted people."""

from collections.abc import AsyncIterator

import pytest
from telegram import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    LinkPreviewOptions,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
    Update,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from sandbox import Emulator


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    payload = " ".join(context.args or [])
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton("Approve", callback_data="approve:1")],
         [InlineKeyboardButton("Docs", url="https://example.org/docs")]]
    )  # fmt: skip
    await update.message.reply_html(f"Hello <b>{payload or 'there'}</b>!", reply_markup=keyboard)


async def approve(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer("Approved", show_alert=False)
    await query.edit_message_text("Approved ✅")


async def phone(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    keyboard = ReplyKeyboardMarkup(
        [[KeyboardButton("Share my phone", request_contact=True)]],
        one_time_keyboard=True,
        resize_keyboard=True,
    )
    await update.message.reply_text("Please share your phone", reply_markup=keyboard)


async def contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.contact is not None
    c = update.message.contact
    mine = c.user_id == update.effective_user.id if update.effective_user else False
    await update.message.reply_text(
        f"Got {c.phone_number} ({'yours' if mine else 'someone else'})",
        reply_markup=ReplyKeyboardRemove(),
    )


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(update.message.text)


@pytest.fixture
async def app(emu: Emulator) -> AsyncIterator[Application]:
    application = (
        Application.builder()
        .token(emu.token)
        .base_url(emu.base_url)
        .base_file_url(emu.base_file_url)
        .build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("phone", phone))
    application.add_handler(CallbackQueryHandler(approve, pattern=r"^approve:"))
    application.add_handler(MessageHandler(filters.CONTACT, contact))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0.0, timeout=1)
        yield application
        await application.updater.stop()
        await application.stop()


async def test_polling_round_trip(emu: Emulator, app: Application) -> None:
    alice = emu.user("Alice", username="alice", phone="+8613800000000")
    await alice.send("/start branch7")
    hello = await alice.next_message()
    assert hello.text == "Hello branch7!"
    assert hello.buttons == [["Approve"], ["Docs"]]
    assert hello.button_data("Approve") == "approve:1"
    with pytest.raises(AssertionError, match="url button"):
        await alice.press("Docs")
    await alice.press("Approve")
    answer = await alice.wait_answer()
    assert answer.text == "Approved" and not answer.show_alert
    edit = await alice.next_event()
    assert edit.kind == "edit" and edit.message is hello and hello.text == "Approved ✅"
    assert hello.buttons == []  # the edit did not repeat the keyboard, so it is gone

    await alice.send("/phone")
    prompt = await alice.next_message()
    assert prompt.reply_keyboard == [["Share my phone"]]
    await alice.tap("Share my phone")
    assert (await alice.next_message()).text == "Got +8613800000000 (yours)"
    assert alice.reply_keyboard is None
    await alice.share_contact("+8613911111111", first_name="Bob", user_id=424242)
    assert (await alice.next_message()).text == "Got +8613911111111 (someone else)"

    await alice.send("echo me")
    assert (await alice.next_message()).text == "echo me"
    await alice.expect_no_message(within=0.3)
    assert emu.violations == []
    assert "Alice" in alice.transcript() and "[Approve]" in alice.transcript()


async def test_timeout_message_has_transcript(emu: Emulator, app: Application) -> None:
    alice = emu.user("Alice")
    await alice.send("/start")
    await alice.next_message()
    with pytest.raises(AssertionError) as exc:
        await alice.next_message(timeout=0.3)
    text = str(exc.value)
    assert "Alice: /start" in text and "Branchbot: Hello there!" in text and "[Approve]" in text


async def test_normal_ptb_requests_are_not_violations(emu: Emulator, app: Application) -> None:
    """Guards against validator false positives on everything a normal flow sends."""
    bot = app.bot
    alice = emu.user("Alice", language_code="en")
    group = emu.group("Branch chat", members=[alice], supergroup=True)
    yes, no = (
        InlineKeyboardButton("Yes", callback_data="y"),
        InlineKeyboardButton("No", callback_data="n"),
    )
    inline = InlineKeyboardMarkup(
        [[yes, no], [InlineKeyboardButton("Site", url="https://example.org")]]
    )
    m = await bot.send_message(
        alice.id,
        "Pick *one*",
        parse_mode="MarkdownV2",
        reply_markup=inline,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
        disable_notification=True,
        protect_content=True,
    )
    await bot.send_message(
        alice.id,
        "reply",
        reply_parameters=ReplyParameters(m.message_id),
        reply_markup=ReplyKeyboardMarkup(
            [
                [KeyboardButton("Phone", request_contact=True)],
                [KeyboardButton("Where", request_location=True)],
                ["Cancel"],
            ],
            resize_keyboard=True,
            one_time_keyboard=True,
            input_field_placeholder="Choose",
        ),
    )
    await bot.send_message(alice.id, "force", reply_markup=ForceReply(selective=True))
    await bot.send_message(alice.id, "remove", reply_markup=ReplyKeyboardRemove())
    await m.edit_text("Picked <i>yes</i>", parse_mode="HTML", reply_markup=inline)
    await m.edit_reply_markup(reply_markup=None)
    qmsg = await bot.send_message(alice.id, "q", reply_markup=inline)
    qid = await alice.press("Yes")
    await bot.answer_callback_query(qid, text="Thanks", show_alert=True, cache_time=0)
    await bot.set_my_commands(
        [BotCommand("start", "Start"), BotCommand("report_now", "Report now")],
        scope=BotCommandScopeAllPrivateChats(),
        language_code="en",
    )
    await bot.get_my_commands(scope=BotCommandScopeAllPrivateChats(), language_code="en")
    await bot.send_chat_action(alice.id, "typing")
    await bot.send_location(group.id, 31.23, 121.47)
    await bot.pin_chat_message(group.id, (await bot.send_message(group.id, "pin me")).message_id)
    await bot.unpin_chat_message(group.id)
    await bot.get_chat(group.id)
    await bot.copy_message(group.id, alice.id, qmsg.message_id)
    await bot.forward_message(group.id, alice.id, qmsg.message_id)
    await qmsg.delete()
    await bot.get_webhook_info()
    assert emu.violations == []
    assert emu.unhandled == []
