"""A member's profile: consent, real name, phone, member type, workplace, and their checks."""

from __future__ import annotations

import unicodedata
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.account import Account
from models.db import SessionMemo
from models.errors import InvalidInput, InvalidState
from models.members.tables import HOME_BRANCH_MAX, NAME_MAX, WORKPLACE_MAX, Member, MemberType

# Besides letters and combining marks, names may hold spaces and the marks used
# in transliterated and Western names: 阿依古丽·买买提, Jean-Luc, O'Brien, J. Smith.
NAME_PUNCTUATION = frozenset(" ·•・.-'’")
PHONE_SEPARATORS = frozenset(" -().")
PHONE_DIGITS_MIN, PHONE_DIGITS_MAX = 6, 15


# telegram id -> member id
_found = SessionMemo[dict[int, int]]("members_found", dict)


async def get_member(session: AsyncSession, telegram_id: int) -> Member | None:
    """The member record of a Telegram user; None before they started a profile.

    Read once per session: later calls find it by its id in the identity map (no query
    while the session holds it, see models.db.hold_loaded), unless it changed hands."""
    found = _found(session)
    if telegram_id in found:
        member = await session.get(Member, found[telegram_id])
        if member is not None and member.telegram_id == telegram_id:
            return member
    member = await session.scalar(select(Member).where(Member.telegram_id == telegram_id))
    if member is not None:
        found[telegram_id] = member.id
    return member


async def read_account_and_member(session: AsyncSession, telegram_id: int) -> None:
    """Read a Telegram user's account and member record in one query, into the session:
    `touch_account` and `get_member` then find them without one (an update needs both)."""
    row = (
        await session.execute(
            select(Account, Member)
            .outerjoin(Member, Member.telegram_id == Account.id)
            .where(Account.id == telegram_id)
        )
    ).first()
    if row is not None and row.Member is not None:
        _found(session)[telegram_id] = row.Member.id


async def member_of(session: AsyncSession, telegram_id: int) -> Member:
    """The member acting (pressing, answering); InvalidState profile.incomplete for someone
    without a profile, or who asked to be forgotten."""
    member = await get_member(session, telegram_id)
    if member is None or member.forgotten_at is not None:
        raise InvalidState("profile.incomplete")
    return member


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
    check_not_forgotten(member)
    if member.consent_at is None:
        member.consent_at = now
        member.updated_at = now
    await session.flush()


def check_not_forgotten(member: Member) -> None:
    """InvalidState member.forgotten once the member was forgotten: nothing may change then."""
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
    check_not_forgotten(member)
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
    check_not_forgotten(member)
    member.phone = clean_phone(value)
    return member.phone


def clean_text(value: str | None, field: str, limit: int) -> str | None:
    """A free text with its whitespace collapsed, None when empty.

    InvalidInput "<field>.too_long" over `limit` characters, "<field>.invalid" with
    control characters.
    """
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
    check_not_forgotten(member)
    try:
        member_type = MemberType(member_type)
    except ValueError:
        raise InvalidInput("member_type", "member_type.invalid") from None
    home = clean_text(home_branch, "home_branch", HOME_BRANCH_MAX)
    if member_type is MemberType.floating and home is None:
        raise InvalidInput("home_branch", "home_branch.required")
    member.member_type = member_type
    member.home_branch = home if member_type is MemberType.floating else None


def set_workplace(member: Member, value: str | None) -> None:
    """Where the member works (0-100 characters; empty clears it)."""
    check_not_forgotten(member)
    member.workplace = clean_text(value, "workplace", WORKPLACE_MAX)


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
