"""报到 end to end: members and secretaries side by side, through the emulator."""

from __future__ import annotations

import io
import json

import openpyxl
import pytest
from sqlalchemy import select

from models.members import Member, Membership, MembershipStatus
from models.permissions import RoleGrant
from sandbox import decode_qr
from tests.e2e.conftest import RunningBot, grant, invite_payload_of, meet, onboard, seed_org
from views.buttons import short


@pytest.fixture
async def org(bot: RunningBot) -> dict[str, int]:
    return await seed_org(bot.database)


async def memberships(bot: RunningBot) -> list[Membership]:
    async with bot.database.sessions() as session:
        return list(await session.scalars(select(Membership).order_by(Membership.id)))


async def test_report_by_qr_code_and_approval(bot: RunningBot, org: dict[str, int]) -> None:
    emu = bot.emulator
    secretary = emu.user("李书记", language_code="zh")
    await grant(bot.database, secretary, "secretary", "wanda-plaza")
    await meet(secretary)

    # The secretary prints the reporting point's QR code.
    await secretary.send("/qr")
    photo = await secretary.next_message()
    assert "湛江万达广场商圈党支部" in photo.caption
    (link,) = decode_qr(photo.photo_bytes)
    assert link.startswith("https://t.me/branchbot_test?start=r_")
    assert link in photo.caption
    payload = link.split("start=")[1]

    # A floating member scans it and fills in the profile.
    member = emu.user("小王", language_code="zh", phone="+8613800138000")
    await member.send(f"/start {payload}")
    welcome = await member.next_message()
    assert "小王，您好" in welcome.text
    consent = await member.next_message()
    assert "手机号" in consent.text and consent.buttons == [["同意"], ["不同意"]]
    await member.press("同意")
    await member.next_event()
    assert "真实姓名" in (await member.next_message()).text
    await member.send("王小明")
    phone_question = await member.next_message()
    assert member.reply_keyboard == [["📱 分享我的手机号"]]
    assert "手机号" in phone_question.text
    await member.tap("📱 分享我的手机号")
    assert "已保存" in (await member.next_message()).text
    type_question = await member.next_message()
    assert type_question.buttons == [["本支部党员"], ["流动党员"], ["暂未亮明身份"]]
    await member.press("流动党员")
    await member.next_event()
    assert "原所在党支部" in (await member.next_message()).text
    await member.send("广州市天河区某街道党支部")
    assert "工作单位" in (await member.next_message()).text
    await member.send("万达广场某商户")
    assert "已保存" in (await member.next_message()).text
    sent = await member.next_message()
    assert "已向 湛江万达广场商圈党支部 提交报到" in sent.text

    # The secretary gets the member's card within the same second.
    card = await secretary.next_message()
    assert "新的报到" in card.text and "王小明" in card.text and "流动党员" in card.text
    assert "+8613800138000" in card.text and "广州市天河区某街道党支部" in card.text
    assert card.buttons == [["✅ 同意", "❌ 不同意"]]
    (report,) = await memberships(bot)
    assert report.status is MembershipStatus.pending

    await secretary.press("✅ 同意")
    edited = await secretary.next_event()
    assert "已同意" in edited.message.text and edited.message.buttons == []
    assert (await secretary.answer_of_last_press()).text == "已同意"
    approved = await member.next_message()
    assert "报到已通过" in approved.text
    (report,) = await memberships(bot)
    assert report.status is MembershipStatus.active and report.decided_by == secretary.id

    await member.send("/me")
    me = await member.next_message()
    assert "王小明" in me.text and "湛江万达广场商圈党支部：已纳入管理" in me.text


async def test_reject_with_a_reason_in_english(bot: RunningBot, org: dict[str, int]) -> None:
    emu = bot.emulator
    secretary = emu.user("Secretary Li", language_code="en")
    await grant(bot.database, secretary, "secretary", "tech-incubator")
    await meet(secretary)
    member = emu.user("Tom", language_code="en", phone="+8613900000001")
    payload = await invite_payload_of(bot.database, "tech-incubator")
    await onboard(member, "Tom Smith", "Member of this branch", payload=payload)
    assert "Your report to" in (await member.next_message()).text

    card = await secretary.next_message()
    assert "New report" in card.text and "Tom Smith" in card.text
    await secretary.press("❌ Reject")
    assert "reason" in (await secretary.next_message()).text
    await secretary.send("   ")
    assert "cannot be empty" in (await secretary.next_message()).text
    await secretary.send("Please report to the branch of your building")
    assert "Tom Smith has been told" in (await secretary.next_message()).text
    rejected = await member.next_message()
    assert "was not approved" in rejected.text
    assert "Please report to the branch of your building" in rejected.text
    (report,) = await memberships(bot)
    assert report.status is MembershipStatus.rejected

    # The card's buttons are old now: pressing Approve changes nothing.
    await secretary.press("✅ Approve", message=card)
    answer = await secretary.answer_of_last_press()
    assert answer.show_alert and "already been decided" in answer.text
    (report,) = await memberships(bot)
    assert report.status is MembershipStatus.rejected


async def test_bad_input_during_the_profile(bot: RunningBot, org: dict[str, int]) -> None:
    emu = bot.emulator
    member = emu.user("Ann", language_code="en", phone="+8613700000002")

    await member.send("/start r_forged-code")
    assert "not valid" in (await member.next_message()).text
    await member.next_message()  # welcome
    await member.next_message()  # consent
    await member.send("yes please")  # typed instead of pressing
    assert "buttons" in (await member.next_message()).text
    await member.next_message()  # the consent question again
    await member.press("I agree")
    await member.next_event()
    await member.next_message()  # name?

    for bad, expected in [
        ("", None),
        ("x" * 1000, "too long"),
        ("😀😀😀", "no digits or emoji"),
        ("Ann 2", "no digits or emoji"),
    ]:
        if not bad:
            continue
        await member.send(bad)
        assert expected in (await member.next_message()).text
    async with bot.database.sessions() as session:
        stored = await session.scalar(select(Member).where(Member.telegram_id == member.id))
        assert stored is not None and stored.real_name is None  # nothing bad was saved

    await member.send("安 Ann")
    await member.next_message()  # phone?
    await member.send("13800138000")  # typed
    assert "button" in (await member.next_message()).text
    await member.share_contact("+8613811112222", first_name="Someone", user_id=99999)
    assert "someone else's contact" in (await member.next_message()).text
    await member.share_contact("+8613811112222", first_name="Nobody")  # not a Telegram user
    assert "someone else's contact" in (await member.next_message()).text
    async with bot.database.sessions() as session:
        stored = await session.scalar(select(Member).where(Member.telegram_id == member.id))
        assert stored.real_name == "安 Ann" and stored.phone is None

    await member.send("/cancel")
    assert "Cancelled" in (await member.next_message()).text
    await member.send("hello")
    assert "didn't understand" in (await member.next_message()).text
    await member.send("/start")  # carries on where it stopped
    assert "not finished" in (await member.next_message()).text
    assert "phone" in (await member.next_message()).text


async def test_a_member_pressing_a_secretarys_button(bot: RunningBot, org: dict[str, int]) -> None:
    emu = bot.emulator
    secretary = emu.user("Sec", language_code="en")
    await grant(bot.database, secretary, "secretary", "wanda-plaza")
    await meet(secretary)
    member = emu.user("Mallory", language_code="en", phone="+8613600000003")
    payload = await invite_payload_of(bot.database, "wanda-plaza")
    await onboard(member, "Mallory", "Member of this branch", payload=payload)
    await member.next_message()
    card = await secretary.next_message()

    # A forged press: the member's own id, the secretary's callback data.
    await member.press("✅ Approve", message=card)
    answer = await member.answer_of_last_press()
    assert answer.show_alert and "may not do this" in answer.text
    (report,) = await memberships(bot)
    assert report.status is MembershipStatus.pending

    # So is a secretary of another branch.
    stranger = emu.user("Other Sec", language_code="en")
    await grant(bot.database, stranger, "secretary", "huaduhui")
    await meet(stranger)
    await stranger.press("✅ Approve", message=card)
    assert "may not do this" in (await stranger.answer_of_last_press()).text
    await stranger.send("/pending")
    assert "No reports are waiting" in (await stranger.next_message()).text
    (report,) = await memberships(bot)
    assert report.status is MembershipStatus.pending

    # A secretary of the committee above may decide.
    committee = emu.user("Committee Sec", language_code="en")
    await grant(bot.database, committee, "secretary", "zhanjiang-edz")
    await meet(committee)
    await committee.send("/pending")
    assert "waiting for approval: 1" in (await committee.next_message()).text
    await committee.next_message()
    await committee.press("✅ Approve")
    await committee.next_event()
    (report,) = await memberships(bot)
    assert report.status is MembershipStatus.active
    assert "has been approved" in (await member.next_message()).text

    # Garbage callback data gets a polite answer.
    await member.send("/me")
    me = await member.next_message()
    me.inline_keyboard[0][0]["callback_data"] = "rep:ok:notanumber"
    await member.press(me.buttons[0][0], message=me)
    assert "no longer works" in (await member.answer_of_last_press()).text


async def test_report_from_the_tree_leave_and_report_again(
    bot: RunningBot, org: dict[str, int]
) -> None:
    emu = bot.emulator
    secretary = emu.user("Sec", language_code="en")
    await grant(bot.database, secretary, "secretary", "huaduhui")
    await meet(secretary)
    member = emu.user("Lin", language_code="en", phone="+8613500000004")
    await onboard(member, "Lin Feng", "Not declared yet", workplace="华都汇 shop 12")
    me = await member.next_message()
    assert "You have not reported to any branch yet" in me.text

    await member.press("Report to a branch")
    step = await member.next_event()
    assert step.message.text == "Choose the branch to report to:"
    await member.press(short("Zhanjiang Development Zone Working Committee for New Economic"))
    await member.next_event()
    await member.press("Lehua Street Working Committee")
    await member.next_event()
    await member.press("Haibin North Community Committee")
    await member.next_event()
    await member.press(short("Zhanjiang Huaduhui Commercial District Branch"))
    confirm = await member.next_event()
    assert "Report to <b>" not in confirm.message.text  # shown formatted, not as markup
    assert "Zhanjiang Huaduhui Commercial District Branch" in confirm.message.text
    await member.press("Send my report")
    await member.next_event()
    assert "has been sent" in (await member.next_message()).text
    await secretary.next_message()
    await secretary.press("✅ Approve")
    await secretary.next_event()
    await member.next_message()

    # Reporting to a second branch is refused with the way out.
    await member.send("/me")
    await member.next_message()
    await member.press("Report to a branch")
    await member.next_event()
    await member.press(short("Zhanjiang Development Zone Working Committee for New Economic"))
    await member.next_event()
    await member.press("Huanlejia Building Committee")
    await member.next_event()
    await member.press(short("Zhanjiang Development Zone Technology Incubator Building Branch"))
    await member.next_event()
    await member.press("Send my report")
    await member.next_event()
    refused = await member.next_message()
    assert "Zhanjiang Huaduhui Commercial District Branch" in refused.text
    assert "leave it first" in refused.text

    await member.send("/me")
    me = await member.next_message()
    await member.press(short("Leave: Zhanjiang Huaduhui Commercial District Branch"), message=me)
    confirm = await member.next_message()
    assert "Leave <b>" not in confirm.text
    await member.press("Yes, leave", message=confirm)
    assert "You have left" in (await member.next_event()).message.text
    statuses = [m.status for m in await memberships(bot)]
    assert statuses == [MembershipStatus.left]


async def test_roster_register_remove_and_appoint(bot: RunningBot, org: dict[str, int]) -> None:
    emu = bot.emulator
    admin = emu.user("Admin", language_code="en")
    await grant(bot.database, admin, "admin", None)
    await meet(admin)
    secretary = emu.user("Sec", language_code="en")
    await grant(bot.database, secretary, "secretary", "wanda-plaza")
    await meet(secretary)
    payload = await invite_payload_of(bot.database, "wanda-plaza")
    people = [
        ("Zhao", "Floating member", "Home Branch A"),
        ("Qian", "Member of this branch", None),
        ("Sun", "Floating member", "Home Branch B"),
    ]
    persons = {}
    for index, (name, kind, home) in enumerate(people):
        person = persons[name] = emu.user(name, language_code="en", phone=f"+861380000000{index}")
        await onboard(person, name, kind, home_branch=home, payload=payload)
        await person.next_message()
        await secretary.next_message()
        await secretary.press("✅ Approve")
        await secretary.next_event()
        await person.next_message()

    await secretary.send("/roster")
    page = await secretary.next_message()
    assert "roster (All): 3" in page.text
    assert ["Floating", "Regular", "Undeclared"] == [b for b in page.buttons[-1][1:]]
    await secretary.press("Floating")
    page = (await secretary.next_event()).message
    assert "roster (Floating): 2" in page.text and "Qian" not in page.text
    await secretary.press("1. Sun")
    card = (await secretary.next_event()).message
    assert "Home Branch B" in card.text and "+8613800000002" in card.text
    assert "Make secretary" not in str(card.buttons)  # secretaries don't appoint

    await secretary.send("/register")
    document = await secretary.next_message()
    assert document.document_name.startswith("floating-register-wanda-plaza-")
    sheet = openpyxl.load_workbook(io.BytesIO(document.document_bytes)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Name", "Phone", "Home branch")
    assert sorted(r[0] for r in rows[1:]) == ["Sun", "Zhao"]

    # Remove Sun, who is told.
    await secretary.press("Remove from branch", message=card)
    confirm = (await secretary.next_event()).message
    assert "Remove Sun from" in confirm.text
    await secretary.press("Yes")
    assert "has been removed" in (await secretary.next_event()).message.text
    assert "no longer managed by" in (await persons["Sun"].next_message()).text
    statuses = sorted(m.status for m in await memberships(bot))
    assert statuses.count(MembershipStatus.left) == 1

    # The admin appoints Qian as organizer from the roster.
    await admin.send("/roster")
    choose = await admin.next_message()
    await admin.press(short("Zhanjiang Wanda Plaza Commercial District Branch"), message=choose)
    await admin.next_event()
    await admin.press("1. Qian")
    await admin.next_event()
    await admin.press("Make organizer")
    assert "Qian is now organizer" in (await admin.answer_of_last_press()).text
    async with bot.database.sessions() as session:
        grants = list(await session.scalars(select(RoleGrant).where(RoleGrant.role == "organizer")))
    assert len(grants) == 1


async def test_mydata_and_forget(bot: RunningBot, org: dict[str, int]) -> None:
    emu = bot.emulator
    member = emu.user("Eve", language_code="en", phone="+8613300000005")
    payload = await invite_payload_of(bot.database, "wanda-plaza")
    await onboard(member, "Eve Adams", "Floating member", home_branch="Shenzhen X", payload=payload)
    await member.next_message()

    await member.send("/mydata")
    document = await member.next_message()
    data = json.loads(document.document_bytes)
    assert "Eve Adams" in json.dumps(data, ensure_ascii=False)
    assert "+8613300000005" in json.dumps(data)

    await member.send("/forget")
    await member.next_message()
    await member.press("No, keep it")
    assert "nothing was deleted" in (await member.next_event()).message.text
    await member.send("/forget")
    await member.next_message()
    await member.press("Yes, delete my data")
    assert "has been deleted" in (await member.next_event()).message.text
    async with bot.database.sessions() as session:
        members = list(await session.scalars(select(Member)))
    assert len(members) == 1
    assert members[0].real_name is None and members[0].phone is None
    assert members[0].telegram_id is None and members[0].forgotten_at is not None
    (report,) = await memberships(bot)  # kept, anonymised
    assert report.member_id == members[0].id

    await member.send("/mydata")
    assert "Nothing personal" in (await member.next_message()).text


async def test_dual_reporting_to_the_community_and_transfer_out(
    bot: RunningBot, org: dict[str, int]
) -> None:
    from tests.e2e.conftest import enrol

    emu = bot.emulator
    community_secretary = emu.user("Community Sec", language_code="en")
    await grant(bot.database, community_secretary, "secretary", "haibinbei-community")
    await meet(community_secretary)
    branch_secretary = emu.user("Branch Sec", language_code="en")
    await grant(bot.database, branch_secretary, "secretary", "wanda-plaza")
    await meet(branch_secretary)
    member = emu.user("Wu", language_code="en")
    await enrol(bot, member, "Wu Lei", "wanda-plaza")

    await member.send("/me")
    await member.next_message()
    await member.press("Report to a community")
    assert "community" in (await member.next_event()).message.text
    await member.press(short("Zhanjiang Development Zone Working Committee for New Economic"))
    await member.next_event()
    await member.press("Lehua Street Working Committee")
    await member.next_event()
    await member.press("Haibin North Community Committee")
    await member.next_event()
    await member.press("Send my report")
    await member.next_event()
    assert "has been sent" in (await member.next_message()).text
    card = await community_secretary.next_message()
    assert "New community report" in card.text and "Wu Lei" in card.text
    await community_secretary.press("✅ Approve")
    await community_secretary.next_event()
    assert "approved" in (await member.next_message()).text
    statuses = sorted((m.kind, m.status) for m in await memberships(bot))
    assert statuses == [("community", "active"), ("primary", "active")]

    # The branch transfers the member out; the community membership stays.
    await branch_secretary.send("/roster")
    await branch_secretary.next_message()
    await branch_secretary.press("1. Wu Lei")
    await branch_secretary.next_event()
    await branch_secretary.press("Transfer out")
    confirm = (await branch_secretary.next_event()).message
    assert "Transfer Wu Lei out of" in confirm.text
    await branch_secretary.press("Yes")
    assert "transferred out" in (await branch_secretary.next_event()).message.text
    assert "no longer managed by" in (await member.next_message()).text
    statuses = sorted((m.kind, m.status) for m in await memberships(bot))
    assert statuses == [("community", "active"), ("primary", "transferred")]
