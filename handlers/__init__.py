"""The Telegram side: one module per feature, all wired up in `register`.

A handler parses the update, calls the domain (models) with the update's session
(`context.session`, see handlers.work), and renders the result; refusals are
rendered by handlers.errors. Every button kind (views.buttons) has one handler in
PRESSES; every multi-step question is a handlers.conversation.Conversation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from handlers import (
    account,
    check_in_code,
    checkin,
    common,
    errors,
    events,
    exports,
    groups,
    input,
    leave,
    made_up,
    manage,
    my_calendar,
    new_activity,
    notices,
    notify,
    picker,
    profile,
    record,
    reporting,
    roster,
    screens,
    signup,
    staff,
    stats,
    venue,
)
from handlers.context import BotContext
from handlers.ui import answer_press
from views import buttons as b

PressHandler = Callable[[Update, BotContext, Any], Awaitable[str | None]]

COMMANDS: dict[str, Callable[[Update, BotContext], Awaitable[None]]] = {
    "start": profile.start,
    "help": common.help_command,
    "language": common.language_command,
    "cancel": profile.cancel,
    "me": profile.show_me,
    "mydata": profile.my_data,
    "forget": profile.forget_command,
    "events": events.events_command,
    "record": record.record_command,
    "calendar": my_calendar.calendar_command,
    "pending": reporting.pending_command,
    "qr": reporting.qr_command,
    "roster": staff.roster_command,
    "register": staff.register_command,
    "export": exports.export_command,
    "unreachable": staff.unreachable_command,
    "new": new_activity.new_command,
    "activities": manage.activities_command,
    "notify": notify.notify_command,
    "notices": notices.notices_command,
    "stats": stats.stats_command,
    "link": groups.links_command,
    "unlink": groups.links_command,  # it is sent in the group: the list says how
}

# In a group chat: these, and one line for any other command of COMMANDS (handlers.groups).
GROUP_COMMANDS: dict[str, Callable[[Update, BotContext], Awaitable[None]]] = {
    "link": groups.link_command,
    "unlink": groups.unlink_command,
    "help": groups.help_command,
}

PRESSES: dict[type[b.Button], PressHandler] = {
    b.ChooseLanguage: common.language_chosen,
    b.PageShown: common.page_shown,
    # the profile
    b.Consent: profile.consent_chosen,
    b.ChooseMemberType: profile.type_chosen,
    b.SkipWorkplace: profile.workplace_skipped,
    b.EditProfile: profile.edit_pressed,
    b.AskLeaveUnit: lambda u, c, press: reporting.confirm_leave(u, c, press.unit_id),
    b.ConfirmForget: profile.forget_confirmed,
    b.KeepData: profile.data_kept,
    # reporting
    b.BrowseUnits: reporting.browse,
    b.BrowsePage: reporting.browse_page,
    b.PickUnit: reporting.pick,
    b.SendReport: reporting.send_pressed,
    b.ApproveReport: reporting.approve_pressed,
    b.RejectReport: reporting.reject_pressed,
    b.PendingPage: reporting.show_pending,
    b.OpenReport: reporting.open_report,
    b.LeaveUnit: reporting.leave_confirmed,
    b.StayInUnit: reporting.stay_pressed,
    b.ReportingPointQr: reporting.send_qr,
    b.QrUnits: reporting.choose_qr,
    # the secretary's books
    b.RosterUnits: staff.choose_roster,
    b.RosterOf: staff.open_roster,
    b.RosterPage: staff.show_page,
    b.MemberCard: staff.show_member,
    b.AskRemove: staff.ask_end,
    b.AskTransfer: staff.ask_end,
    b.RemoveMember: staff.end_membership,
    b.TransferOut: staff.end_membership,
    b.MakeSecretary: staff.appoint_pressed,
    b.MakeOrganizer: staff.appoint_pressed,
    b.RegisterUnits: staff.choose_register,
    b.RegisterOf: staff.send_register,
    b.UnreachablePage: staff.show_unreachable,
    # exports
    b.ExportUnit: exports.unit_chosen,
    b.ExportUnits: exports.choose_unit,
    b.ExportMenu: exports.export_menu,
    b.ExportFile: exports.export_file,
    b.SignInSheet: exports.sign_in_pressed,
    # activities, the member's side
    b.EventsPage: events.show_list,
    b.RecordPage: record.show_record,
    b.RecordYear: record.show_year,
    b.MyCalendar: my_calendar.calendar_pressed,
    b.ShowCard: events.card_pressed,
    b.OpenCard: events.card_sent_anew,
    b.CalendarFile: events.send_calendar,
    b.SignUp: signup.sign_up_pressed,
    b.CancelSignUp: signup.cancel_pressed,
    b.Attend: signup.attend_pressed,
    b.AskLeave: leave.leave_pressed,
    b.ApproveLeave: leave.decide_pressed,
    b.DecideLeaveInList: leave.decide_in_list,
    b.DeclineLeave: leave.decide_pressed,
    b.AskCheckIn: checkin.checkin_pressed,
    b.EnterCode: check_in_code.code_pressed,
    b.ConfirmCheckIn: checkin.check_in_confirmed,
    b.ConfirmCheckOut: checkin.check_out_confirmed,
    b.AskCheckOut: checkin.check_out_pressed,
    # /new
    b.NewKind: new_activity.kind_chosen,
    b.NewUnits: new_activity.units_page,
    b.NewUnit: new_activity.unit_chosen,
    b.NewDay: picker.day_chosen,
    b.NewTime: picker.time_chosen,
    b.NewDuration: new_activity.duration_chosen,
    b.NoCapacityLimit: new_activity.no_limit_chosen,
    b.UntilStart: new_activity.until_start_chosen,
    b.NewPledge: new_activity.pledge_chosen,
    b.NewRepeat: new_activity.repeat_chosen,
    b.VenueOfUnit: new_activity.venue_of_unit_chosen,
    b.NoVenue: new_activity.no_venue_chosen,
    b.CheckInToggle: venue.toggled,
    b.CheckInRadius: venue.radius_chosen,
    b.CheckInContinue: new_activity.checkin_done,
    b.SkipStep: new_activity.step_skipped,
    b.Publish: new_activity.published,
    b.Discard: new_activity.discarded,
    # managing activities
    b.ManagePage: manage.show_list,
    b.PastActivities: manage.show_list,
    b.ManageActivity: manage.show_activity,
    b.ActivityPeople: manage.show_people,
    b.PeoplePage: manage.show_people_page,
    b.ShareQr: manage.send_qr,
    b.OpenScreen: screens.open_pressed,
    b.ChangeActivity: manage.ask_change,
    b.UnitPlace: manage.unit_place_chosen,
    b.CheckInSettings: manage.ask_settings,
    b.SaveCheckIn: manage.settings_saved,
    b.AskCancelActivity: manage.confirm_cancel,
    b.CancelActivity: manage.cancel_confirmed,
    # check-in screens
    b.RefreshScreen: screens.refresh_pressed,
    b.CloseScreen: screens.close_pressed,
    # the roster and the record
    b.RollCallPage: roster.show_roll,
    b.AttendanceCard: roster.card_pressed,
    b.RosterCheckIn: roster.check_in_pressed,
    b.AskCorrection: roster.correction_pressed,
    b.RosterCheckOut: roster.check_out_pressed,
    b.AskSaplings: roster.saplings_pressed,
    b.AskMarkMadeUp: roster.made_up_pressed,
    b.TrailPage: roster.show_trail,
    b.AskReportMadeUp: made_up.report_pressed,
    b.ConfirmMadeUp: made_up.decide_pressed,
    b.DeclineMadeUp: made_up.decide_pressed,
    # notices: receiving
    b.AckNotice: notices.ack_pressed,
    b.NoticesPage: notices.notices_page_pressed,
    b.OpenNotice: notices.notice_opened,
    # notices: composing (/notify)
    b.NoticeUnits: notify.units_page,
    b.NoticeUnit: notify.unit_chosen,
    b.SkipAttachment: notify.attachment_skipped,
    b.NoticeAudience: notify.audience_chosen,
    b.NoticeActivities: notify.activities_page,
    b.NoticeActivity: notify.activity_chosen,
    b.EarlierNotices: notify.earlier_page,
    b.EarlierNotice: notify.earlier_chosen,
    b.NoticeOption: notify.option_toggled,
    b.NoticeOptionsDone: notify.options_done,
    b.NoticeDeadlineIn: notify.deadline_chosen,
    b.PreviewReceived: notify.preview_received,
    b.SendNotice: notify.send_pressed,
    b.ScheduleNotice: notify.schedule_pressed,
    b.DiscardNotice: notify.discard_pressed,
    # notices: following up
    b.NoticeFigures: notices.figures_pressed,
    b.RefreshFigures: notices.refresh_pressed,
    b.SilentPage: notices.silent_pressed,
    b.RemindNotice: notices.remind_pressed,
    b.NoticeSheet: notices.sheet_pressed,
    b.AskWithdraw: notices.ask_withdraw,
    b.WithdrawNotice: notices.withdraw_pressed,
    b.KeepNotice: notices.keep_pressed,
    # the branch's group chat
    b.LinkGroup: groups.link_pressed,
    b.LinkUnits: groups.units_page,
    b.GroupLinksPage: groups.show_links,
    # statistics
    b.StatsUnits: stats.choose_unit,
    b.StatsPreset: stats.preset_chosen,
    b.StatsOf: stats.show_stats,
    b.StatsDates: stats.ask_dates,
    b.StatsChart: stats.send_chart,
    b.StatsExport: stats.export_pressed,
    b.StatsMembers: stats.show_members,
    b.StatsActivities: stats.show_activities,
}


async def on_press(update: Update, context: BotContext) -> None:
    """Every button press: parsed into its kind (or refused as stale), handled, answered."""
    assert update.callback_query
    press = b.Button.parse(update.callback_query.data)
    if groups.in_group(update) and type(press) not in groups.GROUP_PRESSES:
        await groups.press_elsewhere(update, context)  # a card of the private chat, forwarded
        return
    note = await PRESSES[type(press)](update, context, press)
    if not context.work.answered:
        answer_press(update, context, note)


async def on_my_chat_member(update: Update, context: BotContext) -> None:
    """The bot's own membership changed: of a private chat (the user blocked or unblocked
    it), or of a group (added, removed)."""
    assert update.my_chat_member
    if update.my_chat_member.chat.type in groups.GROUP_CHATS:
        await groups.membership_changed(update, context)
    else:
        await account.blocked_or_unblocked(update, context)


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(TypeHandler(Update, account.load_account), group=-100)
    application.add_handler(ChatMemberHandler(on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
    private = filters.ChatType.PRIVATE
    for name, callback in COMMANDS.items():
        application.add_handler(CommandHandler(name, callback, filters=private))
    # In groups: the group's commands, one line for the private chat's, and the service
    # messages of a group turned supergroup or renamed; nothing else there is answered.
    in_groups = filters.ChatType.GROUPS
    for name, callback in GROUP_COMMANDS.items():
        application.add_handler(CommandHandler(name, callback, filters=in_groups))
    private_only = [name for name in COMMANDS if name not in GROUP_COMMANDS]
    application.add_handler(CommandHandler(private_only, groups.private_only, filters=in_groups))
    application.add_handler(
        MessageHandler(in_groups & filters.StatusUpdate.MIGRATE, groups.migrated)
    )
    application.add_handler(
        MessageHandler(in_groups & filters.StatusUpdate.NEW_CHAT_TITLE, groups.renamed)
    )
    application.add_handler(CallbackQueryHandler(on_press))
    files = (
        filters.PHOTO
        | filters.Document.ALL
        | filters.VIDEO
        | filters.AUDIO
        | filters.VOICE
        | filters.ANIMATION
        | filters.Sticker.ALL
        | filters.VIDEO_NOTE
    )
    answers = filters.TEXT & ~filters.COMMAND | filters.CONTACT | filters.LOCATION | files
    application.add_handler(MessageHandler(private & answers, input.on_message))
    # Last: whatever nothing above understood, in a private chat.
    application.add_handler(MessageHandler(private & filters.COMMAND, common.unknown_command))
    application.add_handler(MessageHandler(private, common.unexpected_message))
    application.add_error_handler(errors.on_error)
