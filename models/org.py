"""The organisation tree: committees, communities, branches and groups.

The tree of one district is small (tens to a few hundred units), so operations
that walk it load the id → parent map in one query and walk it in Python; this
works the same on SQLite and PostgreSQL. A session (one update's, one scan's unit of
work) reads the map, each unit and each unit's time zone once (`_memo`): the tree
changes only by an import, and a session that writes a unit or rolls back reads it
again.

Which kind may sit under which (checked on import):
- committee, community: at the top, or under a committee or a community;
- branch: at the top, or under a committee or a community (never under a branch or group);
- group: only under a branch.
"""

from __future__ import annotations

import enum
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Float, ForeignKey, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, stored_enum, utcnow
from models.db import SessionMemo
from models.errors import InvalidInput, NotFound


class UnitKind(enum.StrEnum):
    committee = "committee"
    # A residential community committee: a committee in the tree that also takes 双报到.
    community = "community"
    branch = "branch"
    group = "group"


# Kinds a unit of each kind may sit under; None means at the top of the tree.
ALLOWED_PARENTS: dict[UnitKind, set[UnitKind | None]] = {
    UnitKind.committee: {None, UnitKind.committee, UnitKind.community},
    UnitKind.community: {None, UnitKind.committee, UnitKind.community},
    UnitKind.branch: {None, UnitKind.committee, UnitKind.community},
    UnitKind.group: {UnitKind.branch},
}

# Where a member may report: to be managed (False), or 双报到 to a community (True).
REPORTABLE_KINDS: dict[bool, tuple[UnitKind, ...]] = {
    False: (UnitKind.branch, UnitKind.group),
    True: (UnitKind.community,),
}
INVITE_PAYLOAD_PREFIX = "r_"
CODE_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
NAME_MAX = 100
ADDRESS_MAX = 200


class OrgUnit(Base):
    __tablename__ = "org_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[UnitKind] = mapped_column(stored_enum(UnitKind, "unit_kind"))
    name_zh: Mapped[str] = mapped_column(String(NAME_MAX))
    name_en: Mapped[str | None] = mapped_column(String(NAME_MAX))
    # None: inherit from the parent, finally the configured bot.timezone.
    timezone: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(ADDRESS_MAX))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    invite_code: Mapped[str] = mapped_column(String(16), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<OrgUnit {self.id} {self.code} {self.kind}>"


@dataclass
class _TreeMemo:
    """What a session has read of the tree (see the module's docstring)."""

    parents: dict[int, int | None] | None = None
    # Strong references: the identity map holds units weakly, and a unit dropped by its
    # caller would be read again by the next get_unit.
    units: dict[int, OrgUnit] = field(default_factory=dict)
    zones: dict[tuple[int, str], ZoneInfo] = field(default_factory=dict)


_memo = SessionMemo("org_tree", _TreeMemo, OrgUnit)


def unit_display_name(unit: OrgUnit, language: str) -> str:
    """The English name for English speakers when there is one, else the Chinese name."""
    if language == "en" and unit.name_en:
        return unit.name_en
    return unit.name_zh


def invite_payload(unit: OrgUnit) -> str:
    """The /start deep-link payload of the unit's reporting point (1-64 of A-Za-z0-9_-)."""
    return INVITE_PAYLOAD_PREFIX + unit.invite_code


def _new_invite_code() -> str:
    # 8 random bytes → 11 characters of A-Za-z0-9_-: unguessable, and short in a QR code.
    return secrets.token_urlsafe(8)


async def _unused_invite_code(session: AsyncSession) -> str:
    while True:
        code = _new_invite_code()
        taken = await session.scalar(select(OrgUnit.id).where(OrgUnit.invite_code == code))
        if taken is None:
            return code


# --- reading the tree ------------------------------------------------------------


async def get_unit(session: AsyncSession, unit_id: int) -> OrgUnit:
    units = _memo(session).units
    unit = units.get(unit_id) or await session.get(OrgUnit, unit_id)
    if unit is None:
        raise NotFound("unit.not_found", f"no unit {unit_id}")
    units[unit_id] = unit
    return unit


async def unit_by_code(session: AsyncSession, code: str) -> OrgUnit:
    unit = await session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    if unit is None:
        raise NotFound("unit.not_found", f"no unit with code {code!r}")
    return unit


async def unit_by_invite(session: AsyncSession, invite_code: str) -> OrgUnit:
    """The unit of an invite code (without the "r_" prefix); NotFound after regeneration."""
    unit = await session.scalar(select(OrgUnit).where(OrgUnit.invite_code == invite_code))
    if unit is None:
        raise NotFound("unit.invite_not_found", "no unit has this invite code")
    return unit


async def regenerate_invite(session: AsyncSession, unit: OrgUnit) -> str:
    """Give the unit a new invite code; old QR codes and links stop working."""
    unit.invite_code = await _unused_invite_code(session)
    await session.flush()
    return unit.invite_code


async def parent_map(session: AsyncSession) -> dict[int, int | None]:
    """Every unit id → its parent id (the session's own: not to be changed)."""
    memo = _memo(session)
    if memo.parents is None:
        rows = await session.execute(select(OrgUnit.id, OrgUnit.parent_id))
        memo.parents = {unit_id: parent_id for unit_id, parent_id in rows}
    return memo.parents


def ancestor_ids_from(parents: dict[int, int | None], unit_id: int) -> list[int]:
    chain: list[int] = []
    current = parents.get(unit_id)
    while current is not None and current not in chain:  # `not in`: safe even on a cycle
        chain.append(current)
        current = parents.get(current)
    return chain


def descendant_ids_from(parents: dict[int, int | None], unit_id: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for child, parent in parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(child)
    found = {unit_id}
    stack = [unit_id]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


async def ancestor_ids(session: AsyncSession, unit_id: int) -> list[int]:
    """Ids above the unit, nearest first (the unit itself not included)."""
    return ancestor_ids_from(await parent_map(session), unit_id)


async def ancestors(session: AsyncSession, unit_id: int) -> list[OrgUnit]:
    """Units above the unit, nearest first (the unit itself not included)."""
    ids = await ancestor_ids(session, unit_id)
    if not ids:
        return []
    units = {u.id: u for u in await session.scalars(select(OrgUnit).where(OrgUnit.id.in_(ids)))}
    return [units[i] for i in ids]


async def descendant_ids(session: AsyncSession, unit_id: int) -> set[int]:
    """The unit's id and the ids of every unit below it."""
    return descendant_ids_from(await parent_map(session), unit_id)


async def list_tree(session: AsyncSession) -> list[tuple[int, OrgUnit]]:
    """Every unit as (depth, unit), parents before children, siblings in creation order."""
    units = list(await session.scalars(select(OrgUnit).order_by(OrgUnit.id)))
    children: dict[int | None, list[OrgUnit]] = {}
    for unit in units:
        children.setdefault(unit.parent_id, []).append(unit)
    result: list[tuple[int, OrgUnit]] = []
    stack: list[tuple[int, OrgUnit]] = [(0, u) for u in reversed(children.get(None, []))]
    while stack:
        depth, unit = stack.pop()
        result.append((depth, unit))
        stack.extend((depth + 1, c) for c in reversed(children.get(unit.id, [])))
    return result


async def unit_timezone(session: AsyncSession, unit: OrgUnit, default: str) -> ZoneInfo:
    """The unit's time zone: its own, else the nearest ancestor's, else `default`.

    Async (unlike a plain attribute) because it walks up the tree.
    """
    zones = _memo(session).zones
    zone = zones.get((unit.id, default))
    if zone is None:
        chain = [unit] if unit.timezone else [unit, *await ancestors(session, unit.id)]
        zone = zones[unit.id, default] = _first_zone((u.timezone for u in chain), default)
    return zone


async def zone_of_unit(session: AsyncSession, unit_id: int, default: str) -> ZoneInfo:
    """`unit_timezone` of the unit with this id."""
    zone = _memo(session).zones.get((unit_id, default))
    return zone or await unit_timezone(session, await get_unit(session, unit_id), default)


async def unit_zones(session: AsyncSession, default: str) -> dict[int, ZoneInfo]:
    """Every unit's time zone (as `unit_timezone`), from one query: for a scan over many."""
    rows = (await session.execute(select(OrgUnit.id, OrgUnit.parent_id, OrgUnit.timezone))).all()
    parents = {unit_id: parent_id for unit_id, parent_id, _ in rows}
    own = {unit_id: zone for unit_id, _, zone in rows}
    return {
        unit_id: _first_zone(
            (own[u] for u in [unit_id, *ancestor_ids_from(parents, unit_id)]), default
        )
        for unit_id in parents
    }


def _first_zone(names: Iterable[str | None], default: str) -> ZoneInfo:
    """The first zone set from a unit upwards, else the default."""
    return ZoneInfo(next((name for name in names if name), default))


# --- importing the tree from a TOML file -------------------------------------------


@dataclass(frozen=True)
class UnitSpec:
    """One validated [[unit]] table."""

    code: str
    kind: UnitKind
    name_zh: str
    name_en: str | None
    parent: str | None
    timezone: str | None
    address: str | None
    latitude: float | None
    longitude: float | None


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


UNIT_KEYS = frozenset(UnitSpec.__dataclass_fields__)


def _optional_text(table: dict[str, Any], code: str, key: str, limit: int) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(
            key, "import.not_text", subject=code, detail="expected a string", value=value
        )
    value = value.strip()
    if len(value) > limit:
        raise InvalidInput(key, "import.too_long", subject=code, detail=f"at most {limit}")
    return value or None


def _coordinate(table: dict[str, Any], code: str, key: str, limit: float) -> float | None:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or abs(value) > limit:
        raise InvalidInput(
            key,
            "import.bad_coordinate",
            subject=code,
            detail=f"expected -{limit}..{limit}",
            value=value,
        )
    return float(value)


def _parse_unit(table: Any, position: int) -> UnitSpec:
    if not isinstance(table, dict):
        raise InvalidInput("unit", "import.not_a_table", subject=f"#{position}")
    code = table.get("code")
    if not isinstance(code, str) or not CODE_PATTERN.fullmatch(code):
        raise InvalidInput(
            "code",
            "import.bad_code",
            subject=f"#{position}",
            detail="use 1-64 of a-z, 0-9 and -, e.g. wanda-plaza",
            value=code,
        )
    unknown = set(table) - UNIT_KEYS
    if unknown:
        raise InvalidInput(
            sorted(unknown)[0], "import.unknown_key", subject=code, detail="not a unit field"
        )
    try:
        kind = UnitKind(table.get("kind"))
    except ValueError:
        raise InvalidInput(
            "kind",
            "import.bad_kind",
            subject=code,
            detail=f"one of {', '.join(UnitKind)}",
            value=table.get("kind"),
        ) from None
    name_zh = _optional_text(table, code, "name_zh", NAME_MAX)
    if name_zh is None:
        raise InvalidInput("name_zh", "import.missing", subject=code, detail="required")
    timezone = _optional_text(table, code, "timezone", 64)
    if timezone is not None:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(
                "timezone",
                "import.bad_timezone",
                subject=code,
                detail="an IANA name such as Asia/Shanghai",
                value=timezone,
            ) from None
    return UnitSpec(
        code=code,
        kind=kind,
        name_zh=name_zh,
        name_en=_optional_text(table, code, "name_en", NAME_MAX),
        parent=_optional_text(table, code, "parent", 64),
        timezone=timezone,
        address=_optional_text(table, code, "address", ADDRESS_MAX),
        latitude=_coordinate(table, code, "latitude", 90),
        longitude=_coordinate(table, code, "longitude", 180),
    )


def _check_tree(specs: list[UnitSpec], existing: list[OrgUnit]) -> None:
    """Check parents, kinds and cycles on the tree as it will be after the import."""
    by_id = {unit.id: unit for unit in existing}
    # code → (kind, parent code), first as stored, then overridden by the file.
    tree: dict[str, tuple[UnitKind, str | None]] = {
        unit.code: (
            unit.kind,
            by_id[unit.parent_id].code if unit.parent_id is not None else None,
        )
        for unit in existing
    }
    in_file = {spec.code for spec in specs}
    for spec in specs:
        if spec.parent is not None and spec.parent not in in_file and spec.parent not in tree:
            raise InvalidInput(
                "parent", "import.unknown_parent", subject=spec.code, value=spec.parent
            )
        tree[spec.code] = (spec.kind, spec.parent)
    for code in sorted(tree, key=lambda c: (c not in in_file, c)):
        kind, parent = tree[code]
        parent_kind = tree[parent][0] if parent is not None else None
        if parent_kind not in ALLOWED_PARENTS[kind]:
            raise InvalidInput(
                "parent",
                "import.parent_kind",
                subject=code,
                detail=f"a {kind} cannot sit under a {parent_kind or 'nothing (top)'}",
            )
        seen = {code}
        while parent is not None:
            if parent in seen:  # `parent` is on the cycle; name it, not a unit below it
                raise InvalidInput("parent", "import.cycle", subject=parent, value=tree[parent][1])
            seen.add(parent)
            parent = tree[parent][1]


def _parent_first(specs: list[UnitSpec]) -> list[UnitSpec]:
    by_code = {spec.code: spec for spec in specs}
    ordered: list[UnitSpec] = []
    placed: set[str] = set()

    def place(spec: UnitSpec) -> None:
        if spec.code in placed:
            return
        if spec.parent in by_code:
            place(by_code[spec.parent])
        placed.add(spec.code)
        ordered.append(spec)

    for spec in specs:
        place(spec)
    return ordered


async def import_org(session: AsyncSession, data: dict[str, Any]) -> ImportResult:
    """Create or update units from a parsed org file (`[[unit]]` tables), matched by code.

    Everything is validated before anything is written, so a bad file changes
    nothing. Fields left out of a table are cleared; units missing from the file
    are kept as they are.
    """
    tables = data.get("unit")
    if not isinstance(tables, list) or not tables:
        raise InvalidInput("unit", "import.no_units", detail="expected [[unit]] tables")
    unknown_sections = set(data) - {"unit"}
    if unknown_sections:
        raise InvalidInput(sorted(unknown_sections)[0], "import.unknown_key")
    specs: list[UnitSpec] = []
    seen: set[str] = set()
    for position, table in enumerate(tables, start=1):
        spec = _parse_unit(table, position)
        if spec.code in seen:
            raise InvalidInput("code", "import.duplicate_code", subject=spec.code)
        seen.add(spec.code)
        specs.append(spec)
    existing = list(await session.scalars(select(OrgUnit)))
    _check_tree(specs, existing)

    by_code = {unit.code: unit for unit in existing}
    result = ImportResult()
    for spec in _parent_first(specs):
        values: dict[str, Any] = {
            "kind": spec.kind,
            "name_zh": spec.name_zh,
            "name_en": spec.name_en,
            "parent_id": by_code[spec.parent].id if spec.parent is not None else None,
            "timezone": spec.timezone,
            "address": spec.address,
            "latitude": spec.latitude,
            "longitude": spec.longitude,
        }
        unit = by_code.get(spec.code)
        if unit is None:
            unit = OrgUnit(code=spec.code, invite_code=await _unused_invite_code(session), **values)
            session.add(unit)
            await session.flush()  # its id is the parent_id of the units that follow
            by_code[spec.code] = unit
            result.created.append(spec.code)
        elif any(getattr(unit, key) != value for key, value in values.items()):
            for key, value in values.items():
                setattr(unit, key, value)
            result.updated.append(spec.code)
        else:
            result.unchanged.append(spec.code)
    await session.flush()
    return result
