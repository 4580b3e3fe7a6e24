"""The org tree: import from TOML, reading the tree, invite codes, time zones."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.errors import InvalidInput, NotFound
from models.org import (
    OrgUnit,
    UnitKind,
    ancestors,
    descendant_ids,
    get_unit,
    import_org,
    invite_payload,
    list_tree,
    regenerate_invite,
    unit_by_code,
    unit_by_invite,
    unit_display_name,
    unit_timezone,
)
from tests.conftest import Database
from tests.domain.conftest import example_org
from tests.domain.test_scans import statements

EXAMPLE_CODES = [
    "zhanjiang-edz",
    "lehua-street",
    "haibinbei-community",
    "wanda-plaza",
    "huaduhui",
    "lejin-community",
    "huanlejia-building",
    "tech-incubator",
    "quanzhuang-street",
    "longchao-community",
]


async def count_units(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(OrgUnit)) or 0


async def test_import_creates_the_example_tree_in_tree_order(session: AsyncSession) -> None:
    result = await import_org(session, example_org())
    assert result.created == EXAMPLE_CODES
    assert result.updated == [] and result.unchanged == []
    tree = [(depth, unit.code) for depth, unit in await list_tree(session)]
    assert tree == [
        (0, "zhanjiang-edz"),
        (1, "lehua-street"),
        (2, "haibinbei-community"),
        (3, "wanda-plaza"),
        (3, "huaduhui"),
        (2, "lejin-community"),
        (1, "huanlejia-building"),
        (2, "tech-incubator"),
        (1, "quanzhuang-street"),
        (2, "longchao-community"),
    ]
    wanda = await unit_by_code(session, "wanda-plaza")
    assert wanda.kind is UnitKind.branch
    assert wanda.name_zh == "湛江万达广场商圈党支部"
    assert wanda.latitude is not None and 21.0 < wanda.latitude < 21.5
    assert (await unit_by_code(session, "haibinbei-community")).kind is UnitKind.community
    assert (await unit_by_code(session, "lejin-community")).kind is UnitKind.community


async def test_reimport_updates_by_code_and_never_duplicates(session: AsyncSession) -> None:
    await import_org(session, example_org())
    wanda = await unit_by_code(session, "wanda-plaza")
    invite, unit_id = wanda.invite_code, wanda.id

    again = await import_org(session, example_org())
    assert again.created == [] and again.updated == []
    assert again.unchanged == EXAMPLE_CODES
    assert await count_units(session) == len(EXAMPLE_CODES)

    data = example_org()
    data["unit"][3]["name_en"] = "Wanda Plaza Branch"
    data["unit"][3]["parent"] = "lehua-street"  # moved up one level
    del data["unit"][3]["address"]  # a field left out is cleared
    data["unit"].append(
        {"code": "wanda-group-1", "kind": "group", "parent": "wanda-plaza", "name_zh": "第一党小组"}
    )
    changed = await import_org(session, data)
    assert changed.updated == ["wanda-plaza"]
    assert changed.created == ["wanda-group-1"]
    assert await count_units(session) == len(EXAMPLE_CODES) + 1
    wanda = await unit_by_code(session, "wanda-plaza")
    assert wanda.id == unit_id and wanda.invite_code == invite  # same row, same QR code
    assert wanda.name_en == "Wanda Plaza Branch"
    assert wanda.parent_id == (await unit_by_code(session, "lehua-street")).id
    assert wanda.address is None


async def test_import_accepts_children_listed_before_their_parents(session: AsyncSession) -> None:
    data = example_org()
    data["unit"].reverse()
    result = await import_org(session, data)
    assert sorted(result.created) == sorted(EXAMPLE_CODES)
    tech = await unit_by_code(session, "tech-incubator")
    assert tech.parent_id == (await unit_by_code(session, "huanlejia-building")).id


def _unit(data: dict[str, Any], code: str) -> dict[str, Any]:
    return next(u for u in data["unit"] if u["code"] == code)


def _set(code: str, key: str, value: Any):  # type: ignore[no-untyped-def]
    def change(data: dict[str, Any]) -> None:
        _unit(data, code)[key] = value

    return change


def _append(unit: dict[str, Any]):  # type: ignore[no-untyped-def]
    return lambda data: data["unit"].append(unit)


def _branch_under_group(data: dict[str, Any]) -> None:
    data["unit"].append({"code": "g1", "kind": "group", "parent": "wanda-plaza", "name_zh": "小组"})
    data["unit"].append({"code": "b2", "kind": "branch", "parent": "g1", "name_zh": "支部"})


BAD_FILES = [
    (
        "unknown parent",
        _set("huaduhui", "parent", "nowhere"),
        "huaduhui",
        "parent",
        "import.unknown_parent",
    ),
    ("bad kind", _set("huaduhui", "kind", "cell"), "huaduhui", "kind", "import.bad_kind"),
    (
        "cycle",
        _set("zhanjiang-edz", "parent", "lehua-street"),
        "lehua-street",
        "parent",
        "import.cycle",
    ),
    (
        "bad timezone",
        _set("wanda-plaza", "timezone", "Asia/Zhanjiang"),
        "wanda-plaza",
        "timezone",
        "import.bad_timezone",
    ),
    ("branch under a group", _branch_under_group, "b2", "parent", "import.parent_kind"),
    (
        "duplicate code",
        _append({"code": "huaduhui", "kind": "branch", "name_zh": "重复"}),
        "huaduhui",
        "code",
        "import.duplicate_code",
    ),
    ("bad code", _set("huaduhui", "code", "Hua Du Hui"), "#5", "code", "import.bad_code"),
    ("missing name", _set("huaduhui", "name_zh", "  "), "huaduhui", "name_zh", "import.missing"),
    (
        "latitude out of range",
        _set("huaduhui", "latitude", 121.2),
        "huaduhui",
        "latitude",
        "import.bad_coordinate",
    ),
    ("unknown key", _set("huaduhui", "adress", "x"), "huaduhui", "adress", "import.unknown_key"),
    (
        "group at the top",
        _append({"code": "g0", "kind": "group", "name_zh": "小组"}),
        "g0",
        "parent",
        "import.parent_kind",
    ),
]


@pytest.mark.parametrize(
    ("change", "subject", "field", "reason"),
    [pytest.param(*case[1:], id=case[0]) for case in BAD_FILES],
)
async def test_a_bad_file_is_refused_and_changes_nothing(
    session: AsyncSession, change: Any, subject: str, field: str, reason: str
) -> None:
    await import_org(session, example_org())
    before = {u.code: (u.parent_id, u.name_zh, u.timezone) for _, u in await list_tree(session)}
    data = copy.deepcopy(example_org())
    _unit(data, "huaduhui")["name_zh"] = "改过的名字"  # a valid change that must not land
    change(data)
    with pytest.raises(InvalidInput) as caught:
        await import_org(session, data)
    assert caught.value.code == reason
    assert caught.value.field == field
    assert caught.value.subject == subject
    after = {u.code: (u.parent_id, u.name_zh, u.timezone) for _, u in await list_tree(session)}
    assert after == before


async def test_a_file_without_units_is_refused(session: AsyncSession) -> None:
    with pytest.raises(InvalidInput) as caught:
        await import_org(session, {"units": []})
    assert caught.value.code == "import.no_units"
    assert await count_units(session) == 0


async def test_changing_a_kind_may_not_strand_stored_children(session: AsyncSession) -> None:
    await import_org(session, example_org())
    # A group under a branch is fine by itself, but tech-incubator, stored under
    # huanlejia-building and not in this file, would end up under a group.
    data = {
        "unit": [
            {"code": "huanlejia-building", "kind": "group", "name_zh": "x", "parent": "huaduhui"}
        ]
    }
    with pytest.raises(InvalidInput) as caught:
        await import_org(session, data)
    assert (caught.value.code, caught.value.subject) == ("import.parent_kind", "tech-incubator")
    assert (await unit_by_code(session, "huanlejia-building")).kind is UnitKind.committee


async def test_descendants_and_ancestors(session: AsyncSession, units: dict[str, OrgUnit]) -> None:
    ids = {code: unit.id for code, unit in units.items()}
    assert await descendant_ids(session, ids["lehua-street"]) == {
        ids["lehua-street"],
        ids["haibinbei-community"],
        ids["wanda-plaza"],
        ids["huaduhui"],
        ids["lejin-community"],
    }
    assert await descendant_ids(session, ids["wanda-plaza"]) == {ids["wanda-plaza"]}
    chain = [u.code for u in await ancestors(session, ids["wanda-plaza"])]
    assert chain == ["haibinbei-community", "lehua-street", "zhanjiang-edz"]
    assert await ancestors(session, ids["zhanjiang-edz"]) == []


async def test_get_unit_and_lookups(session: AsyncSession, units: dict[str, OrgUnit]) -> None:
    wanda = units["wanda-plaza"]
    assert (await get_unit(session, wanda.id)).code == "wanda-plaza"
    with pytest.raises(NotFound) as caught:
        await get_unit(session, 999_999)
    assert caught.value.code == "unit.not_found"
    with pytest.raises(NotFound):
        await unit_by_code(session, "no-such-unit")


async def test_invite_codes_fit_a_deep_link_and_can_be_regenerated(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    codes = {unit.invite_code for unit in units.values()}
    assert len(codes) == len(units)
    for unit in units.values():
        assert re.fullmatch(r"[A-Za-z0-9_-]{10,12}", unit.invite_code)
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", invite_payload(unit))
        assert invite_payload(unit) == "r_" + unit.invite_code
    wanda = units["wanda-plaza"]
    old = wanda.invite_code
    assert (await unit_by_invite(session, old)).id == wanda.id
    new = await regenerate_invite(session, wanda)
    assert new != old and re.fullmatch(r"[A-Za-z0-9_-]{10,12}", new)
    assert (await unit_by_invite(session, new)).id == wanda.id
    with pytest.raises(NotFound) as caught:
        await unit_by_invite(session, old)
    assert caught.value.code == "unit.invite_not_found"


async def test_display_name_and_inherited_timezone(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    wanda = units["wanda-plaza"]
    assert unit_display_name(wanda, "en") == "Zhanjiang Wanda Plaza Commercial District Branch"
    assert unit_display_name(wanda, "zh") == "湛江万达广场商圈党支部"
    wanda.name_en = None
    assert unit_display_name(wanda, "en") == "湛江万达广场商圈党支部"

    assert str(await unit_timezone(session, wanda, "UTC")) == "Asia/Shanghai"
    wanda.timezone = None
    units["haibinbei-community"].timezone = None
    units["lehua-street"].timezone = "Asia/Urumqi"
    await session.flush()
    assert str(await unit_timezone(session, wanda, "UTC")) == "Asia/Urumqi"
    units["lehua-street"].timezone = None
    units["zhanjiang-edz"].timezone = None
    await session.flush()
    assert str(await unit_timezone(session, wanda, "Europe/Berlin")) == "Europe/Berlin"


async def test_a_session_reads_the_tree_each_unit_and_each_zone_once(
    database: Database, session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    """An update's session asks for the same unit and zone many times (a list of
    activities, a card): the database is asked once, and again after a unit changed."""
    wanda_id = units["wanda-plaza"].id
    units["wanda-plaza"].timezone = None  # inherited: the zone walks up the tree
    await session.flush()
    units.clear()  # only the session may keep the units now
    with statements(database) as first:
        wanda = await get_unit(session, wanda_id)
        zone = await unit_timezone(session, wanda, "UTC")
        tree = await descendant_ids(session, wanda_id)
    with statements(database) as again:
        for _ in range(3):
            assert await get_unit(session, wanda_id) is wanda
            assert await unit_timezone(session, wanda, "UTC") == zone
            assert await descendant_ids(session, wanda_id) == tree
    assert first and again == []
    assert str(zone) == "Asia/Shanghai"  # haibinbei-community's, above it

    parent = await unit_by_code(session, "haibinbei-community")
    parent.timezone = "Asia/Urumqi"
    await session.flush()  # a unit written: read again
    assert str(await unit_timezone(session, wanda, "UTC")) == "Asia/Urumqi"


async def test_a_session_reads_the_tree_again_after_an_update_statement(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    """An ORM UPDATE of units (not a flush) also makes the session read the tree again."""
    wanda = units["wanda-plaza"]
    wanda.timezone = None
    await session.flush()
    assert str(await unit_timezone(session, wanda, "UTC")) == "Asia/Shanghai"
    await session.execute(
        update(OrgUnit).where(OrgUnit.code == "haibinbei-community").values(timezone="Asia/Urumqi")
    )
    assert str(await unit_timezone(session, wanda, "UTC")) == "Asia/Urumqi"
