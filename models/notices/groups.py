"""Group chats linked to units: a secretary adds the bot to the branch's group and links
it there; notices of the unit may then also be posted to it.

A unit has at most one group and a group serves at most one unit (both unique in
GroupLink). Linking and unlinking are for a secretary of the unit (Permission.manage_members:
secretaries and admins, not organizers), checked here for every command and every press,
since anyone in a group can send a command or press a button there. Moving a group that
serves another unit needs the same right on that unit too; linking a unit that had another
group replaces that one. What Telegram says happened to a group needs no permission: the bot
was removed (the link is forgotten), the group became a supergroup (the link follows it to
its new chat id), the group was renamed (the link shows the new title).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models.errors import InvalidInput, InvalidState, PermissionDenied
from models.notices.tables import GROUP_TITLE_MAX, GroupLink
from models.org import OrgUnit, get_unit
from models.permissions import Permission, can
from models.staff import managed_units

# Who may link a unit's group: its secretaries (and admins).
LINK_PERMISSION = Permission.manage_members


class NotSecretary(PermissionDenied):
    """The person is not a secretary of the unit (or of any unit) whose group this is."""

    code = "group.not_secretary"


class LinkedElsewhere(InvalidState):
    """The group serves another unit, of which the person is not a secretary. The unit's
    names are copied: the error outlives the session, rolled back."""

    def __init__(self, unit: OrgUnit) -> None:
        self.unit_id = unit.id
        self.unit_names = {"zh": unit.name_zh, "en": unit.name_en or unit.name_zh}
        super().__init__("group.linked_elsewhere", f"chat linked to unit {unit.code}")


@dataclass(frozen=True)
class Linked:
    """What linking did: the link, its unit, and what it undid."""

    link: GroupLink
    unit: OrgUnit
    already: bool  # the group served this unit before
    moved_from: OrgUnit | None  # the unit the group served before, now without a group
    replaced_title: str | None  # the title of the group the unit had before, now unlinked


async def linked_group(session: AsyncSession, unit_id: int) -> GroupLink | None:
    """The group linked to this unit, if any."""
    return await session.scalar(select(GroupLink).where(GroupLink.org_unit_id == unit_id))


async def link_of_chat(session: AsyncSession, chat_id: int) -> GroupLink | None:
    """The link of this group chat, if it serves a unit."""
    return await session.scalar(select(GroupLink).where(GroupLink.chat_id == chat_id))


async def units_to_link(session: AsyncSession, telegram_id: int) -> list[OrgUnit]:
    """The units whose group this person may link, in tree order; NotSecretary when none
    (an organizer, a member, a stranger)."""
    units = await managed_units(session, telegram_id, LINK_PERMISSION)
    if not units:
        raise NotSecretary(LINK_PERMISSION, None, telegram_id)
    return units


async def group_links_of(
    session: AsyncSession, telegram_id: int
) -> list[tuple[OrgUnit, GroupLink | None]]:
    """Each unit this person may link, with its group (None: none linked)."""
    units = await units_to_link(session, telegram_id)
    links = {
        link.org_unit_id: link
        for link in await session.scalars(
            select(GroupLink).where(GroupLink.org_unit_id.in_([unit.id for unit in units]))
        )
    }
    return [(unit, links.get(unit.id)) for unit in units]


async def _require_secretary(session: AsyncSession, telegram_id: int, unit_id: int) -> None:
    if not await can(session, telegram_id, LINK_PERMISSION, unit_id):
        raise NotSecretary(LINK_PERMISSION, unit_id, telegram_id)


def _check_group(chat_id: int) -> None:
    # Group and supergroup ids are negative; a user's (private chat) is positive.
    if chat_id >= 0:
        raise InvalidInput("chat_id", "group.not_a_group", detail=str(chat_id))


def _title(title: str | None) -> str:
    return " ".join((title or "").split())[:GROUP_TITLE_MAX]


async def link_group(
    session: AsyncSession,
    telegram_id: int,
    chat_id: int,
    title: str | None,
    unit_id: int,
    now: datetime,
) -> Linked:
    """Link the group chat to the unit: its notices may then also be posted there.

    Only a secretary of the unit may (NotSecretary). A group that serves another unit is
    moved only when the person is a secretary there too (else LinkedElsewhere); the unit's
    own earlier group, if any, is unlinked. Linking again refreshes the title."""
    _check_group(chat_id)
    unit = await get_unit(session, unit_id)
    await _require_secretary(session, telegram_id, unit.id)
    current = await link_of_chat(session, chat_id)
    if current is not None and current.org_unit_id == unit.id:
        current.title = _title(title) or current.title
        await session.flush()
        return Linked(current, unit, already=True, moved_from=None, replaced_title=None)
    moved_from = None
    if current is not None:
        moved_from = await get_unit(session, current.org_unit_id)
        if not await can(session, telegram_id, LINK_PERMISSION, moved_from.id):
            raise LinkedElsewhere(moved_from)
    replaced = await linked_group(session, unit.id)
    replaced_title = replaced.title if replaced is not None else None
    try:
        async with session.begin_nested():
            # Deleted first and flushed: both columns are unique.
            for old in (current, replaced):
                if old is not None:
                    await session.delete(old)
            await session.flush()
            link = GroupLink(
                org_unit_id=unit.id,
                chat_id=chat_id,
                title=_title(title),
                linked_by=telegram_id,
                linked_at=now,
            )
            session.add(link)
            await session.flush()
    except IntegrityError:
        # Someone linked this group or this unit at the same moment.
        raise InvalidState("group.changed", f"chat {chat_id} or unit {unit.id}") from None
    return Linked(link, unit, already=False, moved_from=moved_from, replaced_title=replaced_title)


async def unlink_group(session: AsyncSession, telegram_id: int, chat_id: int) -> OrgUnit:
    """Unlink the group from its unit (a secretary of that unit); the unit it served.
    InvalidState "group.not_linked" when it serves none."""
    link = await link_of_chat(session, chat_id)
    if link is None:
        raise InvalidState("group.not_linked", str(chat_id))
    unit = await get_unit(session, link.org_unit_id)
    await _require_secretary(session, telegram_id, unit.id)
    await session.delete(link)
    await session.flush()
    return unit


async def group_removed(session: AsyncSession, chat_id: int) -> bool:
    """The bot is no longer in the group (removed, or the group deleted): forget its link.
    Whether there was one."""
    result = await session.execute(delete(GroupLink).where(GroupLink.chat_id == chat_id))
    return bool(result.rowcount)


async def group_renamed(session: AsyncSession, chat_id: int, title: str | None) -> bool:
    """The group has a new title (Telegram's new_chat_title): the link shows it. Whether
    the group is linked."""
    link = await link_of_chat(session, chat_id)
    if link is None or not _title(title):
        return False
    link.title = _title(title)
    await session.flush()
    return True


async def group_migrated(session: AsyncSession, old_chat_id: int, new_chat_id: int) -> bool:
    """The group became a supergroup with a new chat id: its link follows. Telegram tells
    it twice (migrate_to_chat_id in the old chat, migrate_from_chat_id in the new one), so
    the second time changes nothing. Whether the link moved."""
    link = await link_of_chat(session, old_chat_id)
    if link is None or old_chat_id == new_chat_id:
        return False
    if await link_of_chat(session, new_chat_id) is not None:
        # The new chat serves a unit already: the old chat's link is void.
        await session.delete(link)
        await session.flush()
        return False
    link.chat_id = new_chat_id
    await session.flush()
    return True
