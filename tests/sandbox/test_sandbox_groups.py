"""The bot in group chats: added, removed, and a group upgraded to a supergroup, with the
updates and the refusals that Telegram gives."""

from __future__ import annotations

import pytest
from telegram import Bot, ChatMemberLeft, ChatMemberMember
from telegram.constants import ChatMemberStatus
from telegram.error import ChatMigrated, Forbidden

from sandbox import Emulator


async def test_a_group_without_the_bot_is_out_of_its_reach(emu: Emulator, bot: Bot) -> None:
    alice = emu.user("Alice")
    group = emu.group("Branch chat", members=[alice], with_bot=False)
    await alice.send("/link", chat=group)  # a command, but the bot is not there to see it
    assert await bot.get_updates() == ()
    with pytest.raises(Forbidden, match=r"bot is not a member of the group chat"):
        await bot.send_message(group.id, "hello")
    assert emu.violations == [] and len(emu.fault_log) == 1  # the world's doing, not the bot's


async def test_added_the_bot_hears_of_it_and_may_write(emu: Emulator, bot: Bot) -> None:
    alice = emu.user("Alice")
    group = emu.group("Branch chat", members=[alice], with_bot=False)
    emu.add_bot(group, by=alice)
    changed, joined = await bot.get_updates()
    member = changed.my_chat_member
    assert member is not None and member.chat.id == group.id and member.from_user.id == alice.id
    assert isinstance(member.old_chat_member, ChatMemberLeft)
    assert isinstance(member.new_chat_member, ChatMemberMember)
    assert member.new_chat_member.user.id == bot.id
    assert joined.message is not None and joined.message.chat.id == group.id
    assert [u.id for u in joined.message.new_chat_members] == [bot.id]
    await alice.send("/link", chat=group)
    await alice.send("just chatting", chat=group)  # privacy mode: not for the bot
    (command,) = await bot.get_updates(offset=joined.update_id + 1)
    assert command.message.text == "/link"
    # The service message took its place in the group's numbering.
    assert command.message.message_id == joined.message.message_id + 1
    sent = await bot.send_message(group.id, "hello")
    assert emu.messages(group)[-1].text == "hello" and sent.chat.type == "group"
    with pytest.raises(AssertionError, match="already"):
        emu.add_bot(group, by=alice)
    assert emu.violations == []


@pytest.mark.parametrize(
    ("supergroup", "status", "refusal"),
    [
        (False, ChatMemberStatus.LEFT, "bot was kicked from the group chat"),
        (True, ChatMemberStatus.BANNED, "bot was kicked from the supergroup chat"),
    ],
)
async def test_removed_the_bot_is_told_and_refused(
    emu: Emulator, bot: Bot, supergroup: bool, status: str, refusal: str
) -> None:
    alice, bob = emu.user("Alice"), emu.user("Bob")
    group = emu.group("Branch chat", members=[alice, bob], supergroup=supergroup)
    sent = await bot.send_message(group.id, "hello")
    emu.remove_bot(group, by=bob)
    (update,) = await bot.get_updates()
    change = update.my_chat_member
    assert change is not None and change.from_user.id == bob.id
    assert change.old_chat_member.status == ChatMemberStatus.MEMBER
    assert change.new_chat_member.status == status
    with pytest.raises(Forbidden, match=refusal):
        await bot.send_message(group.id, "still here?")
    with pytest.raises(Forbidden, match=refusal):
        await sent.edit_text("edited")
    await alice.send("/help", chat=group)  # nothing reaches a bot that is gone
    assert await bot.get_updates(offset=update.update_id + 1) == ()
    assert [m.text for m in emu.messages(group) if m.from_bot] == ["hello"]
    assert emu.violations == [] and len(emu.fault_log) == 2
    assert "(Bob removed Branchbot)" in alice.transcript(group)
    with pytest.raises(AssertionError, match="not in"):
        emu.remove_bot(group, by=bob)
    # Added again, it may write again.
    emu.add_bot(group, by=alice)
    await bot.send_message(group.id, "back")


async def test_only_a_member_of_the_group_adds_or_removes_the_bot(emu: Emulator) -> None:
    alice, stranger = emu.user("Alice"), emu.user("Stranger")
    group = emu.group("Branch chat", members=[alice], with_bot=False)
    with pytest.raises(AssertionError, match="not a member"):
        emu.add_bot(group, by=stranger)
    with pytest.raises(AssertionError, match="groups"):
        emu.add_bot(alice.chat, by=alice)
    assert emu.updates == []


async def test_a_group_upgraded_to_a_supergroup(emu: Emulator, bot: Bot) -> None:
    alice = emu.user("Alice")
    group = emu.group("Branch chat", members=[alice])
    upgraded = emu.migrate_to_supergroup(group, by=alice)
    assert upgraded.type == "supergroup" and upgraded.id != group.id
    assert upgraded.title == "Branch chat" and upgraded.members == [alice.user]
    to, from_ = await bot.get_updates()
    assert to.message.chat.id == group.id and to.message.migrate_to_chat_id == upgraded.id
    assert from_.message.chat.id == upgraded.id
    assert from_.message.migrate_from_chat_id == group.id
    with pytest.raises(ChatMigrated) as refused:
        await bot.send_message(group.id, "hello")
    assert refused.value.new_chat_id == upgraded.id
    assert emu.fault_log[-1].description.startswith("Bad Request: group chat was upgraded")
    await bot.send_message(upgraded.id, "hello")
    await alice.send("/help", chat=upgraded)
    (command,) = await bot.get_updates(offset=from_.update_id + 1)
    assert command.message.chat.id == upgraded.id
    with pytest.raises(AssertionError, match="supergroup now"):
        await alice.send("/help", chat=group)
    with pytest.raises(AssertionError, match="not a group that can be upgraded"):
        emu.migrate_to_supergroup(upgraded, by=alice)
    assert emu.violations == []


async def test_a_group_that_lost_the_bot_is_upgraded_without_it(emu: Emulator, bot: Bot) -> None:
    alice = emu.user("Alice")
    group = emu.group("Branch chat", members=[alice])
    emu.remove_bot(group, by=alice)
    upgraded = emu.migrate_to_supergroup(group, by=alice)
    (removed,) = await bot.get_updates()  # no service message reaches a bot that is gone
    assert removed.my_chat_member is not None
    with pytest.raises(Forbidden, match="bot was kicked from the supergroup chat"):
        await bot.send_message(upgraded.id, "hello")
    with pytest.raises(ChatMigrated):
        await bot.send_message(group.id, "hello")


async def test_a_group_renamed(emu: Emulator, bot: Bot) -> None:
    alice = emu.user("Alice")
    group = emu.group("Branch chat", members=[alice])
    emu.rename_group(group, "Wanda branch", by=alice)
    (update,) = await bot.get_updates()
    assert update.message.new_chat_title == "Wanda branch"
    assert update.message.chat.title == "Wanda branch"
    assert (await bot.get_chat(group.id)).title == "Wanda branch"
    with pytest.raises(AssertionError, match="1-128"):
        emu.rename_group(group, "x" * 129, by=alice)
