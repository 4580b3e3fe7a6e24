"""Group chats linked to units: who may link and unlink, moving and replacing a link, and
what Telegram tells of a group (the bot removed, the group upgraded to a supergroup)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

import models.notices.groups
from models.errors import InvalidInput, InvalidState, PermissionDenied
from models.notices import GroupLink
from models.notices.groups import (
    LinkedElsewhere,
    NotSecretary,
    group_links_of,
    group_migrated,
    group_removed,
    group_renamed,
    link_group,
    link_of_chat,
    linked_group,
    units_to_link,
    unlink_group,
)
from models.org import OrgUnit
from models.permissions import Role, grant_role
from tests.domain.conftest import NOW, make_member

ADMIN, SECRETARY, ANCESTOR_SECRETARY, HUADUHUI_SECRETARY, ORGANIZER, MEMBER, NOBODY = (
    2001,
    2002,
    2003,
    2004,
    2005,
    2006,
    2007,
)
GROUP, OTHER_GROUP, SUPERGROUP = -4000000001, -4000000002, -1000000000001


@pytest.fixture
async def people(session: AsyncSession, units: dict[str, OrgUnit]) -> None:
    await grant_role(session, ADMIN, Role.admin, None, granted_by=None)
    await grant_role(session, SECRETARY, Role.secretary, units["wanda-plaza"].id, ADMIN)
    await grant_role(session, ANCESTOR_SECRETARY, Role.secretary, units["lehua-street"].id, ADMIN)
    await grant_role(session, HUADUHUI_SECRETARY, Role.secretary, units["huaduhui"].id, ADMIN)
    await grant_role(session, ORGANIZER, Role.organizer, units["wanda-plaza"].id, ADMIN)
    await make_member(session, MEMBER)


async def links(session: AsyncSession) -> list[tuple[int, int, str]]:
    rows = await session.execute(
        select(GroupLink.org_unit_id, GroupLink.chat_id, GroupLink.title).order_by(GroupLink.id)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


pytestmark = pytest.mark.usefixtures("people")


async def test_a_secretary_links_their_branchs_group(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    wanda = units["wanda-plaza"]
    linked = await link_group(session, SECRETARY, GROUP, "万达党员群", wanda.id, NOW)
    assert linked.unit.id == wanda.id and not linked.already
    assert linked.moved_from is None and linked.replaced_title is None
    found = await linked_group(session, wanda.id)
    assert found is not None and found is linked.link
    assert (found.chat_id, found.title, found.linked_by, found.linked_at) == (
        GROUP,
        "万达党员群",
        SECRETARY,
        NOW,
    )
    assert await link_of_chat(session, GROUP) is found


@pytest.mark.parametrize("who", [ORGANIZER, MEMBER, NOBODY, HUADUHUI_SECRETARY])
async def test_only_a_secretary_of_the_unit_may_link_it(
    session: AsyncSession, units: dict[str, OrgUnit], who: int
) -> None:
    """Organizers hold broadcast but not manage_members; a secretary elsewhere holds
    nothing here."""
    with pytest.raises(NotSecretary) as refused:
        await link_group(session, who, GROUP, "万达党员群", units["wanda-plaza"].id, NOW)
    assert refused.value.code == "group.not_secretary"
    assert isinstance(refused.value, PermissionDenied)
    assert await links(session) == []


@pytest.mark.parametrize("who", [ANCESTOR_SECRETARY, ADMIN])
async def test_a_secretary_above_and_an_admin_may_link_it(
    session: AsyncSession, units: dict[str, OrgUnit], who: int
) -> None:
    wanda = units["wanda-plaza"].id
    await link_group(session, who, GROUP, "万达党员群", wanda, NOW)
    assert await links(session) == [(wanda, GROUP, "万达党员群")]


async def test_linking_again_keeps_the_link_and_takes_the_new_title(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    wanda = units["wanda-plaza"].id
    first = await link_group(session, SECRETARY, GROUP, "万达党员群", wanda, NOW)
    again = await link_group(session, ADMIN, GROUP, "万达广场党员群", wanda, NOW + timedelta(1))
    assert again.already and again.link.id == first.link.id
    assert again.link.linked_by == SECRETARY and again.link.linked_at == NOW
    assert await links(session) == [(wanda, GROUP, "万达广场党员群")]


async def test_a_units_earlier_group_is_replaced(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    wanda = units["wanda-plaza"].id
    await link_group(session, SECRETARY, GROUP, "旧群", wanda, NOW)
    linked = await link_group(session, SECRETARY, OTHER_GROUP, "新群", wanda, NOW)
    assert linked.replaced_title == "旧群" and linked.moved_from is None
    assert await links(session) == [(wanda, OTHER_GROUP, "新群")]
    assert await link_of_chat(session, GROUP) is None


async def test_a_group_of_another_unit_moves_only_for_its_secretary_too(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    wanda, huaduhui = units["wanda-plaza"], units["huaduhui"]
    await link_group(session, HUADUHUI_SECRETARY, GROUP, "华都汇群", huaduhui.id, NOW)
    with pytest.raises(LinkedElsewhere) as refused:
        await link_group(session, SECRETARY, GROUP, "华都汇群", wanda.id, NOW)
    assert refused.value.code == "group.linked_elsewhere"
    assert refused.value.unit_names == {"zh": huaduhui.name_zh, "en": huaduhui.name_en}
    assert await links(session) == [(huaduhui.id, GROUP, "华都汇群")]
    # The secretary of both (of the committee above them) may move it.
    moved = await link_group(session, ANCESTOR_SECRETARY, GROUP, "华都汇群", wanda.id, NOW)
    assert moved.moved_from is not None and moved.moved_from.id == huaduhui.id
    assert await links(session) == [(wanda.id, GROUP, "华都汇群")]
    assert await linked_group(session, huaduhui.id) is None


async def test_moving_a_group_to_a_unit_with_a_group_replaces_that_one(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    wanda, huaduhui = units["wanda-plaza"].id, units["huaduhui"].id
    await link_group(session, ADMIN, GROUP, "华都汇群", huaduhui, NOW)
    await link_group(session, ADMIN, OTHER_GROUP, "万达群", wanda, NOW)
    moved = await link_group(session, ADMIN, GROUP, "华都汇群", wanda, NOW)
    assert moved.moved_from is not None and moved.moved_from.id == huaduhui
    assert moved.replaced_title == "万达群"
    assert await links(session) == [(wanda, GROUP, "华都汇群")]


async def test_only_groups_are_linked_and_titles_are_kept_to_the_column(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    wanda = units["wanda-plaza"].id
    with pytest.raises(InvalidInput) as refused:
        await link_group(session, SECRETARY, SECRETARY, "a private chat", wanda, NOW)
    assert refused.value.reason == "group.not_a_group"
    linked = await link_group(session, SECRETARY, GROUP, "  万达\n党员群 " + "群" * 300, wanda, NOW)
    assert linked.link.title.startswith("万达 党员群 群") and len(linked.link.title) == 255


async def test_a_link_raced_by_another_is_refused_as_changed(
    session: AsyncSession, units: dict[str, OrgUnit], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another secretary linked the unit at the same moment: their row is not seen when we
    look, and the unique constraint refuses ours."""
    wanda = units["wanda-plaza"].id
    await link_group(session, SECRETARY, GROUP, "万达群", wanda, NOW)

    async def unseen(session: AsyncSession, unit_id: int) -> None:
        return None

    monkeypatch.setattr(models.notices.groups, "linked_group", unseen)
    with pytest.raises(InvalidState) as refused:
        await link_group(session, SECRETARY, OTHER_GROUP, "另一个群", wanda, NOW)
    assert refused.value.code == "group.changed"
    assert await links(session) == [(wanda, GROUP, "万达群")]  # the session goes on


async def test_a_secretary_unlinks_their_units_group(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    wanda = units["wanda-plaza"]
    await link_group(session, SECRETARY, GROUP, "万达群", wanda.id, NOW)
    for who in (ORGANIZER, HUADUHUI_SECRETARY, MEMBER):
        with pytest.raises(NotSecretary):
            await unlink_group(session, who, GROUP)
    assert len(await links(session)) == 1
    assert (await unlink_group(session, SECRETARY, GROUP)).id == wanda.id
    assert await links(session) == []
    with pytest.raises(InvalidState) as refused:
        await unlink_group(session, SECRETARY, GROUP)
    assert refused.value.code == "group.not_linked"


async def test_the_bot_removed_forgets_the_link(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    huaduhui = units["huaduhui"].id
    await link_group(session, SECRETARY, GROUP, "万达群", units["wanda-plaza"].id, NOW)
    await link_group(session, HUADUHUI_SECRETARY, OTHER_GROUP, "华都汇群", huaduhui, NOW)
    assert await group_removed(session, GROUP)
    assert await links(session) == [(huaduhui, OTHER_GROUP, "华都汇群")]
    assert not await group_removed(session, GROUP)  # told twice, or of a group never linked


async def test_a_renamed_group_keeps_its_link_under_the_new_title(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    wanda = units["wanda-plaza"].id
    assert not await group_renamed(session, GROUP, "万达党员群")  # not linked: nothing kept
    await link_group(session, SECRETARY, GROUP, "万达群", wanda, NOW)
    assert await group_renamed(session, GROUP, " 万达广场\n党员群 ")
    assert await links(session) == [(wanda, GROUP, "万达广场 党员群")]
    assert not await group_renamed(session, GROUP, "  ")  # no title: the old one stays
    assert await links(session) == [(wanda, GROUP, "万达广场 党员群")]


async def test_the_link_follows_a_group_upgraded_to_a_supergroup(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    wanda = units["wanda-plaza"].id
    await link_group(session, SECRETARY, GROUP, "万达群", wanda, NOW)
    assert await group_migrated(session, GROUP, SUPERGROUP)
    assert await links(session) == [(wanda, SUPERGROUP, "万达群")]
    # Telegram tells it in the new chat as well: nothing more changes.
    assert not await group_migrated(session, GROUP, SUPERGROUP)
    assert not await group_migrated(session, -4000000099, -1000000000099)  # never linked
    assert await links(session) == [(wanda, SUPERGROUP, "万达群")]


async def test_an_upgrade_onto_a_linked_chat_drops_the_old_link(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    wanda, huaduhui = units["wanda-plaza"].id, units["huaduhui"].id
    await link_group(session, ADMIN, GROUP, "万达群", wanda, NOW)
    await link_group(session, ADMIN, SUPERGROUP, "华都汇群", huaduhui, NOW)
    assert not await group_migrated(session, GROUP, SUPERGROUP)
    assert await links(session) == [(huaduhui, SUPERGROUP, "华都汇群")]


async def test_the_units_one_may_link(session: AsyncSession, units: dict[str, OrgUnit]) -> None:
    assert [u.code for u in await units_to_link(session, SECRETARY)] == ["wanda-plaza"]
    below_lehua = [u.code for u in await units_to_link(session, ANCESTOR_SECRETARY)]
    assert below_lehua[0] == "lehua-street"
    assert {"wanda-plaza", "huaduhui", "haibinbei-community"} <= set(below_lehua)
    assert "tech-incubator" not in below_lehua and "zhanjiang-edz" not in below_lehua
    total = await session.scalar(select(func.count()).select_from(OrgUnit))
    assert len(await units_to_link(session, ADMIN)) == total
    for who in (ORGANIZER, MEMBER, NOBODY):
        with pytest.raises(NotSecretary):
            await units_to_link(session, who)


async def test_each_unit_with_its_group(session: AsyncSession, units: dict[str, OrgUnit]) -> None:
    huaduhui, wanda = units["huaduhui"].id, units["wanda-plaza"].id
    await link_group(session, ADMIN, GROUP, "华都汇群", huaduhui, NOW)
    await link_group(session, ADMIN, OTHER_GROUP, "外面的群", units["tech-incubator"].id, NOW)
    rows = {unit.id: link for unit, link in await group_links_of(session, ANCESTOR_SECRETARY)}
    assert rows[huaduhui] is not None and rows[huaduhui].chat_id == GROUP
    assert rows[wanda] is None
    assert units["tech-incubator"].id not in rows  # not theirs, though linked
    with pytest.raises(NotSecretary):
        await group_links_of(session, ORGANIZER)
