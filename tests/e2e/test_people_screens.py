"""Screens around members, reports, leave and the unit tree, end to end: a member's card as
the secretary sees it, who decides a report, refusals that say who may, reaching a branch in
the tree and its buttons' labels, file names dated in the unit's time zone, cards at night,
and a typed answer that goes to its own question when an invitation came in between.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from models.activities import Participation, ParticipationStatus
from models.members import Member, Membership, MembershipStatus, MemberType, set_member_type
from models.org import import_org
from models.outbox import Delivery, DeliveryStatus
from sandbox import Emulator
from sandbox.person import Person
from sandbox.state import ChatMessage
from tests.e2e.conftest import (
    THURSDAY_9AM,
    RunningBot,
    grant,
    invite_payload_of,
    meet,
    new_activity,
    onboard,
)
from tests.e2e.test_events import member, open_card, settle
from tests.e2e.texts import said, t
from views.buttons import ApproveReport, MakeSecretary, display_width, short

WANDA = "Zhanjiang Wanda Plaza Commercial District Branch"
WANDA_ZH = "湛江万达广场商圈党支部"
HUADUHUI = "Zhanjiang Huaduhui Commercial District Branch"
INCUBATOR = "Zhanjiang Development Zone Technology Incubator Building Branch"
LEJIN = "Lejin Community Party Branch"
LONGCHAO = "Longchao Community Committee"
LEHUA = "Lehua Street Working Committee"
WANDA_ADDRESS = "广东省湛江市经济技术开发区乐山东路 湛江万达广场"
REGULAR = t("en", "member_type.regular")
# A party group of Wanda Plaza, with long names in both languages.
GROUP = {
    "code": "wanda-first-group",
    "kind": "group",
    "parent": "wanda-plaza",
    "name_zh": "湛江万达广场商圈党支部第一党小组（商户和物业管理人员联合党小组）",
    "name_en": "First Party Group of the Wanda Plaza Branch for Shopkeepers and Property Staff",
}


async def add_units(bot: RunningBot, *units: dict[str, str]) -> None:
    async with bot.database.sessions.begin() as session:
        await import_org(session, {"unit": list(units)})


async def participation_in(
    bot: RunningBot, activity_id: int, person: Person
) -> Participation | None:
    """The person's row of the activity: None while they have not answered."""
    async with bot.database.sessions() as session:
        return await session.scalar(
            select(Participation)
            .join(Member, Member.id == Participation.member_id)
            .where(Participation.activity_id == activity_id, Member.telegram_id == person.id)
        )


async def leave_reason(bot: RunningBot, activity_id: int, person: Person) -> str | None:
    """The reason of the person's leave request, if they asked for leave."""
    row = await participation_in(bot, activity_id, person)
    if row is None or row.status is not ParticipationStatus.leave_requested:
        return None
    return row.leave_reason


async def membership_of(bot: RunningBot, person: Person) -> Membership:
    async with bot.database.sessions() as session:
        found = await session.scalar(
            select(Membership)
            .join(Member, Member.id == Membership.member_id)
            .where(Member.telegram_id == person.id)
            .order_by(Membership.id.desc())
        )
        assert found is not None
        return found


def sent_silently(emu: Emulator, chat_id: int) -> list[bool]:
    """Whether each message sent to this chat went without a sound, in order."""
    return [
        call.params.get("disable_notification") in (True, "true")
        for call in emu.calls("sendMessage")
        if str(call.params.get("chat_id")) == str(chat_id) and call.status == 200
    ]


def title_of(message: ChatMessage) -> str:
    return message.text.split("\n")[0]


# --- 1. a member's card is titled as the secretary's view, /me as the member's own ----------


async def test_a_members_card_is_not_my_information(bot: RunningBot, secretary: Person) -> None:
    wang = await member(bot, "王小明", secretary)
    await secretary.send("/roster")
    roster = await secretary.next_message()
    await secretary.press("1. 王小明", message=roster)
    card = (await secretary.next_event()).message
    details = said("zh", "staff.member_card", name="王小明", phone="", type="", workplace="")
    mine = said("zh", "profile.card", name="王小明", phone="", type="", workplace="")
    assert title_of(card) == details.split("\n")[0] != mine.split("\n")[0]
    assert "王小明" in card.text

    await wang.send("/me")
    assert title_of(await wang.next_message()) == mine.split("\n")[0]

    english = bot.emulator.user("Secretary Lin", language_code="en")
    await grant(bot.database, english, "secretary", "wanda-plaza")
    await meet(english)
    await english.send("/roster")
    roster = await english.next_message()
    await english.press("1. 王小明", message=roster)
    card = (await english.next_event()).message
    assert title_of(card) == t("en", "staff.member_card").split("\n")[0].strip("<b>/")


# --- 3. the member is told who decides their report -----------------------------------------


async def test_the_member_is_told_who_decides_for_every_kind_of_unit(
    bot: RunningBot, org: dict[str, int]
) -> None:
    await add_units(bot, GROUP)
    emu = bot.emulator
    admin = emu.user("Admin", language_code="en")
    await grant(bot.database, admin, "admin", None)
    await meet(admin)
    street = emu.user("Street Sec", language_code="en")
    await grant(bot.database, street, "secretary", "lehua-street")
    await meet(street)
    branch = emu.user("Branch Sec", language_code="en")
    await grant(bot.database, branch, "secretary", "wanda-plaza")
    await meet(branch)
    community = emu.user("社区书记", language_code="zh")
    await grant(bot.database, community, "secretary", "haibinbei-community")
    await meet(community)

    phones = iter(range(100, 200))

    async def reports(name: str, unit_code: str, language: str = "en") -> ChatMessage:
        """A new member reports to the unit by its QR code: what they are told."""
        person = emu.user(name, language_code=language, phone=f"+86137000{next(phones):05d}")
        payload = await invite_payload_of(bot.database, unit_code)
        member_type = t(language, "member_type.regular")
        await onboard(person, name, member_type, payload=payload)
        return await person.next_message()

    # A branch with its own secretary: the branch secretary.
    sent = await reports("Ada", "wanda-plaza")
    assert sent.text == said("en", "report.sent", unit=WANDA)
    assert "Ada" in (await branch.next_message()).text

    # A community with its own secretary: the community (said in Chinese here).
    sent = await reports("小周", "haibinbei-community", "zh")
    assert sent.text == said("zh", "report.sent_community", unit="海滨北社区党委")
    assert "社区审核" in sent.text and "支部书记" not in sent.text
    assert "小周" in (await community.next_message()).text

    # A community without one: the street committee above it, named.
    sent = await reports("Bea", "lejin-community")
    assert sent.text == said("en", "report.sent_reviewed_by", unit=LEJIN, reviewer=LEHUA)
    card = await street.next_message()
    assert "Bea" in card.text and LEJIN in card.text
    assert card.buttons == [[t("en", "report.approve_button"), t("en", "report.reject_button")]]

    # A party group: its branch's secretary, named.
    sent = await reports("Cid", "wanda-first-group")
    assert sent.text == said("en", "report.sent_reviewed_by", unit=GROUP["name_en"], reviewer=WANDA)
    assert "Cid" in (await branch.next_message()).text

    # Nobody's secretary up the tree: the admins.
    sent = await reports("Dot", "longchao-community")
    assert sent.text == said("en", "report.sent_admins", unit=LONGCHAO)
    assert "Dot" in (await admin.next_message()).text
    await street.expect_no_message(within=0.1)


# --- 4. refusals say who may, by the permission that gates them -------------------------------


async def test_refusals_say_who_may(bot: RunningBot, org: dict[str, int]) -> None:
    emu = bot.emulator
    organizer = emu.user("指导员", language_code="zh")
    await grant(bot.database, organizer, "organizer", "wanda-plaza")
    await meet(organizer)
    secretary = emu.user("Sec", language_code="en")
    await grant(bot.database, secretary, "secretary", "wanda-plaza")
    await meet(secretary)
    plain = await member(bot, "Tom", secretary, language="en")

    # Secretaries only: the register, the books, the figures, the reports to decide.
    for command in ("/register", "/export", "/stats", "/pending"):
        await organizer.send(command)
        refusal = await organizer.next_message()
        assert refusal.text == said("zh", "error.secretaries_only"), command
        assert "党建指导员" not in refusal.text
    # Secretaries and organizers: the roster, activities, notices.
    await organizer.send("/roster")
    assert t("zh", "staff.filter.all") in str((await organizer.next_message()).buttons)
    for command in ("/roster", "/new", "/activities", "/notify", "/qr"):
        await plain.send(command)
        assert (await plain.next_message()).text == said("en", "error.staff_only"), command

    # A press on something not theirs says who may press it.
    newcomer = emu.user("Eve", language_code="en", phone="+8613700000077")
    payload = await invite_payload_of(bot.database, "wanda-plaza")
    await onboard(newcomer, "Eve", REGULAR, payload=payload)
    await newcomer.next_message()
    await secretary.next_message()  # the card
    report = await membership_of(bot, newcomer)
    organizer.press_forged(organizer.chat.ordered()[-1], ApproveReport(report.id).pack())
    answer = await organizer.answer_of_last_press()
    assert answer.show_alert and answer.text == said("zh", "error.permission_denied")
    meeting = await new_activity(bot, secretary, "Branch meeting", kind="general_meeting")
    plain.press_forged(plain.chat.ordered()[-1], f"org:scr:{meeting.id}:0")
    answer = await plain.answer_of_last_press()
    assert answer.text == said("en", "error.permission_denied_staff")
    tom = await membership_of(bot, plain)
    secretary.press_forged(secretary.chat.ordered()[-1], MakeSecretary(tom.id).pack())
    answer = await secretary.answer_of_last_press()
    assert answer.text == said("en", "error.permission_denied_admins")
    assert report.status is MembershipStatus.pending
    assert (await membership_of(bot, newcomer)).status is MembershipStatus.pending


# --- 6. a branch is a tap away; long names are cut where a word ends ---------------------------


async def test_a_branch_is_one_tap_away_and_long_names_are_cut_at_a_word(
    bot: RunningBot, org: dict[str, int]
) -> None:
    await add_units(bot, GROUP)
    member_ = bot.emulator.user("Lin", language_code="en", phone="+8613500000004")
    await onboard(member_, "Lin Feng", REGULAR)
    me = await member_.next_message()
    await member_.press(t("en", "report.to_branch_button"), message=me)
    choice = (await member_.next_event()).message
    assert choice.text == said("en", "report.choose_branch")
    # Four units take reports in the example and the group: all of them, at once.
    group_label = short(GROUP["name_en"])
    assert choice.buttons == [
        [short(WANDA)],
        [group_label],
        [short(HUADUHUI)],
        [short(INCUBATOR)],
    ]
    # A long name is cut where a word ends, with an ellipsis, to at most 40 columns.
    assert group_label.endswith("…") and display_width(group_label) <= 40
    kept = group_label.removesuffix("…")
    assert GROUP["name_en"].startswith(kept) and GROUP["name_en"][len(kept)] == " "
    assert short(WANDA) == "Zhanjiang Wanda Plaza Commercial…"

    await member_.press(short(WANDA), message=choice)
    confirm = (await member_.next_event()).message
    assert confirm.text == said("en", "report.confirm", unit=WANDA, address=WANDA_ADDRESS)
    assert confirm.buttons == [
        [t("en", "report.send_button")],
        [t("en", "report.open_subunits")],  # its group
        [t("en", "button.back")],
    ]
    await member_.press(t("en", "button.back"), message=confirm)
    assert (await member_.next_event()).message.buttons == [
        [short(WANDA)],
        [group_label],
        [short(HUADUHUI)],
        [short(INCUBATOR)],
    ]
    await member_.press(short(HUADUHUI), message=choice)
    await member_.next_event()
    await member_.press(t("en", "report.send_button"), message=choice)
    await member_.next_event()
    admins = said("en", "report.sent_admins", unit=HUADUHUI)  # nobody's secretary here
    assert (await member_.next_message()).text == admins

    # In Chinese the long name is cut by width: a Chinese character takes two columns.
    zh = bot.emulator.user("小林", language_code="zh", phone="+8613500000005")
    await onboard(zh, "林小", t("zh", "member_type.regular"))
    me = await zh.next_message()
    await zh.press(t("zh", "report.to_branch_button"), message=me)
    labels = [row[0] for row in (await zh.next_event()).message.buttons]
    assert labels[0] == WANDA_ZH
    cut = labels[1]
    assert cut == short(GROUP["name_zh"]) and cut.endswith("…")
    assert display_width(cut) <= 40 and len(cut) <= 21
    assert GROUP["name_zh"].startswith(cut.removesuffix("…"))


async def test_community_reporting_is_one_tap_away_and_back_returns_there(
    bot: RunningBot, org: dict[str, int]
) -> None:
    from tests.e2e.conftest import enrol

    person = bot.emulator.user("Wu", language_code="en")
    await enrol(bot, person, "Wu Lei", "wanda-plaza")
    await person.send("/me")
    me = await person.next_message()
    await person.press(t("en", "report.community_button"), message=me)
    choice = (await person.next_event()).message
    communities = [["Haibin North Community Committee"], [LEJIN], [LONGCHAO]]
    assert choice.buttons == communities
    await person.press(LEJIN, message=choice)
    confirm = (await person.next_event()).message
    # A community has no communities below it: nothing more to open.
    assert confirm.buttons == [[t("en", "report.send_button")], [t("en", "button.back")]]
    await person.press(t("en", "button.back"), message=confirm)
    assert (await person.next_event()).message.buttons == communities


# --- 5. file names carry the date of the unit's time zone ---------------------------------------


async def test_file_names_carry_the_date_in_the_units_zone(
    bot: RunningBot, secretary: Person
) -> None:
    wang = await member(bot, "王小明", secretary)
    async with bot.database.sessions.begin() as session:
        found = await session.scalar(select(Member).where(Member.telegram_id == wang.id))
        assert found is not None
        set_member_type(found, MemberType.floating, "广州市某支部")
    # 16:30 on 1 December in UTC is already 00:30 on 2 December in Zhanjiang.
    bot.clock.set(datetime(2026, 12, 1, 16, 30, tzinfo=UTC))
    await secretary.send("/register")
    register = await secretary.next_message()
    assert register.document_name == "floating-register-wanda-plaza-20261202.xlsx"

    await secretary.send("/export")
    menu = await secretary.next_message()
    await secretary.press(t("zh", "export.what.roster"), message=menu)
    roster = await secretary.next_message()
    assert roster.document_name == "roster-wanda-plaza-20261202.xlsx"


# --- 7. at night a card to decide comes at once, silently; invitations wait ---------------------


async def test_at_night_a_leave_request_comes_silently_and_an_invitation_waits(
    bot: RunningBot, secretary: Person
) -> None:
    wang = await member(bot, "王小明", secretary)
    lecture = await new_activity(bot, secretary, "党课：学习新思想", kind="lecture")
    await settle(bot, wang, secretary)
    bot.clock.set(bot.clock.now().replace(hour=15))  # 23:30 in Zhanjiang: quiet hours

    await open_card(wang, "党课")
    await wang.press(t("zh", "events.leave_button"))
    await wang.next_message()
    await wang.send("家中有事")
    await wang.next_message()  # sent
    await wang.next_message()  # the card
    card = await secretary.next_message()
    assert "家中有事" in card.text and "党课：学习新思想" in card.text
    assert sent_silently(bot.emulator, secretary.id)[-1] is True

    # An invitation to a new meeting is not a card: it waits for the morning.
    later = THURSDAY_9AM + timedelta(days=2)
    meeting = await new_activity(bot, secretary, "支部党员大会", later, kind="general_meeting")
    await bot.runtime.scheduler.run_once()
    await wang.expect_no_message(within=0.3)
    async with bot.database.sessions() as session:
        waiting = list(await session.scalars(select(Delivery).where(Delivery.chat_id == wang.id)))
    (invitation,) = [d for d in waiting if d.status is DeliveryStatus.pending]
    assert invitation.kind == "announcement" and invitation.due_at.hour == 0  # 08:00 local
    bot.clock.set(bot.clock.now().replace(hour=0) + timedelta(days=1))
    await bot.runtime.scheduler.run_once()
    assert "支部党员大会" in (await wang.next_message()).text
    assert sent_silently(bot.emulator, wang.id)[-1] is False
    assert await leave_reason(bot, lecture.id, wang) == "家中有事"
    assert await leave_reason(bot, meeting.id, wang) is None


# --- 2. an answer goes to its own question ---------------------------------------------------


async def test_a_reason_goes_to_the_leave_asked_though_an_invitation_came_between(
    bot: RunningBot, secretary: Person
) -> None:
    wang = await member(bot, "王小明", secretary)
    lecture = await new_activity(bot, secretary, "党课：学习新思想", kind="lecture")
    await settle(bot, wang, secretary)
    await open_card(wang, "党课")
    await wang.press(t("zh", "events.leave_button"))
    question = await wang.next_message()
    assert question.text == said("zh", "events.ask_leave_reason", title="党课：学习新思想")
    placeholder = t("zh", "events.leave_placeholder")
    assert question.reply_markup == {"force_reply": True, "input_field_placeholder": placeholder}

    # An invitation to another meeting arrives before the member answers.
    later = THURSDAY_9AM + timedelta(days=2)
    meeting = await new_activity(bot, secretary, "支部党员大会", later, kind="general_meeting")
    await bot.runtime.scheduler.run_once()
    invitation = await wang.next_message()
    assert "支部党员大会" in invitation.text

    # Answered on the invitation, the reason is not taken for the lecture's leave.
    await wang.send("出差在外", reply_to=invitation)
    assert (await wang.next_message()).text == said("zh", "conversation.answer_elsewhere")
    again = await wang.next_message()
    assert again.text == question.text and again.reply_markup == question.reply_markup
    assert await leave_reason(bot, lecture.id, wang) is None
    await secretary.expect_no_message(within=0.1)

    # As a reply to the question (what ForceReply makes a Telegram app do), it is.
    await wang.send("家中有事", reply_to=question)
    sent = await wang.next_message()
    assert sent.text == said("zh", "events.leave_sent", title="党课：学习新思想")
    assert "党课：学习新思想" in (await wang.next_message()).text  # the lecture's card
    assert await leave_reason(bot, lecture.id, wang) == "家中有事"
    assert await leave_reason(bot, meeting.id, wang) is None
    card = await secretary.next_message()
    assert "党课：学习新思想" in card.text and "家中有事" in card.text

    # Leave from the meeting is asked next; a reply to the lecture's question, earlier, is
    # not its answer; a reason typed with no reply at all is.
    await wang.press(t("zh", "manage.open_card"), message=invitation)
    await wang.next_event()  # the invitation becomes the meeting's card
    await wang.press(t("zh", "events.leave_button"), message=invitation)
    asked = await wang.next_message()
    assert asked.text == said("zh", "events.ask_leave_reason", title="支部党员大会")
    await wang.send("还是出差", reply_to=question)
    assert (await wang.next_message()).text == said("zh", "conversation.answer_elsewhere")
    assert (await wang.next_message()).text == asked.text
    await wang.send("出差在外")
    sent = await wang.next_message()
    assert sent.text == said("zh", "events.leave_sent", title="支部党员大会")
    await wang.next_message()  # the meeting's card
    assert await leave_reason(bot, meeting.id, wang) == "出差在外"
    assert await leave_reason(bot, lecture.id, wang) == "家中有事"


async def test_every_typed_question_is_asked_with_force_reply(
    bot: RunningBot, secretary: Person
) -> None:
    """Not only leave: a rejection's reason, with its own placeholder; the profile's home
    branch, with the general one; a reply to an earlier message is not taken there either."""
    member_ = bot.emulator.user("Ann", language_code="en", phone="+8613700000002")
    payload = await invite_payload_of(bot.database, "wanda-plaza")
    await member_.send(f"/start {payload}")
    await member_.next_message()  # welcome
    await member_.next_message()  # consent
    await member_.press(t("en", "profile.consent_yes"))
    await member_.next_event()
    name_question = await member_.next_message()
    await member_.send("Ann Lee")
    await member_.next_message()
    await member_.tap(t("en", "profile.share_phone"))
    await member_.next_message()
    await member_.next_message()
    await member_.press(t("en", "member_type.floating"))
    await member_.next_event()
    home = await member_.next_message()
    assert home.text == said("en", "profile.ask_home_branch")
    general = t("en", "conversation.placeholder")
    assert home.reply_markup == {"force_reply": True, "input_field_placeholder": general}
    await member_.send("Shenzhen Branch", reply_to=name_question)  # an earlier question's
    assert (await member_.next_message()).text == said("en", "conversation.answer_elsewhere")
    assert (await member_.next_message()).text == home.text
    await member_.send("Shenzhen Branch", reply_to=home)
    assert (await member_.next_message()).text == said("en", "profile.ask_workplace")

    await member_.press(t("en", "profile.skip"))
    await member_.next_event()
    await member_.next_message()  # saved
    await member_.next_message()  # sent
    card = await secretary.next_message()
    await secretary.press(t("zh", "report.reject_button"), message=card)
    asked = await secretary.next_message()
    own = t("zh", "report.reason_placeholder")
    assert asked.reply_markup == {"force_reply": True, "input_field_placeholder": own}
    await secretary.send("请向所在楼宇的支部报到", reply_to=asked)
    assert (await secretary.next_message()).text == said(
        "zh", "report.rejected_done", name="Ann Lee"
    )


def test_placeholders_fit_telegrams_limit() -> None:
    from handlers.conversation import CONVERSATIONS

    for conversation in CONVERSATIONS.values():
        for step in conversation.steps.values():
            for language in ("zh", "en"):
                assert 1 <= len(t(language, step.placeholder)) <= 64, step.placeholder
