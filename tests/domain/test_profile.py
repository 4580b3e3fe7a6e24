"""The member's profile: consent, real name, phone, type, workplace."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.errors import InvalidInput, InvalidState
from models.members import (
    Member,
    MemberType,
    clean_phone,
    clean_real_name,
    get_member,
    give_consent,
    missing_profile_fields,
    profile_complete,
    set_member_type,
    set_phone,
    set_real_name,
    set_workplace,
    start_profile,
)
from tests.domain.conftest import NOW

LATER = NOW.replace(hour=9)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("张三", "张三"),
        ("  张三 \n", "张三"),
        ("Li Wei", "Li Wei"),
        ("Li   Wei", "Li Wei"),
        ("李Wei", "李Wei"),
        ("阿依古丽·买买提", "阿依古丽·买买提"),
        ("Jean-Luc O'Brien", "Jean-Luc O'Brien"),
        ("x" * 50, "x" * 50),
    ],
)
def test_acceptable_names(typed: str, stored: str) -> None:
    assert clean_real_name(typed) == stored


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "name.empty"),
        ("   \t ", "name.empty"),
        ("名" * 1000, "name.too_long"),
        ("x" * 51, "name.too_long"),
        ("😀😀", "name.invalid"),
        ("🇨🇳", "name.invalid"),
        ("!!!", "name.invalid"),
        ("·-·", "name.invalid"),
        ("12345", "name.invalid"),
        ("张三\x00", "name.invalid"),
        ("张\u200b三", "name.invalid"),
        ("Li\tWei", "name.invalid"),
        ("张三😀", "name.invalid"),
    ],
)
def test_refused_names(typed: str, reason: str) -> None:
    member = Member(real_name="原来的名字")
    with pytest.raises(InvalidInput) as caught:
        set_real_name(member, typed)
    assert (caught.value.code, caught.value.field) == (reason, "real_name")
    assert member.real_name == "原来的名字"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("+86 138 0013 8000", "+8613800138000"),
        ("+86-138-0013-8000", "+8613800138000"),
        ("138 0013 8000", "13800138000"),
        ("(0759) 333-1234", "07593331234"),
        ("0086 13800138000", "+8613800138000"),
        ("１３８００１３８０００", "13800138000"),  # full-width digits
        ("123456", "123456"),
        ("+123456789012345", "+123456789012345"),
    ],
)
def test_phone_normalisation(typed: str, stored: str) -> None:
    member = Member()
    assert set_phone(member, typed) == stored
    assert member.phone == stored


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "phone.empty"),
        ("12345", "phone.invalid"),
        ("+1234567890123456", "phone.invalid"),
        ("138-0013-800a", "phone.invalid"),
        ("call me", "phone.invalid"),
        ("++8613800138000", "phone.invalid"),
    ],
)
def test_refused_phones(typed: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        clean_phone(typed)
    assert caught.value.code == reason


def test_member_type_and_home_branch() -> None:
    member = Member()
    with pytest.raises(InvalidInput) as caught:
        set_member_type(member, MemberType.floating, "  ")
    assert caught.value.code == "home_branch.required"
    assert member.member_type is None
    with pytest.raises(InvalidInput) as caught:
        set_member_type(member, "floating", "支" * 101)
    assert caught.value.code == "home_branch.too_long"
    with pytest.raises(InvalidInput) as caught:
        set_member_type(member, "hidden")
    assert caught.value.code == "member_type.invalid"

    set_member_type(member, "floating", " 湖南省长沙市岳麓区某社区党支部 ")
    assert member.member_type is MemberType.floating
    assert member.home_branch == "湖南省长沙市岳麓区某社区党支部"
    set_member_type(member, MemberType.regular, "ignored for regular members")
    assert (member.member_type, member.home_branch) == (MemberType.regular, None)


def test_workplace() -> None:
    member = Member()
    set_workplace(member, "  湛江万达广场 某店 ")
    assert member.workplace == "湛江万达广场 某店"
    set_workplace(member, "")
    assert member.workplace is None
    with pytest.raises(InvalidInput) as caught:
        set_workplace(member, "店" * 101)
    assert caught.value.code == "workplace.too_long"
    set_workplace(member, "店" * 100)
    assert member.workplace == "店" * 100


async def test_profile_is_started_once_and_completed_step_by_step(session: AsyncSession) -> None:
    member = await start_profile(session, 5_000_000_001, NOW)
    assert await start_profile(session, 5_000_000_001, LATER) is member
    assert await session.scalar(select(func.count()).select_from(Member)) == 1
    assert (await get_member(session, 5_000_000_001)) is member
    assert await get_member(session, 42) is None
    assert member.consent_at is None
    assert missing_profile_fields(member) == ["consent", "real_name", "phone", "member_type"]

    await give_consent(session, member, NOW)
    await give_consent(session, member, LATER)
    assert member.consent_at == NOW
    set_real_name(member, "王芳")
    set_phone(member, "+86 139 0000 0000")
    assert not profile_complete(member)
    set_member_type(member, MemberType.undeclared)
    assert profile_complete(member)
    await session.flush()
    session.expire_all()
    stored = await get_member(session, 5_000_000_001)
    assert stored is not None
    assert (stored.real_name, stored.phone, stored.member_type) == (
        "王芳",
        "+8613900000000",
        MemberType.undeclared,
    )
    assert stored.telegram_id == 5_000_000_001  # beyond 32 bits


def test_a_forgotten_member_cannot_be_edited() -> None:
    member = Member(forgotten_at=NOW)
    with pytest.raises(InvalidState) as caught:
        set_real_name(member, "张三")
    assert caught.value.code == "member.forgotten"
    assert member.real_name is None
    assert not profile_complete(member)
