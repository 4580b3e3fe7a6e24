"""Members, their profile, reporting to a branch (报到), rosters, and their own data.

A report is a membership in state `pending`; the secretary approves it (纳入管理,
`active`) or rejects it. Leaving, being removed and being transferred out end
an active membership (`left`, `transferred`). Rows are never deleted, so the
branch's history and statistics survive; forgetting a member erases who they
were, not that someone was there.

Rules kept by partial unique indexes (so a double press or a race cannot break
them) and checked first for a clear error:
- at most one pending-or-active membership per member and unit;
- at most one pending-or-active primary membership per member: moving to
  another branch means leaving (or being transferred out) and reporting again.
A community membership (双报到) may stand beside the primary one.
"""

from __future__ import annotations

import enum
import math
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, delete, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from models.account import Account
from models.base import Base, TelegramId, utcnow
from models.errors import InvalidInput, InvalidState, NotFound, PrimaryElsewhere
from models.org import OrgUnit, UnitKind, descendant_ids, get_unit, stored_enum, unit_display_name
from models.permissions import Permission, RoleGrant, managed_unit_ids, require


class MemberType(enum.StrEnum):
    regular = "regular"
    # 流动党员: the membership record is held by a home branch elsewhere.
    floating = "floating"
    # Has not declared membership anywhere yet (亮明身份).
    undeclared = "undeclared"


class MembershipKind(enum.StrEnum):
    primary = "primary"  # managed by a branch (or a group in it)
    community = "community"  # 双报到 to the residential community


class MembershipStatus(enum.StrEnum):
    pending = "pending"
    active = "active"
    rejected = "rejected"
    left = "left"
    transferred = "transferred"


class Via(enum.StrEnum):
    invite = "invite"  # the unit's reporting-point link or QR code
    tree = "tree"  # picked from the tree in the bot
    secretary = "secretary"  # entered by a secretary


class RosterFilter(enum.StrEnum):
    all = "all"
    floating = "floating"
    regular = "regular"
    undeclared = "undeclared"


OPEN_STATUSES = (MembershipStatus.pending, MembershipStatus.active)
_OPEN_SQL = "status IN ('pending', 'active')"
_OPEN_PRIMARY_SQL = f"kind = 'primary' AND {_OPEN_SQL}"

NAME_MAX = 50
# Besides letters and combining marks, names may hold spaces and the marks used
# in transliterated and Western names: 阿依古丽·买买提, Jean-Luc, O'Brien, J. Smith.
NAME_PUNCTUATION = frozenset(" ·•・.-'’")
PHONE_SEPARATORS = frozenset(" -().")
PHONE_DIGITS_MIN, PHONE_DIGITS_MAX = 6, 15
HOME_BRANCH_MAX = 100
WORKPLACE_MAX = 100
REASON_MAX = 200


class Member(Base):
    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    # NULL once the member is forgotten.
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    consent_at: Mapped[datetime | None]
    real_name: Mapped[str | None] = mapped_column(String(NAME_MAX))
    phone: Mapped[str | None] = mapped_column(String(16))
    member_type: Mapped[MemberType | None] = mapped_column(stored_enum(MemberType, "member_type"))
    home_branch: Mapped[str | None] = mapped_column(String(HOME_BRANCH_MAX))
    workplace: Mapped[str | None] = mapped_column(String(WORKPLACE_MAX))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    forgotten_at: Mapped[datetime | None]
    # Set when Telegram says the user blocked the bot.
    unreachable_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<Member {self.id} tg={self.telegram_id}>"


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (
        Index(
            "uq_memberships_open_per_unit",
            "member_id",
            "org_unit_id",
            unique=True,
            sqlite_where=text(_OPEN_SQL),
            postgresql_where=text(_OPEN_SQL),
        ),
        Index(
            "uq_memberships_open_primary",
            "member_id",
            unique=True,
            sqlite_where=text(_OPEN_PRIMARY_SQL),
            postgresql_where=text(_OPEN_PRIMARY_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    kind: Mapped[MembershipKind] = mapped_column(stored_enum(MembershipKind, "membership_kind"))
    status: Mapped[MembershipStatus] = mapped_column(
        stored_enum(MembershipStatus, "membership_status")
    )
    via: Mapped[Via] = mapped_column(stored_enum(Via, "membership_via"))
    requested_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[TelegramId | None]
    reject_reason: Mapped[str | None] = mapped_column(String(REASON_MAX))
    ended_at: Mapped[datetime | None]
    # Who removed or transferred the member; NULL when they left on their own.
    ended_by: Mapped[TelegramId | None]

    # Loaded explicitly (selectinload) or from the identity map, never lazily.
    member: Mapped[Member] = relationship(lazy="raise_on_sql")
    unit: Mapped[OrgUnit] = relationship(lazy="raise_on_sql")

    def __repr__(self) -> str:
        return f"<Membership {self.id} m={self.member_id} u={self.org_unit_id} {self.status}>"


# --- profile -----------------------------------------------------------------------


async def get_member(session: AsyncSession, telegram_id: int) -> Member | None:
    """The member record of a Telegram user; None before they started a profile."""
    return await session.scalar(select(Member).where(Member.telegram_id == telegram_id))


async def start_profile(session: AsyncSession, telegram_id: int, now: datetime) -> Member:
    """The member record of this user, created (without consent) on first use."""
    member = await get_member(session, telegram_id)
    if member is None:
        member = Member(telegram_id=telegram_id, created_at=now, updated_at=now)
        session.add(member)
        await session.flush()
    return member


async def give_consent(session: AsyncSession, member: Member, now: datetime) -> None:
    """Record consent to store the profile; giving it again keeps the first time."""
    _check_not_forgotten(member)
    if member.consent_at is None:
        member.consent_at = now
        member.updated_at = now
    await session.flush()


def _check_not_forgotten(member: Member) -> None:
    if member.forgotten_at is not None:
        raise InvalidState("member.forgotten")


def _has_control(value: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs", "Zl", "Zp") for ch in value)


def clean_real_name(value: str) -> str:
    """The name as stored, or InvalidInput name.empty / name.too_long / name.invalid.

    A real name is letters of any script (mixed Chinese and Latin is fine) with
    single spaces and the punctuation in NAME_PUNCTUATION; digits, emoji and
    control characters are refused.
    """
    name = unicodedata.normalize("NFC", value).strip()
    if not name:
        raise InvalidInput("real_name", "name.empty")
    if len(name) > NAME_MAX:
        raise InvalidInput("real_name", "name.too_long", detail=f"at most {NAME_MAX}")
    if _has_control(name):
        raise InvalidInput("real_name", "name.invalid", detail="control character")
    name = " ".join(name.split())
    if not any(ch.isalpha() for ch in name) or not all(
        ch.isalpha() or unicodedata.category(ch).startswith("M") or ch in NAME_PUNCTUATION
        for ch in name
    ):
        raise InvalidInput("real_name", "name.invalid", detail="letters only")
    return name


def set_real_name(member: Member, value: str) -> str:
    _check_not_forgotten(member)
    member.real_name = clean_real_name(value)
    return member.real_name


def clean_phone(value: str) -> str:
    """Normalise a phone number: "+86 138-0013-8000" → "+8613800138000".

    Keeps a leading + (a leading 00 becomes +) and 6-15 digits. Full-width
    digits (from Chinese input methods) are accepted. Numbers without a country
    code stay without one: we do not guess it.
    """
    raw = unicodedata.normalize("NFKC", value).strip()
    if not raw:
        raise InvalidInput("phone", "phone.empty")
    international = raw.startswith("+")
    body = raw.removeprefix("+")
    if not all(ch in PHONE_SEPARATORS or ch in "0123456789" for ch in body):
        raise InvalidInput("phone", "phone.invalid", detail="digits only")
    digits = "".join(ch for ch in body if ch in "0123456789")
    if not international and digits.startswith("00"):
        international, digits = True, digits[2:]
    if not PHONE_DIGITS_MIN <= len(digits) <= PHONE_DIGITS_MAX:
        raise InvalidInput(
            "phone", "phone.invalid", detail=f"{PHONE_DIGITS_MIN}-{PHONE_DIGITS_MAX} digits"
        )
    return ("+" if international else "") + digits


def set_phone(member: Member, value: str) -> str:
    _check_not_forgotten(member)
    member.phone = clean_phone(value)
    return member.phone


def _clean_text(value: str | None, field: str, limit: int) -> str | None:
    text_value = " ".join((value or "").split())
    if len(text_value) > limit:
        raise InvalidInput(field, f"{field}.too_long", detail=f"at most {limit}")
    if _has_control(text_value):
        raise InvalidInput(field, f"{field}.invalid", detail="control character")
    return text_value or None


def set_member_type(
    member: Member, member_type: MemberType | str, home_branch: str | None = None
) -> None:
    """Set the type; a floating member must name the home branch that holds their record."""
    _check_not_forgotten(member)
    try:
        member_type = MemberType(member_type)
    except ValueError:
        raise InvalidInput("member_type", "member_type.invalid") from None
    home = _clean_text(home_branch, "home_branch", HOME_BRANCH_MAX)
    if member_type is MemberType.floating and home is None:
        raise InvalidInput("home_branch", "home_branch.required")
    member.member_type = member_type
    member.home_branch = home if member_type is MemberType.floating else None


def set_workplace(member: Member, value: str | None) -> None:
    """Where the member works (0-100 characters; empty clears it)."""
    _check_not_forgotten(member)
    member.workplace = _clean_text(value, "workplace", WORKPLACE_MAX)


def missing_profile_fields(member: Member) -> list[str]:
    """What is still needed before the member can report, in the order it is asked."""
    missing: list[str] = []
    if member.consent_at is None:
        missing.append("consent")
    if not member.real_name:
        missing.append("real_name")
    if not member.phone:
        missing.append("phone")
    if member.member_type is None:
        missing.append("member_type")
    return missing


def profile_complete(member: Member) -> bool:
    return member.forgotten_at is None and not missing_profile_fields(member)


# --- reporting (报到) ---------------------------------------------------------------


async def _open_memberships(session: AsyncSession, member_id: int) -> list[Membership]:
    rows = await session.scalars(
        select(Membership)
        .where(Membership.member_id == member_id, Membership.status.in_(OPEN_STATUSES))
        .options(selectinload(Membership.unit))
    )
    return list(rows)


async def report(
    session: AsyncSession,
    member: Member,
    unit: OrgUnit,
    *,
    kind: MembershipKind | str = MembershipKind.primary,
    via: Via | str = Via.invite,
    now: datetime,
) -> Membership:
    """Ask to be managed by `unit` (primary) or report to a community (双报到): pending."""
    _check_not_forgotten(member)
    if not profile_complete(member):
        raise InvalidState("profile.incomplete", ", ".join(missing_profile_fields(member)))
    kind = MembershipKind(kind)
    via = Via(via)
    if kind is MembershipKind.primary and unit.kind not in (UnitKind.branch, UnitKind.group):
        raise InvalidState("report.not_a_branch", f"{unit.code} is a {unit.kind}")
    if kind is MembershipKind.community and unit.kind is not UnitKind.community:
        raise InvalidState("report.not_a_community", f"{unit.code} is a {unit.kind}")
    current = await _open_memberships(session, member.id)
    for membership in current:
        if membership.org_unit_id == unit.id:
            raise InvalidState(f"report.already_{membership.status}", unit.code)
    for membership in current:
        if kind is MembershipKind.primary and membership.kind is MembershipKind.primary:
            raise PrimaryElsewhere(membership.unit)
    membership = Membership(
        member=member,
        unit=unit,
        kind=kind,
        status=MembershipStatus.pending,
        via=via,
        requested_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(membership)
    except IntegrityError:
        # The same report arrived twice at once (a double press); the other one won.
        raise InvalidState("report.already_pending", unit.code) from None
    return membership


async def get_membership(session: AsyncSession, membership_id: int) -> Membership:
    """A membership with its member and unit; NotFound "report.not_found"."""
    membership = await session.scalar(
        select(Membership)
        .where(Membership.id == membership_id)
        .options(selectinload(Membership.member), selectinload(Membership.unit))
    )
    if membership is None:
        raise NotFound("report.not_found", f"no membership {membership_id}")
    return membership


async def _move(
    session: AsyncSession,
    membership: Membership,
    expected: MembershipStatus,
    error: str,
    values: dict[str, Any],
) -> None:
    # Conditional UPDATE: of two secretaries pressing at once only one succeeds,
    # whatever state their sessions had read.
    result = await session.execute(
        update(Membership)
        .where(Membership.id == membership.id, Membership.status == expected)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        await session.refresh(membership)
        raise InvalidState(error, f"membership {membership.id} is {membership.status}")
    # The row already holds these values; tell the object without another UPDATE.
    for key, value in values.items():
        set_committed_value(membership, key, value)


async def approve_report(
    session: AsyncSession, membership_id: int, approver_telegram_id: int, now: datetime
) -> Membership:
    """纳入管理: the pending report becomes an active membership."""
    membership = await get_membership(session, membership_id)
    await require(session, approver_telegram_id, Permission.approve_reports, membership.org_unit_id)
    values = {
        "status": MembershipStatus.active,
        "decided_at": now,
        "decided_by": approver_telegram_id,
    }
    await _move(session, membership, MembershipStatus.pending, "report.already_decided", values)
    return membership


async def reject_report(
    session: AsyncSession,
    membership_id: int,
    approver_telegram_id: int,
    reason: str,
    now: datetime,
) -> Membership:
    """Refuse a pending report; the reason (1-200 characters) is shown to the member."""
    membership = await get_membership(session, membership_id)
    await require(session, approver_telegram_id, Permission.approve_reports, membership.org_unit_id)
    cleaned = _clean_text(reason, "reason", REASON_MAX)
    if cleaned is None:
        raise InvalidInput("reason", "reason.empty")
    values = {
        "status": MembershipStatus.rejected,
        "decided_at": now,
        "decided_by": approver_telegram_id,
        "reject_reason": cleaned,
    }
    await _move(session, membership, MembershipStatus.pending, "report.already_decided", values)
    return membership


async def pending_reports(session: AsyncSession, telegram_id: int) -> list[Membership]:
    """Reports this person may decide, oldest first, with member and unit loaded."""
    units = await managed_unit_ids(session, telegram_id, Permission.approve_reports)
    query = (
        select(Membership)
        .where(Membership.status == MembershipStatus.pending)
        .options(selectinload(Membership.member), selectinload(Membership.unit))
        .order_by(Membership.requested_at, Membership.id)
    )
    if units is not None:
        if not units:
            return []
        query = query.where(Membership.org_unit_id.in_(units))
    return list(await session.scalars(query))


async def leave(session: AsyncSession, member: Member, unit_id: int, now: datetime) -> Membership:
    """The member leaves the unit, or withdraws a report still pending there."""
    for membership in await _open_memberships(session, member.id):
        if membership.org_unit_id == unit_id:
            values = {"status": MembershipStatus.left, "ended_at": now}
            await _move(session, membership, membership.status, "membership.not_open", values)
            return membership
    raise NotFound("membership.not_found", f"member {member.id} is not in unit {unit_id}")


async def _end_by_secretary(
    session: AsyncSession,
    membership_id: int,
    by: int,
    status: MembershipStatus,
    now: datetime,
) -> Membership:
    membership = await get_membership(session, membership_id)
    await require(session, by, Permission.manage_members, membership.org_unit_id)
    values = {"status": status, "ended_at": now, "ended_by": by}
    await _move(session, membership, MembershipStatus.active, "membership.not_active", values)
    return membership


async def transfer_out(
    session: AsyncSession, membership_id: int, by: int, now: datetime
) -> Membership:
    """转出: the member's active membership ends because it moved to another organisation."""
    return await _end_by_secretary(session, membership_id, by, MembershipStatus.transferred, now)


async def remove_member(
    session: AsyncSession, membership_id: int, by: int, now: datetime
) -> Membership:
    """A secretary ends an active membership (status left, ended_by set)."""
    return await _end_by_secretary(session, membership_id, by, MembershipStatus.left, now)


async def memberships_of(session: AsyncSession, member: Member) -> list[Membership]:
    """Every membership of the member, oldest first, with units loaded."""
    rows = await session.scalars(
        select(Membership)
        .where(Membership.member_id == member.id)
        .options(selectinload(Membership.unit))
        .order_by(Membership.requested_at, Membership.id)
    )
    return list(rows)


# --- rosters and the floating-member register ---------------------------------------


@dataclass(frozen=True)
class RosterPage:
    members: list[Member]
    total: int
    page: int  # 1-based, clamped to 1..pages
    pages: int  # at least 1, even when empty


async def roster(
    session: AsyncSession,
    unit_id: int,
    filter: RosterFilter | str = RosterFilter.all,
    page: int = 1,
    page_size: int = 10,
) -> RosterPage:
    """Active members of the unit and every unit below it, by name, one page of them.

    A page beyond the end (an old button after members left) gives the last page.
    """
    await get_unit(session, unit_id)
    try:
        wanted = RosterFilter(filter)
    except ValueError:
        raise InvalidInput("filter", "roster.bad_filter") from None
    units = await descendant_ids(session, unit_id)
    active_here = select(Membership.member_id).where(
        Membership.status == MembershipStatus.active, Membership.org_unit_id.in_(units)
    )
    query = select(Member).where(Member.id.in_(active_here))
    if wanted is not RosterFilter.all:
        query = query.where(Member.member_type == MemberType(wanted.value))
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, math.ceil(total / page_size))
    page = min(max(page, 1), pages)
    rows = await session.scalars(
        query.order_by(Member.real_name, Member.id).offset((page - 1) * page_size).limit(page_size)
    )
    return RosterPage(list(rows), total, page, pages)


@dataclass(frozen=True)
class FloatingRecord:
    """One row of the floating-member register (流动党员管理档案)."""

    name: str
    phone: str | None
    home_branch: str | None
    workplace: str | None
    unit_code: str
    unit_name: str
    kind: MembershipKind
    reported_at: datetime
    approved_at: datetime | None
    ended_at: datetime | None
    status: MembershipStatus


async def floating_register(
    session: AsyncSession, unit_id: int, language: str = "zh"
) -> list[FloatingRecord]:
    """Floating members who reported to the unit or a unit below it, by unit and name.

    Every report except rejected ones: pending, active and ended (with dates),
    since the register is also the unit's history. Forgotten members are left out.
    """
    await get_unit(session, unit_id)
    units = await descendant_ids(session, unit_id)
    rows = await session.execute(
        select(Membership, Member, OrgUnit)
        .join(Member, Membership.member_id == Member.id)
        .join(OrgUnit, Membership.org_unit_id == OrgUnit.id)
        .where(
            Membership.org_unit_id.in_(units),
            Membership.status != MembershipStatus.rejected,
            Member.member_type == MemberType.floating,
            Member.forgotten_at.is_(None),
        )
        .order_by(OrgUnit.id, Member.real_name, Membership.requested_at, Membership.id)
    )
    return [
        FloatingRecord(
            name=member.real_name or "",
            phone=member.phone,
            home_branch=member.home_branch,
            workplace=member.workplace,
            unit_code=unit.code,
            unit_name=unit_display_name(unit, language),
            kind=membership.kind,
            reported_at=membership.requested_at,
            approved_at=membership.decided_at
            if membership.status is not MembershipStatus.pending
            else None,
            ended_at=membership.ended_at,
            status=membership.status,
        )
        for membership, member, unit in rows
    ]


# --- the member's own data ----------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def export_member_data(session: AsyncSession, member: Member) -> dict[str, Any]:
    """Everything stored about the member, as JSON-ready data (ISO 8601 times, UTC).

    Who decided on their reports is left out: that is the secretary's data.
    """
    account = (
        await session.get(Account, member.telegram_id) if member.telegram_id is not None else None
    )
    grants: list[RoleGrant] = []
    if member.telegram_id is not None:
        grants = list(
            await session.scalars(
                select(RoleGrant)
                .where(RoleGrant.telegram_id == member.telegram_id)
                .order_by(RoleGrant.id)
            )
        )
    unit_codes = {
        unit_id: code for unit_id, code in await session.execute(select(OrgUnit.id, OrgUnit.code))
    }
    return {
        "profile": {
            "telegram_id": member.telegram_id,
            "consent_at": _iso(member.consent_at),
            "real_name": member.real_name,
            "phone": member.phone,
            "member_type": member.member_type.value if member.member_type else None,
            "home_branch": member.home_branch,
            "workplace": member.workplace,
            "created_at": _iso(member.created_at),
            "updated_at": _iso(member.updated_at),
            "forgotten_at": _iso(member.forgotten_at),
            "unreachable_at": _iso(member.unreachable_at),
        },
        "account": None
        if account is None
        else {
            "language": account.language,
            "created_at": _iso(account.created_at),
            "last_seen_at": _iso(account.last_seen_at),
        },
        "memberships": [
            {
                "unit_code": m.unit.code,
                "unit_name_zh": m.unit.name_zh,
                "unit_name_en": m.unit.name_en,
                "kind": m.kind.value,
                "status": m.status.value,
                "via": m.via.value,
                "requested_at": _iso(m.requested_at),
                "decided_at": _iso(m.decided_at),
                "reject_reason": m.reject_reason,
                "ended_at": _iso(m.ended_at),
            }
            for m in await memberships_of(session, member)
        ],
        "roles": [
            {
                "role": g.role.value,
                "unit_code": unit_codes.get(g.org_unit_id) if g.org_unit_id else None,
                "granted_at": _iso(g.granted_at),
            }
            for g in grants
        ],
    }


async def forget_member(session: AsyncSession, member: Member, now: datetime) -> None:
    """Erase the member's personal data (right to be forgotten); forgetting twice is a no-op.

    Memberships stay, ended, so the branch's statistics keep an anonymous record;
    the member type stays too, for the same statistics. Their account (language
    choice) and role grants are deleted.
    """
    if member.forgotten_at is not None:
        return
    await session.execute(
        update(Membership)
        .where(Membership.member_id == member.id, Membership.status.in_(OPEN_STATUSES))
        .values(status=MembershipStatus.left, ended_at=now)
        .execution_options(synchronize_session="fetch")
    )
    if member.telegram_id is not None:
        await session.execute(delete(RoleGrant).where(RoleGrant.telegram_id == member.telegram_id))
        await session.execute(delete(Account).where(Account.id == member.telegram_id))
    member.telegram_id = None
    member.consent_at = None
    member.real_name = None
    member.phone = None
    member.home_branch = None
    member.workplace = None
    member.unreachable_at = None
    member.forgotten_at = now
    member.updated_at = now
    await session.flush()
