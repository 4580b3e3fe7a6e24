"""Rules behind the screens around members: button labels cut where a word ends, the walk
down the unit tree, refusals worded by the permission, and what quiet hours hold."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from handlers.ui import REFUSALS, holders, refusal_key
from models.errors import NotStaff, PermissionDenied
from models.notifications import CARD_KINDS
from models.org import REPORTABLE_KINDS, OrgUnit, UnitKind
from models.permissions import Permission, Role
from models.quiet import timing
from views.buttons import CHOICES_PAGE, display_width, short
from views.unit_tree import TOP, UnitTree

# --- labels ----------------------------------------------------------------------------------


def test_a_short_label_is_left_as_it_is() -> None:
    assert short("Haibin North Community Committee") == "Haibin North Community Committee"
    assert short("湛江开发区科技孵化器楼宇党支部") == "湛江开发区科技孵化器楼宇党支部"  # 30 columns


@pytest.mark.parametrize(
    "label",
    [
        "Zhanjiang Development Zone Working Committee for New Economic and Social Organisations",
        "First Party Group of the Wanda Plaza Branch for Shopkeepers and Property Staff",
        "12. Zhanjiang Development Zone Technology Incubator Building Branch",
    ],
)
def test_a_long_english_label_is_cut_where_a_word_ends(label: str) -> None:
    cut = short(label)
    kept = cut.removesuffix("…")
    assert cut.endswith("…") and display_width(cut) <= 40
    assert label.startswith(kept) and label[len(kept)] == " "
    assert not kept.endswith((" ", ","))


def test_a_word_longer_than_half_a_label_is_cut_inside() -> None:
    cut = short("1. " + "x" * 60)
    assert cut == "1. " + "x" * 36 + "…" and display_width(cut) == 40


def test_chinese_is_cut_by_width_between_any_two_characters() -> None:
    name = "湛江万达广场商圈党支部第一党小组（商户和物业管理人员联合党小组）"
    cut = short(name)
    assert cut == name[:19] + "…" and display_width(cut) == 39  # 19 of 33 characters
    assert display_width(cut) <= 40
    mixed = short("03-12 09:00 三月主题党日：学习贯彻党的二十大精神专题活动")
    assert mixed == "03-12 09:00 三月主题党日：学习贯彻党的…" and display_width(mixed) <= 40


# --- the unit tree ----------------------------------------------------------------------------


def unit(id_: int, kind: UnitKind, parent: int | None = None, name: str = "") -> OrgUnit:
    name = name or f"单位{id_}"
    return OrgUnit(id=id_, code=f"u{id_}", kind=kind, parent_id=parent, name_zh=name)


def test_few_branches_are_offered_at_once_with_a_way_back() -> None:
    tree = [
        unit(1, UnitKind.committee),
        unit(2, UnitKind.committee, 1),
        unit(3, UnitKind.branch, 2),
        unit(4, UnitKind.group, 3, "第一党小组"),
        unit(5, UnitKind.branch, 1),
        unit(6, UnitKind.group, 5, "第一党小组"),
    ]
    walk = UnitTree(tree, REPORTABLE_KINDS[False])
    top = walk.level(TOP)
    assert top.flat and [u.id for u in top.options] == [3, 4, 5, 6]
    # Two groups of one name say which branch each is in.
    assert walk.labels(top, "zh") == ["单位3", "第一党小组 · 单位3", "单位5", "第一党小组 · 单位5"]
    assert walk.back_of(3) == TOP and walk.back_of(6) == TOP
    assert walk.back_of(walk.level(TOP).unit_id) is None  # the first screen
    assert [u.id for u in walk.level(3).options] == [4]  # a branch's groups, opened
    assert walk.back_of(3) == TOP


def test_many_branches_are_walked_to_and_single_ways_passed_through() -> None:
    many = CHOICES_PAGE + 5
    tree = [unit(1, UnitKind.committee), unit(2, UnitKind.committee, 1)]
    tree += [unit(10 + n, UnitKind.branch, 2) for n in range(many)]
    tree += [unit(3, UnitKind.committee, 1), unit(4, UnitKind.committee, 3)]
    tree += [unit(5, UnitKind.branch, 4), unit(6, UnitKind.community, 1)]
    walk = UnitTree(tree, REPORTABLE_KINDS[False])
    top = walk.level(TOP)
    # The one unit at the top is passed through; the community takes no branch report.
    assert top.unit_id == 1 and not top.flat and [u.id for u in top.options] == [2, 3]
    assert walk.back_of(1) is None
    level = walk.level(2)
    assert len(level.options) == many and walk.back_of(2) == 1
    assert walk.back_of(10) == 2
    assert [u.id for u in walk.level(3).options] == [5]  # few below: offered at once
    assert walk.back_of(3) == 1 and walk.back_of(5) == 3
    assert walk.back_of(99) is None  # not in the tree
    communities = UnitTree(tree, REPORTABLE_KINDS[True])
    assert [u.id for u in communities.level(TOP).options] == [6]
    assert communities.below(6) == []


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize("permission", list(Permission))
def test_every_permission_has_a_refusal_that_names_who_holds_it(permission: Permission) -> None:
    assert holders(permission) in REFUSALS
    refused = refusal_key(NotStaff(permission, None, 1))
    denied = refusal_key(PermissionDenied(permission, 5, 1))
    if holders(permission) == {Role.secretary}:
        assert (refused, denied) == ("error.secretaries_only", "error.permission_denied")


def test_the_register_is_for_secretaries_and_the_roster_for_organizers_too() -> None:
    assert refusal_key(NotStaff(Permission.export_register, None, 1)) == "error.secretaries_only"
    assert refusal_key(NotStaff(Permission.view_roster, None, 1)) == "error.staff_only"
    assert refusal_key(PermissionDenied(Permission.appoint_roles, 1, 1)) == (
        "error.permission_denied_admins"
    )


# --- quiet hours --------------------------------------------------------------------------------

NIGHT = (time(22), time(8))
AT_NIGHT = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
BY_DAY = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)  # 11:00
MORNING = datetime(2026, 3, 11, 0, 0, tzinfo=UTC)  # 08:00 the next day


def test_at_night_a_card_goes_silently_and_the_rest_waits() -> None:
    card = timing(AT_NIGHT, "Asia/Shanghai", *NIGHT, urgent=False, card=True)
    assert card.wait_until is None and card.silent
    news = timing(AT_NIGHT, "Asia/Shanghai", *NIGHT, urgent=False, card=False)
    assert news.wait_until == MORNING and not news.silent
    urgent = timing(AT_NIGHT, "Asia/Shanghai", *NIGHT, urgent=True, card=False)
    assert urgent.wait_until is None and not urgent.silent
    for is_card in (True, False):
        day = timing(BY_DAY, "Asia/Shanghai", *NIGHT, urgent=False, card=is_card)
        assert day.wait_until is None and not day.silent


def test_the_cards_are_those_a_secretary_acts_on() -> None:
    assert CARD_KINDS == {"report_card", "leave_request", "made_up_report"}
