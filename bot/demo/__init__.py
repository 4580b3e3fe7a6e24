"""The demo world of `branchbot sandbox`: the seed report's development zone, with people.

Where it comes from: the news report in the design notes
(seed/zhanjiang-commercial-district-party-building.txt, 湛江经开区 商圈楼宇党建). Its
organisation tree is `org.toml` beside this file (examples/org.example.toml links
to it): the zone's working committee, 乐华街道 with 海滨北社区 (where the Wanda
Plaza and Huaduhui commercial-district branches sit) and 乐金社区 (which Huaduhui
pairs with), the Huanlejia building committee with the technology incubator
branch, and 泉庄街道 with 龙潮社区 (which the incubator pairs with).

What happens in it, as in the report: Wanda Plaza has a reporting point for
floating members (流动党员报到处); one floating member has reported there and been
approved (纳入管理), another has just arrived and not reported yet. The branch's
secretary has scheduled, for the days after `now`:
- a tree-planting day with sapling pledges (认捐认种, 乡村植树添新绿), 5 days on,
  09:00-11:30;
- traffic-safety training for the district's new-economy workers (交通安全培训
  志愿服务), 3 days on, 14:30-16:30, with two volunteer places, both taken: the
  next to sign up is waitlisted;
- the monthly theme day (主题党日) in the 海滨北社区 党群服务中心's activity room,
  which the community opens to the branch: the last Friday of each month, 19:30.
Times are local to the branch (Asia/Shanghai).

Everything is built through the operations a real deployment uses (importing the
org file, the profile, 报到 and its approval, granting and appointing roles,
creating activities, signing up), never by writing rows, so the demo cannot hold
a state the bot could not reach itself. `load_demo` refuses a database that
already holds a world.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.demo.history import build_history
from models.account import touch_account
from models.activities import (
    GENERATE_AHEAD,
    Activity,
    ActivityDraft,
    ActivityKind,
    PledgeKind,
    RecurrenceRule,
    SeriesDraft,
    create_activity,
    create_series,
    generate_occurrences,
    sign_up,
)
from models.attendance import respond_attend
from models.db import SessionFactory
from models.errors import NotFound
from models.members import (
    Member,
    MembershipKind,
    MemberType,
    Via,
    approve_report,
    give_consent,
    report,
    set_member_type,
    set_phone,
    set_real_name,
    set_workplace,
    start_profile,
)
from models.notifications import take_pending
from models.org import OrgUnit, import_org, invite_payload, list_tree, unit_by_code, unit_timezone
from models.permissions import Role, RoleGrant, grant_role
from models.staff import appoint

__all__ = [
    "DEMO_PEOPLE",
    "DemoError",
    "DemoPerson",
    "Place",
    "ReportingPoint",
    "load_demo",
    "places",
    "reporting_points",
]

DEFAULT_TIMEZONE = "Asia/Shanghai"  # the org file gives every unit this one anyway


class DemoError(Exception):
    """The demo cannot be loaded (or read) here; the message is one plain sentence."""


@dataclass(frozen=True)
class DemoPerson:
    """Someone in the demo, as the emulated Telegram knows them."""

    key: str
    first_name: str
    last_name: str | None
    language: str  # "zh" or "en": their Telegram app's language
    phone: str  # a fake number, shared from the contact button
    about: str  # a short bilingual label for the sandbox's people list


DEMO_PEOPLE: tuple[DemoPerson, ...] = (
    DemoPerson(
        "floating",
        "陈晓东",
        None,
        "zh",
        "+8613800001001",
        "流动党员，已在万达广场报到 · floating member, reported to Wanda Plaza",
    ),
    DemoPerson(
        "regular",
        "黄丽娟",
        None,
        "zh",
        "+8613800001002",
        "万达广场党支部党员 · member of the Wanda Plaza branch",
    ),
    DemoPerson(
        "secretary",
        "李建华",
        None,
        "zh",
        "+8613800001003",
        "万达广场党支部书记 · secretary of the Wanda Plaza branch",
    ),
    DemoPerson(
        "admin",
        "周敏",
        None,
        "zh",
        "+8613800001004",
        "经开区两新组织党工委 管理员 · admin, development-zone committee",
    ),
    DemoPerson(
        "newcomer",
        "张伟",
        None,
        "zh",
        "+8613800001005",
        "流动党员，还没报到 · floating member, not reported yet",
    ),
    DemoPerson(
        "english",
        "Jessica",
        "Lam",
        "en",
        "+8613800001006",
        "万达广场党支部党员，用英文 · Wanda Plaza member who uses English",
    ),
    DemoPerson(
        "huaduhui",
        "吴志强",
        None,
        "zh",
        "+8613800001007",
        "华都汇党支部党员，双报到乐金社区 · Huaduhui member, also reported to Lejin Community",
    ),
)

# Who has not reported yet: nothing about them is written, not even an account.
NEWCOMER = "newcomer"


@dataclass(frozen=True)
class _Profile:
    """What a demo member typed into the bot's profile questions."""

    real_name: str
    member_type: MemberType
    workplace: str | None = None
    home_branch: str | None = None  # floating members: who holds their record


_PROFILES: dict[str, _Profile] = {
    "floating": _Profile(
        "陈晓东",
        MemberType.floating,
        workplace="湛江万达广场 餐饮门店",
        home_branch="湖南省衡阳市衡南县某村党支部",
    ),
    "regular": _Profile("黄丽娟", MemberType.regular, workplace="湛江万达广场 物业服务中心"),
    "secretary": _Profile("李建华", MemberType.regular, workplace="湛江万达广场 商业管理公司"),
    "admin": _Profile("周敏", MemberType.regular, workplace="湛江经开区组织部"),
    "english": _Profile("林嘉欣", MemberType.regular, workplace="湛江万达广场 国际品牌零售店"),
    "huaduhui": _Profile("吴志强", MemberType.regular, workplace="湛江华都汇购物中心"),
}


@dataclass(frozen=True)
class ReportingPoint:
    """A printed reporting-point poster: the unit's code, a title, and the /start payload
    its QR code opens the bot with (t.me/<bot>?start=<payload>)."""

    code: str
    title: str
    payload: str


@dataclass(frozen=True)
class Place:
    """A unit on the sandbox's map."""

    name: str
    latitude: float
    longitude: float


# --- what the secretary wrote ----------------------------------------------------------------

TREE_PLANTING_TITLE = "认捐认种 · 乡村植树添新绿"
TREE_PLANTING_PLACE = "遂溪县城月镇东风村"
TREE_PLANTING_TEXT = """\
响应区两新组织党工委号召，支部开展“乡村植树添新绿 两新党员争先锋”“种壹棵树 献壹份爱”\
认捐认种、义务植树活动，到遂溪县城月镇东风村种下新绿，为绿美湛江出一份力。

报名时请填写认种树苗的棵数，树苗由支部统一采购。当天 08:00 在万达广场北门集合统一乘车，\
请穿运动鞋、戴帽子，自备饮用水和手套。"""

TRAFFIC_TITLE = "交通安全培训志愿服务"
TRAFFIC_PLACE = "湛江万达广场 新业态暖蜂驿站"
TRAFFIC_TEXT = """\
党员志愿服务队在万达广场暖蜂驿站为外卖骑手、快递员等新就业群体和商户员工开展交通安全培训：\
电动车安全驾驶、头盔佩戴、路口通行常识，并发放安全宣传资料。

本次需要志愿者 2 名（协助签到、发放资料、现场讲解）。报满后可排队候补，有人取消时按顺序递补。"""

THEME_DAY_TITLE = "主题党日"
THEME_DAY_PLACE = "海滨北社区党群服务中心 党员活动室"
THEME_DAY_TEXT = """\
每月最后一个星期五晚上，在海滨北社区党群服务中心党员活动室（社区向商圈党支部开放）开展主题党日：\
重温入党誓词、集中学习、交流发言，商议本月的志愿服务。

在万达广场商圈工作、生活的流动党员请一同参加；不能参加的请在机器人里请假并说明原因。"""

TREE_PLANTING_CAPACITY = 30
TRAFFIC_CAPACITY = 2
THEME_DAY_TIME = time(19, 30)
THEME_DAY_MINUTES = 120


# --- loading ----------------------------------------------------------------------------------


def _org_file() -> dict[str, Any]:
    text = resources.files(__name__).joinpath("org.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _check_people(telegram_ids: Mapping[str, int]) -> dict[str, int]:
    keys = {person.key for person in DEMO_PEOPLE}
    unknown = sorted(set(telegram_ids) - keys)
    if unknown:
        raise DemoError(f"There is no demo person called {unknown[0]!r}.")
    missing = [p.key for p in DEMO_PEOPLE if p.key != NEWCOMER and p.key not in telegram_ids]
    if missing:
        raise DemoError(f"The demo needs a Telegram user id for {missing[0]!r}.")
    ids = dict(telegram_ids)
    for key, telegram_id in ids.items():
        if isinstance(telegram_id, bool) or not isinstance(telegram_id, int) or telegram_id <= 0:
            raise DemoError(f"The Telegram user id of {key!r} must be a positive whole number.")
    if len(set(ids.values())) != len(ids):
        raise DemoError("Each demo person needs a Telegram user id of their own.")
    return ids


async def _refuse_unless_fresh(session: AsyncSession) -> None:
    units = await session.scalar(select(func.count()).select_from(OrgUnit)) or 0
    members = await session.scalar(select(func.count()).select_from(Member)) or 0
    grants = await session.scalar(select(func.count()).select_from(RoleGrant)) or 0
    if units or members or grants:
        raise DemoError(
            f"This database already holds {units} unit(s), {members} member(s) and "
            f"{grants} role grant(s); the demo is loaded only into a fresh database."
        )


async def _member(
    session: AsyncSession, person: DemoPerson, telegram_id: int, now: datetime
) -> Member:
    """The person has opened the bot and answered every profile question."""
    await touch_account(session, telegram_id, telegram_language=person.language)
    profile = _PROFILES[person.key]
    member = await start_profile(session, telegram_id, now)
    await give_consent(session, member, now)
    set_real_name(member, profile.real_name)
    set_phone(member, person.phone)
    set_member_type(member, profile.member_type, profile.home_branch)
    set_workplace(member, profile.workplace)
    await session.flush()
    return member


async def _managed(
    session: AsyncSession,
    member: Member,
    unit: OrgUnit,
    approver: int,
    now: datetime,
    *,
    via: Via,
    kind: MembershipKind = MembershipKind.primary,
) -> int:
    """报到 and 纳入管理: the member reports to the unit and `approver` approves; the
    membership's id."""
    membership = await report(session, member, unit, kind=kind, via=via, now=now)
    await approve_report(session, membership.id, approver, now)
    return membership.id


def _local(zone: ZoneInfo, now: datetime, days: int, at: time) -> datetime:
    """`days` after `now`'s local date, at the local time `at`."""
    day = now.astimezone(zone).date() + timedelta(days=days)
    return datetime.combine(day, at, tzinfo=zone)


async def load_demo(
    sessions: SessionFactory, now: datetime, telegram_ids: Mapping[str, int]
) -> None:
    """Build the demo world in one transaction, as it stands at `now`.

    `telegram_ids` maps each DemoPerson key to the Telegram user id the sandbox gave
    them; every key but "newcomer" is needed (the newcomer may be given: nothing is
    written about them). DemoError, with nothing written, when the database already
    holds units, members or role grants, or when the ids do not fit.
    """
    if now.tzinfo is None:
        raise DemoError("The demo's time must be timezone-aware.")
    ids = _check_people(telegram_ids)
    async with sessions.begin() as session:
        await _refuse_unless_fresh(session)
        await _build(session, now, ids)
        # The operations above recorded what they would tell people (report cards, the
        # approvals, the appointment). The demo's past is not news: nobody is told, so
        # it is dropped here instead of being handed to a notifier.
        take_pending(session)


async def _build(session: AsyncSession, now: datetime, ids: dict[str, int]) -> None:
    # The operator imports the tree and appoints the admin (branchbot org import,
    # branchbot admin grant: granted_by None).
    await import_org(session, _org_file())
    wanda = await unit_by_code(session, "wanda-plaza")
    huaduhui = await unit_by_code(session, "huaduhui")
    lejin = await unit_by_code(session, "lejin-community")
    haibin = await unit_by_code(session, "haibinbei-community")
    admin = ids["admin"]
    await grant_role(session, admin, Role.admin, None, None)

    people = {person.key: person for person in DEMO_PEOPLE}
    members = {
        key: await _member(session, people[key], ids[key], now)
        for key in ("admin", "secretary", "regular", "floating", "english", "huaduhui")
    }

    # The secretary reports to the branch; the admin approves and appoints them.
    secretary_membership = await _managed(
        session, members["secretary"], wanda, admin, now, via=Via.tree
    )
    await appoint(session, admin, secretary_membership, Role.secretary)
    secretary = ids["secretary"]

    # Wanda Plaza's members; the floating member and the English speaker scanned the
    # reporting point. The secretary approves them.
    await _managed(session, members["regular"], wanda, secretary, now, via=Via.tree)
    await _managed(session, members["floating"], wanda, secretary, now, via=Via.invite)
    await _managed(session, members["english"], wanda, secretary, now, via=Via.invite)

    # Huaduhui has no secretary of its own: its reports reach the admin. Its member
    # also reports to the community the branch pairs with (双报到).
    await _managed(session, members["huaduhui"], huaduhui, admin, now, via=Via.tree)
    await _managed(
        session,
        members["huaduhui"],
        lejin,
        admin,
        now,
        via=Via.tree,
        kind=MembershipKind.community,
    )

    zone = await unit_timezone(session, wanda, DEFAULT_TIMEZONE)
    tree_planting = await create_activity(
        session,
        secretary,
        wanda.id,
        ActivityDraft(
            kind=ActivityKind.tree_planting,
            title=TREE_PLANTING_TITLE,
            starts_at=_local(zone, now, 5, time(9, 0)),
            ends_at=_local(zone, now, 5, time(11, 30)),
            description=TREE_PLANTING_TEXT,
            # No coordinates: in a village one checks in with the venue's QR code.
            place=TREE_PLANTING_PLACE,
            capacity=TREE_PLANTING_CAPACITY,
            pledge_kind=PledgeKind.saplings,
            # Saplings planted are counted as each leaves; neighbours may join on the day.
            check_out_required=True,
            walk_ins_allowed=True,
        ),
        now,
    )
    await sign_up(session, tree_planting.id, members["secretary"], now, pledge=3)
    await sign_up(session, tree_planting.id, members["floating"], now, pledge=2)

    traffic = await create_activity(
        session,
        secretary,
        wanda.id,
        ActivityDraft(
            kind=ActivityKind.volunteer,
            title=TRAFFIC_TITLE,
            starts_at=_local(zone, now, 3, time(14, 30)),
            ends_at=_local(zone, now, 3, time(16, 30)),
            description=TRAFFIC_TEXT,
            place=TRAFFIC_PLACE,
            latitude=wanda.latitude,
            longitude=wanda.longitude,
            check_in_by_location=True,
            capacity=TRAFFIC_CAPACITY,
        ),
        now,
    )
    # Both places taken: whoever signs up next is waitlisted.
    await sign_up(session, traffic.id, members["regular"], now)
    await sign_up(session, traffic.id, members["english"], now)

    series = await create_series(
        session,
        secretary,
        wanda.id,
        SeriesDraft(
            kind=ActivityKind.theme_day,
            title=THEME_DAY_TITLE,
            rule=RecurrenceRule.last_friday_monthly,
            local_time=THEME_DAY_TIME,
            duration_minutes=THEME_DAY_MINUTES,
            timezone=str(zone),
            starts_on=now.astimezone(zone).date(),
            description=THEME_DAY_TEXT,
            place=THEME_DAY_PLACE,
            latitude=haibin.latitude,
            longitude=haibin.longitude,
            check_in_by_location=True,
        ),
    )
    theme_days: list[Activity] = await generate_occurrences(
        session, series, now + GENERATE_AHEAD, now
    )
    # One member has already said they will come to the next one.
    await respond_attend(session, theme_days[0].id, members["regular"], now)
    await build_history(session, wanda, zone, secretary, members, now)


# --- reading it back, for the sandbox ------------------------------------------------------------

# The posters the sandbox prints: Wanda Plaza's reporting point for floating members, as
# in the report, and 双报到 at the community it sits in.
_POSTERS = (
    ("wanda-plaza", "湛江万达广场 流动党员报到处 · Wanda Plaza reporting point"),
    ("haibinbei-community", "海滨北社区 双报到 · Haibin North community reporting"),
)


async def reporting_points(session: AsyncSession) -> list[ReportingPoint]:
    """The demo's printed reporting-point posters, Wanda Plaza's first; each payload is the
    one the bot's own /qr code carries (models.org.invite_payload)."""
    points: list[ReportingPoint] = []
    for code, title in _POSTERS:
        try:
            unit = await unit_by_code(session, code)
        except NotFound:
            raise DemoError(f"The demo is not loaded: there is no unit {code!r}.") from None
        points.append(ReportingPoint(code, title, invite_payload(unit)))
    return points


async def places(session: AsyncSession) -> list[Place]:
    """Every unit with coordinates, in tree order, by its Chinese name."""
    return [
        Place(unit.name_zh, unit.latitude, unit.longitude)
        for _, unit in await list_tree(session)
        if unit.latitude is not None and unit.longitude is not None
    ]
