"""报到 end to end: members and secretaries side by side, through the emulator."""

from __future__ import annotations

import io
import json

import openpyxl
from sqlalchemy import select

from models.members import Member, Membership, MembershipStatus
from models.permissions import RoleGrant
from sandbox import decode_qr
from tests.e2e.conftest import RunningBot, grant, invite_payload_of, meet, onboard
from tests.e2e.texts import said, t
from views.buttons import short

# Units of examples/org.example.toml, as people see their names.
WANDA_ZH = "湛江万达广场商圈党支部"
WANDA = "Zhanjiang Wanda Plaza Commercial District Branch"
HUADUHUI = "Zhanjiang Huaduhui Commercial District Branch"
HUADUHUI_ADDRESS = "广东省湛江市经济技术开发区人民大道中 湛江华都汇购物中心"
INCUBATOR = "Zhanjiang Development Zone Technology Incubator Building Branch"
HAIBIN = "Haibin North Community Committee"
# START_TIME in Zhanjiang, as lists and cards show it.
STARTED = "2026-03-10 09:30"


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
    assert welcome.text == said("zh", "start.welcome", name="小王")
    consent = await member.next_message()
    assert consent.text == said("zh", "profile.consent")
    assert consent.buttons == [[t("zh", "profile.consent_yes")], [t("zh", "profile.consent_no")]]
    await member.press(t("zh", "profile.consent_yes"))
    await member.next_event()
    assert (await member.next_message()).text == said("zh", "profile.ask_name")
    await member.send("王小明")
    phone_question = await member.next_message()
    assert member.reply_keyboard == [[t("zh", "profile.share_phone")]]
    assert phone_question.text == said("zh", "profile.ask_phone")
    await member.tap(t("zh", "profile.share_phone"))
    assert (await member.next_message()).text == said("zh", "profile.phone_saved")
    type_question = await member.next_message()
    assert type_question.buttons == [
        [t("zh", "member_type.regular")],
        [t("zh", "member_type.floating")],
        [t("zh", "member_type.undeclared")],
    ]
    await member.press(t("zh", "member_type.floating"))
    await member.next_event()
    assert (await member.next_message()).text == said("zh", "profile.ask_home_branch")
    await member.send("广州市天河区某街道党支部")
    assert (await member.next_message()).text == said("zh", "profile.ask_workplace")
    await member.send("万达广场某商户")
    assert (await member.next_message()).text == said("zh", "profile.saved")
    sent = await member.next_message()
    assert sent.text == said("zh", "report.sent", unit=WANDA_ZH)

    # The secretary gets the member's card within the same second.
    card = await secretary.next_message()
    floating = t("zh", "member_type.floating")
    home = t("zh", "profile.home_branch_suffix", home="广州市天河区某街道党支部")
    assert card.text == said(
        "zh",
        "report.card",
        name="王小明",
        type=floating + home,
        phone="+8613800138000",
        workplace="万达广场某商户",
        unit=WANDA_ZH,
        time=STARTED,
    )
    assert "王小明" in card.text and floating in card.text
    assert "+8613800138000" in card.text and "广州市天河区某街道党支部" in card.text
    assert card.buttons == [[t("zh", "report.approve_button"), t("zh", "report.reject_button")]]
    (report,) = await memberships(bot)
    assert report.status is MembershipStatus.pending

    await secretary.press(t("zh", "report.approve_button"))
    edited = await secretary.next_event()
    assert said("zh", "report.card_approved") in edited.message.text
    assert edited.message.buttons == []
    assert (await secretary.answer_of_last_press()).text == said("zh", "report.approved_short")
    approved = await member.next_message()
    assert approved.text == said("zh", "report.approved", unit=WANDA_ZH)
    (report,) = await memberships(bot)
    assert report.status is MembershipStatus.active and report.decided_by == secretary.id

    await member.send("/me")
    me = await member.next_message()
    active = t("zh", "membership.status.active")
    assert "王小明" in me.text
    assert said("zh", "profile.unit_line", unit=WANDA_ZH, status=active, since=STARTED) in me.text


async def test_reject_with_a_reason_in_english(bot: RunningBot, org: dict[str, int]) -> None:
    emu = bot.emulator
    secretary = emu.user("Secretary Li", language_code="en")
    await grant(bot.database, secretary, "secretary", "tech-incubator")
    await meet(secretary)
    member = emu.user("Tom", language_code="en", phone="+8613900000001")
    payload = await invite_payload_of(bot.database, "tech-incubator")
    await onboard(member, "Tom Smith", t("en", "member_type.regular"), payload=payload)
    assert (await member.next_message()).text == said("en", "report.sent", unit=INCUBATOR)

    card = await secretary.next_message()
    assert card.text == said(
        "en",
        "report.card",
        name="Tom Smith",
        type=t("en", "member_type.regular"),
        phone="+8613900000001",
        workplace="—",
        unit=INCUBATOR,
        time=STARTED,
    )
    assert "Tom Smith" in card.text
    await secretary.press(t("en", "report.reject_button"))
    asked = said("en", "report.ask_reason", name="Tom Smith")
    assert (await secretary.next_message()).text == asked
    await secretary.send("   ")
    assert (await secretary.next_message()).text == said("en", "error.reason_empty")
    reason = "Please report to the branch of your building"
    await secretary.send(reason)
    told = said("en", "report.rejected_done", name="Tom Smith")
    assert (await secretary.next_message()).text == told
    rejected = await member.next_message()
    assert rejected.text == said("en", "report.rejected", unit=INCUBATOR, reason=reason)
    assert "Please report to the branch of your building" in rejected.text
    (report,) = await memberships(bot)
    assert report.status is MembershipStatus.rejected

    # The card's buttons are old now: pressing Approve changes nothing.
    await secretary.press(t("en", "report.approve_button"), message=card)
    answer = await secretary.answer_of_last_press()
    assert answer.show_alert and answer.text == said("en", "error.report_already_decided")
    (report,) = await memberships(bot)
    assert report.status is MembershipStatus.rejected


async def test_bad_input_during_the_profile(bot: RunningBot, org: dict[str, int]) -> None:
    emu = bot.emulator
    member = emu.user("Ann", language_code="en", phone="+8613700000002")

    await member.send("/start r_forged-code")
    assert (await member.next_message()).text == said("en", "report.bad_invite")
    await member.next_message()  # welcome
    await member.next_message()  # consent
    await member.send("yes please")  # typed instead of pressing
    assert (await member.next_message()).text == said("en", "profile.use_buttons")
    await member.next_message()  # the consent question again
    await member.press(t("en", "profile.consent_yes"))
    await member.next_event()
    await member.next_message()  # name?

    for bad, expected in [
        ("", None),
        ("x" * 1000, "error.name_too_long"),
        ("😀😀😀", "error.name_invalid"),
        ("Ann 2", "error.name_invalid"),
    ]:
        if not bad:
            continue
        await member.send(bad)
        assert (await member.next_message()).text == said("en", expected)
    async with bot.database.sessions() as session:
        stored = await session.scalar(select(Member).where(Member.telegram_id == member.id))
        assert stored is not None and stored.real_name is None  # nothing bad was saved

    await member.send("安 Ann")
    await member.next_message()  # phone?
    await member.send("13800138000")  # typed
    assert (await member.next_message()).text == said("en", "profile.use_phone_button")
    await member.share_contact("+8613811112222", first_name="Someone", user_id=99999)
    assert (await member.next_message()).text == said("en", "profile.not_own_contact")
    await member.share_contact("+8613811112222", first_name="Nobody")  # not a Telegram user
    assert (await member.next_message()).text == said("en", "profile.not_own_contact")
    async with bot.database.sessions() as session:
        stored = await session.scalar(select(Member).where(Member.telegram_id == member.id))
        assert stored.real_name == "安 Ann" and stored.phone is None

    await member.send("/cancel")
    assert (await member.next_message()).text == said("en", "cancel.done")
    await member.send("hello")
    assert (await member.next_message()).text == said("en", "error.unexpected_message")
    await member.send("/start")  # carries on where it stopped
    assert (await member.next_message()).text == said("en", "profile.resume")
    assert (await member.next_message()).text == said("en", "profile.ask_phone")


async def test_a_member_pressing_a_secretarys_button(bot: RunningBot, org: dict[str, int]) -> None:
    emu = bot.emulator
    secretary = emu.user("Sec", language_code="en")
    await grant(bot.database, secretary, "secretary", "wanda-plaza")
    await meet(secretary)
    member = emu.user("Mallory", language_code="en", phone="+8613600000003")
    payload = await invite_payload_of(bot.database, "wanda-plaza")
    await onboard(member, "Mallory", t("en", "member_type.regular"), payload=payload)
    await member.next_message()
    card = await secretary.next_message()

    # A forged press: the member's own id, the secretary's callback data.
    await member.press(t("en", "report.approve_button"), message=card)
    answer = await member.answer_of_last_press()
    assert answer.show_alert and answer.text == said("en", "error.permission_denied")
    (report,) = await memberships(bot)
    assert report.status is MembershipStatus.pending

    # So is a secretary of another branch.
    stranger = emu.user("Other Sec", language_code="en")
    await grant(bot.database, stranger, "secretary", "huaduhui")
    await meet(stranger)
    await stranger.press(t("en", "report.approve_button"), message=card)
    refusal = said("en", "error.permission_denied")
    assert (await stranger.answer_of_last_press()).text == refusal
    await stranger.send("/pending")
    assert (await stranger.next_message()).text == said("en", "report.none_pending")
    (report,) = await memberships(bot)
    assert report.status is MembershipStatus.pending

    # A secretary of the committee above may decide.
    committee = emu.user("Committee Sec", language_code="en")
    await grant(bot.database, committee, "secretary", "zhanjiang-edz")
    await meet(committee)
    await committee.send("/pending")
    listing = await committee.next_message()
    line = said("en", "report.pending_line", number=1, name="Mallory", unit=WANDA, time=STARTED)
    assert listing.text == said("en", "report.pending_title", count=1) + "\n" + line
    await committee.press("1. Mallory")  # its card comes under the list
    assert (await committee.next_message()).text == card.text
    await committee.press(t("en", "report.approve_button"))
    await committee.next_event()
    (report,) = await memberships(bot)
    assert report.status is MembershipStatus.active
    assert (await member.next_message()).text == said("en", "report.approved", unit=WANDA)

    # Garbage callback data gets a polite answer.
    await member.send("/me")
    me = await member.next_message()
    member.press_forged(me, "rep:ok:notanumber")
    assert (await member.answer_of_last_press()).text == said("en", "error.stale_button")


async def test_report_from_the_tree_leave_and_report_again(
    bot: RunningBot, org: dict[str, int]
) -> None:
    emu = bot.emulator
    secretary = emu.user("Sec", language_code="en")
    await grant(bot.database, secretary, "secretary", "huaduhui")
    await meet(secretary)
    member = emu.user("Lin", language_code="en", phone="+8613500000004")
    await onboard(member, "Lin Feng", t("en", "member_type.undeclared"), workplace="华都汇 shop 12")
    me = await member.next_message()
    assert said("en", "profile.no_units") in me.text

    await member.press(t("en", "report.to_branch_button"))
    step = await member.next_event()
    assert step.message.text == said("en", "report.choose_branch")
    # The example has three branches: all of them at once, one tap away.
    assert step.message.buttons == [[short(WANDA)], [short(HUADUHUI)], [short(INCUBATOR)]]
    await member.press(short(HUADUHUI))
    confirm = await member.next_event()
    # shown formatted, not as markup
    shown = said("en", "report.confirm", unit=HUADUHUI, address=HUADUHUI_ADDRESS)
    assert confirm.message.text == shown
    assert "Zhanjiang Huaduhui Commercial District Branch" in confirm.message.text
    await member.press(t("en", "report.send_button"))
    await member.next_event()
    assert (await member.next_message()).text == said("en", "report.sent", unit=HUADUHUI)
    await secretary.next_message()
    await secretary.press(t("en", "report.approve_button"))
    await secretary.next_event()
    await member.next_message()

    # Reporting to a second branch is refused with the way out.
    await member.send("/me")
    await member.next_message()
    await member.press(t("en", "report.to_branch_button"))
    await member.next_event()
    await member.press(short(INCUBATOR))
    await member.next_event()
    await member.press(t("en", "report.send_button"))
    await member.next_event()
    refused = await member.next_message()
    assert "Zhanjiang Huaduhui Commercial District Branch" in refused.text
    assert refused.text == said("en", "error.report_primary_elsewhere", unit=HUADUHUI)

    await member.send("/me")
    me = await member.next_message()
    await member.press(short(t("en", "profile.leave_button", unit=HUADUHUI)), message=me)
    confirm = await member.next_message()
    assert confirm.text == said("en", "leave.confirm", unit=HUADUHUI)  # formatted, not markup
    await member.press(t("en", "leave.confirm_button"), message=confirm)
    assert (await member.next_event()).message.text == said("en", "leave.done", unit=HUADUHUI)
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
        ("Zhao", t("en", "member_type.floating"), "Home Branch A"),
        ("Qian", t("en", "member_type.regular"), None),
        ("Sun", t("en", "member_type.floating"), "Home Branch B"),
    ]
    persons = {}
    for index, (name, kind, home) in enumerate(people):
        person = persons[name] = emu.user(name, language_code="en", phone=f"+861380000000{index}")
        await onboard(person, name, kind, home_branch=home, payload=payload)
        await person.next_message()
        await secretary.next_message()
        await secretary.press(t("en", "report.approve_button"))
        await secretary.next_event()
        await person.next_message()

    floating = t("en", "staff.filter.floating")
    await secretary.send("/roster")
    page = await secretary.next_message()
    everyone = t("en", "staff.filter.all")
    assert said("en", "staff.roster_title", unit=WANDA, filter=everyone, total=3) in page.text
    assert [floating, t("en", "staff.filter.regular"), t("en", "staff.filter.undeclared")] == [
        b for b in page.buttons[-1][1:]
    ]
    await secretary.press(floating)
    page = (await secretary.next_event()).message
    assert said("en", "staff.roster_title", unit=WANDA, filter=floating, total=2) in page.text
    assert "Qian" not in page.text
    await secretary.press("1. Sun")
    card = (await secretary.next_event()).message
    assert "Home Branch B" in card.text and "+8613800000002" in card.text
    assert t("en", "staff.make_secretary") not in str(card.buttons)  # secretaries don't appoint

    await secretary.send("/register")
    document = await secretary.next_message()
    assert document.document_name.startswith("floating-register-wanda-plaza-")
    sheet = openpyxl.load_workbook(io.BytesIO(document.document_bytes)).active
    rows = list(sheet.iter_rows(values_only=True))
    columns = ("register.column.name", "register.column.phone", "register.column.home_branch")
    assert rows[0][:3] == tuple(t("en", key) for key in columns)
    assert sorted(r[0] for r in rows[1:]) == ["Sun", "Zhao"]

    # Remove Sun, who is told.
    await secretary.press(t("en", "staff.remove_button"), message=card)
    confirm = (await secretary.next_event()).message
    assert confirm.text == said("en", "staff.remove_confirm", name="Sun", unit=WANDA)
    await secretary.press(t("en", "staff.yes_button"))
    removed = said("en", "staff.removed", name="Sun", unit=WANDA)
    assert (await secretary.next_event()).message.text == removed
    told = said("en", "staff.member_told_removed", unit=WANDA)
    assert (await persons["Sun"].next_message()).text == told
    statuses = sorted(m.status for m in await memberships(bot))
    assert statuses.count(MembershipStatus.left) == 1

    # The admin appoints Qian as organizer from the roster.
    await admin.send("/roster")
    choose = await admin.next_message()
    await admin.press(short("Zhanjiang Wanda Plaza Commercial District Branch"), message=choose)
    await admin.next_event()
    await admin.press("1. Qian")
    await admin.next_event()
    await admin.press(t("en", "staff.make_organizer"))
    appointed = said("en", "staff.appointed", name="Qian", role=t("en", "role.organizer"))
    assert (await admin.answer_of_last_press()).text == appointed
    async with bot.database.sessions() as session:
        grants = list(await session.scalars(select(RoleGrant).where(RoleGrant.role == "organizer")))
    assert len(grants) == 1


async def test_mydata_and_forget(bot: RunningBot, org: dict[str, int]) -> None:
    emu = bot.emulator
    member = emu.user("Eve", language_code="en", phone="+8613300000005")
    payload = await invite_payload_of(bot.database, "wanda-plaza")
    floating = t("en", "member_type.floating")
    await onboard(member, "Eve Adams", floating, home_branch="Shenzhen X", payload=payload)
    await member.next_message()

    await member.send("/mydata")
    document = await member.next_message()
    data = json.loads(document.document_bytes)
    assert "Eve Adams" in json.dumps(data, ensure_ascii=False)
    assert "+8613300000005" in json.dumps(data)

    await member.send("/forget")
    await member.next_message()
    await member.press(t("en", "forget.keep_button"))
    assert (await member.next_event()).message.text == said("en", "forget.kept")
    await member.send("/forget")
    await member.next_message()
    await member.press(t("en", "forget.confirm_button"))
    assert (await member.next_event()).message.text == said("en", "forget.done")
    async with bot.database.sessions() as session:
        members = list(await session.scalars(select(Member)))
    assert len(members) == 1
    assert members[0].real_name is None and members[0].phone is None
    assert members[0].telegram_id is None and members[0].forgotten_at is not None
    (report,) = await memberships(bot)  # kept, anonymised
    assert report.member_id == members[0].id

    await member.send("/mydata")
    assert (await member.next_message()).text == said("en", "profile.nothing_stored")


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
    await member.press(t("en", "report.community_button"))
    assert (await member.next_event()).message.text == said("en", "report.choose_community")
    await member.press("Haibin North Community Committee")
    await member.next_event()
    await member.press(t("en", "report.send_button"))
    await member.next_event()
    assert (await member.next_message()).text == said("en", "report.sent_community", unit=HAIBIN)
    card = await community_secretary.next_message()
    assert card.text == said(
        "en",
        "report.card_community",
        name="Wu Lei",
        type=t("en", "member_type.regular"),
        phone=f"+86138{member.id:08d}",
        workplace="—",
        unit=HAIBIN,
        time=STARTED,
    )
    assert "Wu Lei" in card.text
    await community_secretary.press(t("en", "report.approve_button"))
    await community_secretary.next_event()
    assert (await member.next_message()).text == said("en", "report.approved", unit=HAIBIN)
    statuses = sorted((m.kind, m.status) for m in await memberships(bot))
    assert statuses == [("community", "active"), ("primary", "active")]

    # The branch transfers the member out; the community membership stays.
    await branch_secretary.send("/roster")
    await branch_secretary.next_message()
    await branch_secretary.press("1. Wu Lei")
    await branch_secretary.next_event()
    await branch_secretary.press(t("en", "staff.transfer_button"))
    confirm = (await branch_secretary.next_event()).message
    assert confirm.text == said("en", "staff.transfer_confirm", name="Wu Lei", unit=WANDA)
    await branch_secretary.press(t("en", "staff.yes_button"))
    transferred = said("en", "staff.transferred", name="Wu Lei", unit=WANDA)
    assert (await branch_secretary.next_event()).message.text == transferred
    told = said("en", "staff.member_told_removed", unit=WANDA)
    assert (await member.next_message()).text == told
    statuses = sorted((m.kind, m.status) for m in await memberships(bot))
    assert statuses == [("community", "active"), ("primary", "transferred")]
