"""The branch's group chat, end to end: the bot added to a group, a secretary links it to
the branch (/link, with buttons when they have several units), /unlink, /help there; the
bot removed forgets the link, a group upgraded to a supergroup keeps it; refusals for
everyone else; and silence in the group on everything that is not for it there."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from sqlalchemy import func, select

from models.account import Account
from models.notices import GroupLink
from models.org import OrgUnit, unit_by_code
from sandbox.person import Person
from sandbox.state import Chat
from tests.e2e.conftest import RunningBot, grant, meet, new_activity
from tests.e2e.test_events import member, settle
from tests.e2e.test_notices import ALL_MEMBERS, CONTINUE, NO_DEADLINE, SEND_NOW, write
from tests.e2e.texts import said, t
from views import buttons as b
from views.buttons import short

BOT = "@branchbot_test"
GROUP_TITLE = "万达广场党员群"


async def unit(bot: RunningBot, code: str) -> OrgUnit:
    async with bot.database.sessions() as session:
        return await unit_by_code(session, code)


async def links(bot: RunningBot) -> list[tuple[str, int, str, int]]:
    """Every group link: (unit code, chat id, title, linked by)."""
    async with bot.database.sessions() as session:
        rows = await session.execute(
            select(OrgUnit.code, GroupLink.chat_id, GroupLink.title, GroupLink.linked_by)
            .join(OrgUnit, OrgUnit.id == GroupLink.org_unit_id)
            .order_by(GroupLink.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def settled(person: Person) -> None:
    """Every update sent before this has been handled: end-to-end tests run with one lane
    (bot.lanes), so updates are handled one at a time, in order, and the reply to a later one
    in the person's own chat comes after them."""
    await person.send("/help")
    await person.next_message()


async def group_with_bot(
    bot: RunningBot, adder: Person, *others: Person, privacy_mode: bool = True, **kw: Any
) -> Chat:
    """A group of these people to which `adder` adds the bot, which says once how to link it."""
    group = bot.emulator.group(
        GROUP_TITLE, members=[adder, *others], with_bot=False, privacy_mode=privacy_mode, **kw
    )
    bot.emulator.add_bot(group, by=adder)
    hint = await adder.next_message(chat=group)
    assert hint.text == said(adder.user.language_code or "zh", "group.added")
    for person in others:
        await person.next_message(chat=group)  # everyone reads the group
    return group


async def organizer_of(bot: RunningBot, code: str = "wanda-plaza", language: str = "zh") -> Person:
    person = bot.emulator.user("王指导员", language_code=language)
    await grant(bot.database, person, "organizer", code)
    await meet(person)
    return person


def linked_text(language: str, unit: OrgUnit) -> str:
    name = unit.name_zh if language == "zh" else unit.name_en or unit.name_zh
    return said(language, "group.linked", unit=name)


async def test_a_secretary_links_the_branchs_group(bot: RunningBot, secretary: Person) -> None:
    zhou = await member(bot, "周党员", secretary)
    group = await group_with_bot(bot, secretary, zhou)
    await secretary.send("/link", chat=group)
    reply = await secretary.next_message(chat=group)
    # Everyone in the group reads which branch it now serves.
    assert reply.text == "本群已关联 湛江万达广场商圈党支部；该支部的通知将同时发到本群。"
    assert (await zhou.next_message(chat=group)) is reply
    assert await links(bot) == [("wanda-plaza", group.id, GROUP_TITLE, secretary.id)]
    # Nothing about it in anyone's private chat.
    await secretary.expect_no_message(within=0.2)
    await zhou.expect_no_message(within=0.2)
    # In private, /link shows the secretary which group their branch has, by its title of
    # the moment.
    await secretary.send("/link")
    listing = (await secretary.next_message()).text
    assert said("zh", "group.links_title", count=1) in listing
    wanda = await unit(bot, "wanda-plaza")
    assert said("zh", "group.links_line", unit=wanda.name_zh, title=GROUP_TITLE) in listing
    bot.emulator.rename_group(group, "万达广场商圈党员群", by=zhou)
    await settled(secretary)
    await secretary.send("/link")
    listing = (await secretary.next_message()).text
    assert said("zh", "group.links_line", unit=wanda.name_zh, title="万达广场商圈党员群") in listing
    await zhou.expect_no_message(within=0.1, chat=group)  # the bot says nothing of it


async def test_an_organizer_or_a_member_is_refused_politely(
    bot: RunningBot, secretary: Person
) -> None:
    organizer = await organizer_of(bot)
    alice = await member(bot, "Alice", secretary, language="en")
    group = await group_with_bot(bot, organizer, alice, secretary)
    for person, language in ((organizer, "zh"), (alice, "en")):
        await person.send("/link", chat=group)
        refusal = await secretary.next_message(chat=group)
        assert refusal.text == said(language, "error.group_not_secretary")
    assert await links(bot) == []
    # Once the secretary linked it, they may not unlink it either.
    await secretary.send("/link", chat=group)
    await secretary.next_message(chat=group)
    for person, language in ((organizer, "zh"), (alice, "en")):
        await person.send("/unlink", chat=group)
        refusal = await secretary.next_message(chat=group)
        assert refusal.text == said(language, "error.group_not_secretary")
    assert [code for code, *_ in await links(bot)] == ["wanda-plaza"]
    # Nor see the groups in private.
    await organizer.send("/link")
    assert (await organizer.next_message()).text == said("zh", "error.group_not_secretary")


async def test_a_secretary_of_two_units_chooses_and_others_cannot_press(
    bot: RunningBot, secretary: Person
) -> None:
    await grant(bot.database, secretary, "secretary", "huaduhui")
    organizer = await organizer_of(bot, "huaduhui")
    zhou = await member(bot, "周党员", secretary)
    group = await group_with_bot(bot, secretary, organizer, zhou)
    wanda, huaduhui = await unit(bot, "wanda-plaza"), await unit(bot, "huaduhui")
    await secretary.send("/link", chat=group)
    choice = await secretary.next_message(chat=group)
    assert choice.text == said("zh", "group.choose_unit")
    assert choice.buttons == [[wanda.name_zh], [huaduhui.name_zh]]
    # Anyone in the group can press; only a secretary of that unit is heard.
    for person in (zhou, organizer):
        await person.press(huaduhui.name_zh, message=choice)
        answer = await person.wait_answer()
        assert answer.show_alert and answer.text == said("zh", "error.group_not_secretary")
        person.press_forged(choice, b.LinkUnits(1).pack())  # nor page through the units
        answer = await person.wait_answer()
        assert answer.show_alert and answer.text == said("zh", "error.group_not_secretary")
    assert await links(bot) == [] and not choice.edited
    await secretary.press(huaduhui.name_zh, message=choice)
    confirmation = await secretary.next_event(chat=group)
    assert confirmation.kind == "edit" and confirmation.message is choice
    assert choice.text == linked_text("zh", huaduhui) and choice.buttons == []
    assert await links(bot) == [("huaduhui", group.id, GROUP_TITLE, secretary.id)]
    # Asked again, the choice shows which unit the group serves; moved to the other unit,
    # the group says it no longer gets the first one's notices.
    await secretary.send("/link", chat=group)
    again = await secretary.next_message(chat=group)
    assert again.buttons == [[wanda.name_zh], ["✓ " + huaduhui.name_zh]]
    await secretary.press(wanda.name_zh, message=again)
    await secretary.next_event(chat=group)
    assert again.text.splitlines() == [
        linked_text("zh", wanda),
        said("zh", "group.moved_from", unit=huaduhui.name_zh),
    ]
    assert await links(bot) == [("wanda-plaza", group.id, GROUP_TITLE, secretary.id)]


async def test_a_group_of_another_branch_stays_with_it(bot: RunningBot, secretary: Person) -> None:
    other = bot.emulator.user("华书记", language_code="en")
    await grant(bot.database, other, "secretary", "huaduhui")
    group = await group_with_bot(bot, other, secretary)
    await other.send("/link", chat=group)
    await secretary.next_message(chat=group)
    await secretary.send("/link", chat=group)
    refusal = await secretary.next_message(chat=group)
    huaduhui = await unit(bot, "huaduhui")
    assert refusal.text == said("zh", "error.group_linked_elsewhere", unit=huaduhui.name_zh)
    assert [code for code, *_ in await links(bot)] == ["huaduhui"]


async def test_a_branchs_new_group_replaces_its_old_one(bot: RunningBot, secretary: Person) -> None:
    old = await group_with_bot(bot, secretary)
    await secretary.send("/link", chat=old)
    await secretary.next_message(chat=old)
    new = bot.emulator.group("万达新群", members=[secretary], with_bot=False)
    bot.emulator.add_bot(new, by=secretary)
    await secretary.next_message(chat=new)
    await secretary.send("/link", chat=new)
    reply = await secretary.next_message(chat=new)
    wanda = await unit(bot, "wanda-plaza")
    assert reply.text.splitlines() == [
        linked_text("zh", wanda),
        said("zh", "group.replaced", title=GROUP_TITLE),
    ]
    assert await links(bot) == [("wanda-plaza", new.id, "万达新群", secretary.id)]


async def test_unlink(bot: RunningBot, secretary: Person) -> None:
    group = await group_with_bot(bot, secretary)
    await secretary.send("/unlink", chat=group)
    assert (await secretary.next_message(chat=group)).text == said("zh", "error.group_not_linked")
    await secretary.send("/link", chat=group)
    await secretary.next_message(chat=group)
    await secretary.send(f"/unlink{BOT}", chat=group)
    reply = await secretary.next_message(chat=group)
    assert reply.text == said("zh", "group.unlinked", unit=(await unit(bot, "wanda-plaza")).name_zh)
    assert await links(bot) == []
    await secretary.send("/unlink")  # in private: which group each unit has, and how
    wanda = await unit(bot, "wanda-plaza")
    listing = (await secretary.next_message()).text
    assert said("zh", "group.links_none", unit=wanda.name_zh) in listing
    assert said("zh", "group.links_how", bot=BOT) in listing


async def test_the_bot_removed_from_the_group_forgets_the_link(
    bot: RunningBot, secretary: Person
) -> None:
    zhou = await member(bot, "周党员", secretary)
    group = await group_with_bot(bot, secretary, zhou)
    await secretary.send("/link", chat=group)
    await secretary.next_message(chat=group)
    bot.emulator.remove_bot(group, by=zhou)  # anyone may; no permission is asked
    await settled(secretary)
    assert await links(bot) == []
    # It said nothing, nor tried to, in the group it was removed from.
    assert bot.emulator.fault_log == []
    assert [m for m in bot.emulator.messages(group) if m.from_bot][-1].text == linked_text(
        "zh", await unit(bot, "wanda-plaza")
    )
    # Added again, it may be linked again.
    bot.emulator.add_bot(group, by=secretary)
    assert (await secretary.next_message(chat=group)).text == said("zh", "group.added")
    await secretary.send("/link", chat=group)
    await secretary.next_message(chat=group)
    assert [code for code, *_ in await links(bot)] == ["wanda-plaza"]


async def test_the_link_follows_the_group_upgraded_to_a_supergroup(
    bot: RunningBot, secretary: Person
) -> None:
    group = await group_with_bot(bot, secretary)
    await secretary.send("/link", chat=group)
    await secretary.next_message(chat=group)
    upgraded = bot.emulator.migrate_to_supergroup(group, by=secretary)
    await settled(secretary)
    assert await links(bot) == [("wanda-plaza", upgraded.id, GROUP_TITLE, secretary.id)]
    await secretary.expect_no_message(within=0.2, chat=upgraded)  # nothing said of it
    await secretary.send("/unlink", chat=upgraded)
    reply = await secretary.next_message(chat=upgraded)
    assert reply.text == said("zh", "group.unlinked", unit=(await unit(bot, "wanda-plaza")).name_zh)
    assert bot.emulator.fault_log == []  # nothing went to the old chat id


async def test_the_bot_stays_silent_on_what_is_not_for_it_in_the_group(
    bot: RunningBot, secretary: Person
) -> None:
    """Without privacy mode the bot sees every message of the group. Commands of the
    private chat get one line pointing there and nothing of anyone's data; the rest, and
    buttons of the private chat pressed there, get nothing in the group."""
    zhou = await member(bot, "周党员", secretary)
    stranger = bot.emulator.user("路人", language_code="zh")  # never talked to the bot
    group = await group_with_bot(bot, secretary, zhou, stranger, privacy_mode=False)
    hint = bot.emulator.messages(group)[-1]
    activity = await new_activity(bot, secretary, "万达广场志愿服务")
    for person, text in (
        (zhou, "大家好"),
        (stranger, "今天几点开会？"),
        (zhou, "/link@other_bot"),
        (secretary, "/help@other_bot"),
        (stranger, "/fly"),  # no command of ours
        (zhou, f"{BOT} 你好"),
    ):
        await person.send(text, chat=group)
    for text in ("/start", "/events", f"/record{BOT}", "/roster"):
        await secretary.send(text, chat=group)
        line = await zhou.next_message(chat=group)
        assert line.text == said("zh", "group.private_only", bot=BOT), text
    # Buttons of the private chat pressed in the group (a forwarded card, a modified client):
    # a note to the presser alone; no card, no roster, in the group or anywhere.
    wanda = await unit(bot, "wanda-plaza")
    for person, data in (
        (zhou, b.ShowCard(activity.id)),
        (secretary, b.RosterOf(wanda.id)),
        (secretary, b.GroupLinksPage(1)),
        (stranger, b.SignUp(activity.id)),
    ):
        person.press_forged(hint, data.pack())
        answer = await person.wait_answer()
        assert answer.text == said("zh", "group.press_elsewhere", bot=BOT)
        assert not answer.show_alert
    await settled(secretary)
    said_in_group = [m.text for m in bot.emulator.messages(group) if m.from_bot]
    assert said_in_group == [hint.text] + [said("zh", "group.private_only", bot=BOT)] * 4
    await zhou.expect_no_message(within=0.1)  # nor in private
    await stranger.expect_no_message(within=0.1)
    assert await links(bot) == []
    async with bot.database.sessions() as session:
        # Nothing is kept about who spoke in the group.
        count = select(func.count()).select_from(Account).where(Account.id == stranger.id)
        assert await session.scalar(count) == 0


async def test_group_help_and_menu(bot: RunningBot, secretary: Person) -> None:
    alice = await member(bot, "Alice", secretary, language="en")
    group = await group_with_bot(bot, secretary, alice)
    await alice.send("/help", chat=group)
    assert (await alice.next_message(chat=group)).text == said("en", "group.help", bot=BOT)
    await secretary.send(f"/help{BOT}", chat=group)
    assert (await alice.next_message(chat=group)).text == said("zh", "group.help", bot=BOT)
    # In private, /help is the member's help, as it was.
    await alice.send("/help")
    assert (await alice.next_message()).text == said("en", "help.member")
    # The menu in groups offers only what the bot answers there.
    menu = bot.emulator.visible_commands(alice, chat=group)
    assert [c["command"] for c in menu] == ["help", "link", "unlink"]
    assert menu[1]["description"] == t("en", "group.command.link")


async def test_an_anonymous_admin_is_asked_to_show_themselves(
    bot: RunningBot, secretary: Person
) -> None:
    """An anonymous admin's messages come from the group itself: the bot cannot tell
    whether a secretary sent them."""
    group = await group_with_bot(bot, secretary)
    anonymous = {"id": 1087968824, "is_bot": True, "first_name": "Group"}
    anonymous["username"] = "GroupAnonymousBot"
    for command in ("/link", "/unlink"):
        bot.emulator.push_update(
            "message",
            {
                "message_id": group.next_message_id,
                "from": anonymous,
                "sender_chat": group.to_api(),
                "chat": group.to_api(),
                "date": int(bot.emulator.clock()),
                "text": command,
                "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
            },
        )
        group.next_message_id += 1
        reply = await secretary.next_message(chat=group)
        assert reply.text == said("zh", "group.anonymous")
    assert await links(bot) == []


async def test_notices_go_to_the_group_linked_here_and_stop_when_the_bot_is_removed(
    bot: RunningBot, secretary: Person
) -> None:
    """/link is what /notify's "also post to the group" needs (notices have their own tests)."""
    zhou = await member(bot, "周党员", secretary)
    group = await group_with_bot(bot, secretary, zhou)
    await secretary.send("/link", chat=group)
    await zhou.next_message(chat=group)
    toggle = short("⬜ " + t("zh", "notify.option_group", group=GROUP_TITLE))
    await write(secretary, "周五下午三点主题党日。")
    await secretary.press(ALL_MEMBERS)
    await secretary.next_event()
    options = await secretary.next_message()
    assert [toggle] in options.buttons
    await secretary.press(toggle, options)
    await secretary.next_event()
    await secretary.press(CONTINUE)
    await secretary.next_event()
    await secretary.next_message()  # the deadline
    await secretary.press(NO_DEADLINE)
    await secretary.next_event()
    await secretary.next_message()  # the summary
    await secretary.press(SEND_NOW, await secretary.next_message())
    await secretary.wait_answer()
    await settle(bot, secretary)  # and the secretary reads what came of it
    posted = await zhou.next_message(chat=group)
    wanda = await unit(bot, "wanda-plaza")
    assert posted.text.startswith(said("zh", "notice.heading", unit=wanda.name_zh))
    assert "周五下午三点主题党日。" in posted.text and posted.buttons == []
    # Removed from the group, the bot offers it no more.
    bot.emulator.remove_bot(group, by=secretary)
    await settled(secretary)
    await write(secretary, "下周一党课。")
    await secretary.press(ALL_MEMBERS)
    await secretary.next_event()
    options = await secretary.next_message()
    assert options.buttons == [["✅ " + t("zh", "notify.option_ack")], [CONTINUE]]
    assert bot.emulator.fault_log == []  # nothing was sent to the group it left


async def test_posts_to_the_group_keep_its_limit_of_20_a_minute(
    bot: RunningBot, secretary: Person
) -> None:
    """Four notices at once, each also posted to the group: the group's posts go one every
    3 seconds (Telegram takes 20 a minute in a group), the members' copies meanwhile."""
    from models.notices import Audience, AudienceChoice, NoticeDraft, create_notice
    from models.notifications import take_pending
    from views.i18n import Defaults
    from views.notifications import OutboxNotifier

    zhou = await member(bot, "周党员", secretary)
    group = await group_with_bot(bot, secretary, zhou)
    await secretary.send("/link", chat=group)
    await zhou.next_message(chat=group)
    wanda = await unit(bot, "wanda-plaza")
    bot.emulator.faults.enforce_flood_limits = True
    async with bot.database.sessions.begin() as session:
        for n in range(4):
            draft = NoticeDraft(
                unit_id=wanda.id,
                body_html=f"第{n + 1}号通知",
                audience=AudienceChoice(Audience.unit),
                post_to_group=True,
            )
            await create_notice(session, secretary.id, draft, bot.clock.now())
        notifier = OutboxNotifier(bot.clock.now, Defaults())
        await notifier.deliver(session, take_pending(session))
    await settle(bot)
    posts = [
        r
        for r in bot.emulator.calls("sendMessage")
        if str(r.params.get("chat_id")) == str(group.id) and "号通知" in r.params["text"]
    ]
    assert [p.status for p in posts] == [200, 200, 200, 200]
    gaps = [later.time - earlier.time for earlier, later in pairwise(posts)]
    assert min(gaps) >= 2.9, gaps
    assert not [r for r in bot.emulator.requests if r.status == 429]
    texts = [m.text for m in zhou.chat.ordered() if m.from_bot and "号通知" in (m.text or "")]
    assert len(texts) == 4  # and each member's own copy
