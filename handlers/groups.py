"""The branch's group chat: a secretary adds the bot to it and links it to the branch
(/link), so that the branch's notices are also posted there; /unlink undoes it, /help says
what the bot does there. Who may link which unit is the domain's (models.notices.groups),
checked again for every press, since anyone in a group can press its buttons.

In a group the bot answers these commands and nothing else: another command of its own gets
one line pointing to the private chat, a press on a button of another kind (a forwarded card)
only a note to whoever pressed, and ordinary messages, commands meant for other bots and the
service messages nothing at all. Replies go to the group through the update's unit of work,
like every reply (handlers.ui). In the person's own chat /link shows which group each of
their units has.

What Telegram tells of the group is followed without a word: the bot removed (the link is
forgotten), the group turned into a supergroup (the link follows its new id) or renamed (the
link takes the new title). When the bot is added it says once that a secretary can /link the
group.
"""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType

from handlers.context import BotContext
from handlers.ui import answer_press, edit_or_say, page_title, say
from models.notices.groups import (
    group_links_of,
    group_migrated,
    group_removed,
    group_renamed,
    link_group,
    link_of_chat,
    units_to_link,
    unlink_group,
)
from models.org import OrgUnit, unit_display_name
from models.paging import page_of
from views.buttons import (
    Button,
    GroupLinksPage,
    LinkGroup,
    LinkUnits,
    PageShown,
    choice_keyboard,
    pager_keyboard,
)

# The buttons the bot puts in a group; a press there on any other kind is not acted on.
GROUP_PRESSES: frozenset[type[Button]] = frozenset({LinkGroup, LinkUnits, PageShown})
GROUP_CHATS = frozenset({ChatType.GROUP, ChatType.SUPERGROUP})
# A line of the private list holds a unit's name (at most 100) and a group's title (at most
# 255): 8 of them stay far below Telegram's 4096.
LINKS_PAGE = 8
_PRESENT = frozenset(
    {ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.MEMBER}
)


def in_group(update: Update) -> bool:
    """Whether the update comes from a group or supergroup: a press, by its message's chat."""
    query = update.callback_query
    if query is not None:
        return query.message is not None and query.message.chat.type in GROUP_CHATS
    return update.effective_chat is not None and update.effective_chat.type in GROUP_CHATS


def _unit_name(context: BotContext, unit: OrgUnit) -> str:
    return escape(unit_display_name(unit, context.language))


def _bot_name(context: BotContext) -> str:
    return f"@{context.bot.username}"


def _speaker(update: Update, context: BotContext) -> int | None:
    """Who sent the command; None (after saying why) when it was posted anonymously: by an
    anonymous admin (Telegram shows the group as the sender) or on behalf of a channel."""
    message = update.effective_message
    user = update.effective_user
    if message is None or message.sender_chat is not None or user is None or user.is_bot:
        say(update, context, context.t("group.anonymous"))
        return None
    return user.id


# --- in the group ------------------------------------------------------------------------


async def link_command(update: Update, context: BotContext) -> None:
    """/link in a group: the secretary's only unit is linked at once; with several, they
    choose (a page of buttons)."""
    me = _speaker(update, context)
    if me is None:
        return
    units = await units_to_link(context.session, me)
    if len(units) == 1:
        await _link(update, context, me, units[0].id)
    else:
        await _choose(update, context, units, 1)


async def units_page(update: Update, context: BotContext, press: LinkUnits) -> None:
    """Another page of the choice: the units of whoever pressed (a non-secretary is told)."""
    assert update.effective_user
    units = await units_to_link(context.session, update.effective_user.id)
    await _choose(update, context, units, press.page)


async def link_pressed(update: Update, context: BotContext, press: LinkGroup) -> None:
    """A unit chosen: linked if whoever pressed is its secretary (the domain checks)."""
    assert update.effective_user
    await _link(update, context, update.effective_user.id, press.unit_id)


async def _choose(update: Update, context: BotContext, units: list[OrgUnit], page: int) -> None:
    assert update.effective_chat
    current = await link_of_chat(context.session, update.effective_chat.id)
    options: list[tuple[str, Button]] = []
    for unit in units:
        mark = "✓ " if current is not None and current.org_unit_id == unit.id else ""
        options.append((mark + unit_display_name(unit, context.language), LinkGroup(unit.id)))
    markup = choice_keyboard(options, page, LinkUnits)
    edit_or_say(update, context, context.t("group.choose_unit"), markup)


async def _link(update: Update, context: BotContext, me: int, unit_id: int) -> None:
    chat = update.effective_chat
    assert chat
    linked = await link_group(context.session, me, chat.id, chat.title, unit_id, context.now())
    lines = [context.t("group.linked", unit=_unit_name(context, linked.unit))]
    if linked.moved_from is not None:
        lines.append(context.t("group.moved_from", unit=_unit_name(context, linked.moved_from)))
    if linked.replaced_title is not None:
        lines.append(context.t("group.replaced", title=escape(linked.replaced_title)))
    edit_or_say(update, context, "\n".join(lines))  # the choice, if there was one, is gone


async def unlink_command(update: Update, context: BotContext) -> None:
    """/unlink in a group: a secretary of the unit it serves unlinks it."""
    me = _speaker(update, context)
    if me is None:
        return
    assert update.effective_chat
    unit = await unlink_group(context.session, me, update.effective_chat.id)
    say(update, context, context.t("group.unlinked", unit=_unit_name(context, unit)))


async def help_command(update: Update, context: BotContext) -> None:
    """/help in a group: what the bot does here; acknowledging is done in private."""
    say(update, context, context.t("group.help", bot=_bot_name(context)))


async def private_only(update: Update, context: BotContext) -> None:
    """A command of the private chat sent in a group: one line, nothing of anyone's data."""
    say(update, context, context.t("group.private_only", bot=_bot_name(context)))


async def press_elsewhere(update: Update, context: BotContext) -> None:
    """A button of the private chat pressed in a group (a forwarded card): a note to the
    presser alone, and nothing done."""
    answer_press(update, context, context.t("group.press_elsewhere", bot=_bot_name(context)))


async def migrated(update: Update, context: BotContext) -> None:
    """The group became a supergroup: Telegram says so in the old chat (migrate_to_chat_id)
    and in the new one (migrate_from_chat_id); the link follows, once."""
    message = update.effective_message
    assert message
    if message.migrate_to_chat_id:
        await group_migrated(context.session, message.chat.id, message.migrate_to_chat_id)
    elif message.migrate_from_chat_id:
        await group_migrated(context.session, message.migrate_from_chat_id, message.chat.id)


async def renamed(update: Update, context: BotContext) -> None:
    """The group was renamed (new_chat_title): its link, if any, shows the new title."""
    message = update.effective_message
    assert message
    await group_renamed(context.session, message.chat.id, message.new_chat_title)


async def membership_changed(update: Update, context: BotContext) -> None:
    """The bot's own membership of a group changed (my_chat_member): removed or kicked, the
    link is forgotten; added, one line says how to link the group."""
    change = update.my_chat_member
    assert change
    was_in = _is_in(change.old_chat_member)
    is_in = _is_in(change.new_chat_member)
    if was_in and not is_in:
        await group_removed(context.session, change.chat.id)
    elif is_in and not was_in:
        say(update, context, context.t("group.added"))


def _is_in(member: object) -> bool:
    status = getattr(member, "status", None)
    if status == ChatMemberStatus.RESTRICTED:
        return bool(getattr(member, "is_member", False))
    return status in _PRESENT


# --- in the person's own chat ------------------------------------------------------------


async def links_command(update: Update, context: BotContext) -> None:
    await show_links(update, context, GroupLinksPage(1))


async def show_links(update: Update, context: BotContext, press: GroupLinksPage) -> None:
    """/link in private: each unit the secretary may link, with its group, and how to link."""
    assert update.effective_user
    rows = await group_links_of(context.session, update.effective_user.id)
    shown = page_of(rows, press.page, LINKS_PAGE)
    lines = [page_title(context, context.t("group.links_title", count=len(rows)), shown)]
    for unit, link in shown.items:
        if link is None:
            lines.append(context.t("group.links_none", unit=_unit_name(context, unit)))
        else:
            title = escape(link.title) or "—"
            lines.append(context.t("group.links_line", unit=_unit_name(context, unit), title=title))
    lines.append("")
    lines.append(context.t("group.links_how", bot=_bot_name(context)))
    edit_or_say(update, context, "\n".join(lines), pager_keyboard(shown, GroupLinksPage))
