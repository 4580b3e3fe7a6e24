from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from sandbox import Emulator


async def test_smoke(emu: Emulator, bot: Bot) -> None:
    alice = emu.user("Alice", username="alice")
    me = await bot.get_me()
    assert me.username == "branchbot_test"
    kb = InlineKeyboardMarkup([[InlineKeyboardButton("Approve", callback_data="ok")]])
    m = await bot.send_message(alice.id, "<b>Hi</b> there", parse_mode="HTML", reply_markup=kb)
    assert m.text == "Hi there"
    got = await alice.next_message()
    assert got.buttons == [["Approve"]]
    qid = await alice.press("Approve")
    ups = await bot.get_updates()
    assert ups[0].callback_query.data == "ok"
    await bot.answer_callback_query(qid, text="done")
    assert (await alice.wait_answer()).text == "done"
    assert emu.violations == []
