"""Inline buttons: one class per kind of button, which builds its callback data and parses it.

Data looks like "rep:ok:42": the kind's key ("rep:ok"), then its fields in order.
What comes back in a press is user input: `Button.parse` refuses anything that is
not exactly one known kind with well-formed fields (`StaleButton`), and the handler
re-loads every id and re-checks permission. No callback string is written anywhere
else (the model is aiogram's `CallbackData`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from models.paging import Page, page_of

MAX_BYTES = 64  # Telegram's limit for callback_data
MAX_ID = 2**63 - 1
_KEY = re.compile(r"^[a-z_]{1,12}(?::[a-z_]{1,12})?$")
_TEXT = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
_DIGITS = re.compile(r"^[0-9]{1,19}$")  # ASCII only: int() would take "５" too
LABEL_MAX = 40  # columns: longer labels are cut off on phones anyway
_TRAILING = " ,.;:·-–—/(（，、："  # not left before the ellipsis of a cut label
CHOICES_PAGE = 20  # options of a choice_keyboard on one page


class StaleButton(Exception):
    """The press's data means nothing to this version of the bot: old, or forged."""


class Button:
    """Base of every button kind; subclasses are frozen dataclasses of int, bool or str."""

    key: ClassVar[str]
    _kinds: ClassVar[dict[str, type[Button]]] = {}

    def __init_subclass__(cls, key: str, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if not _KEY.match(key) or key in Button._kinds:
            raise ValueError(f"bad or repeated button key: {key}")
        cls.key = key
        Button._kinds[key] = cls

    def pack(self) -> str:
        values = [_pack(getattr(self, f.name)) for f in fields(self)]  # type: ignore[arg-type]
        data = ":".join([self.key, *values])
        if len(data.encode()) > MAX_BYTES:
            raise ValueError(f"callback data too long: {data}")
        return data

    @staticmethod
    def parse(data: object) -> Button:
        """The button a press came from, or StaleButton: also for no data, data longer than
        Telegram allows, and anything but ASCII (ours is all ASCII, and short)."""
        if not isinstance(data, str) or not 0 < len(data) <= MAX_BYTES or not data.isascii():
            raise StaleButton("not callback data of ours")
        parts = data.split(":")
        for size in (2, 1):  # keys have one or two parts
            kind = Button._kinds.get(":".join(parts[:size]))
            if kind is not None:
                return kind._from_parts(parts[size:])
        raise StaleButton(data)

    @classmethod
    def _from_parts(cls, parts: list[str]) -> Button:
        declared = fields(cls)  # type: ignore[arg-type]
        if len(parts) != len(declared):
            raise StaleButton(cls.key)
        return cls(*(_unpack(str(f.type), raw) for f, raw in zip(declared, parts, strict=True)))


def _pack(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        if not 0 <= value <= MAX_ID:
            raise ValueError(f"button id out of range: {value}")
        return str(value)
    if isinstance(value, str) and _TEXT.match(value):
        return value
    raise ValueError(f"cannot put {value!r} in a button")


def _unpack(kind: str, raw: str) -> int | bool | str:
    if kind == "bool":
        if raw not in ("0", "1"):
            raise StaleButton(raw)
        return raw == "1"
    if kind == "int":
        if not _DIGITS.match(raw) or int(raw) > MAX_ID:
            raise StaleButton(raw)
        return int(raw)
    if not _TEXT.match(raw):
        raise StaleButton(raw)
    return raw


Row = Sequence[tuple[str, Button]]


def keyboard(*rows: Row) -> InlineKeyboardMarkup:
    """An inline keyboard from rows of (label, button); empty rows are left out."""
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=button.pack()) for label, button in row]
            for row in rows
            if row
        ]
    )


def pager(page: Page[Any], button_for: Callable[[int], Button]) -> list[tuple[str, Button]]:
    """‹ 2/7 ›: to the pages around this one, where there are any; none for a single page."""
    if page.pages == 1:
        return []
    row: list[tuple[str, Button]] = [(f"{page.page}/{page.pages}", PageShown())]
    if page.page > 1:
        row.insert(0, ("‹", button_for(page.page - 1)))
    if page.page < page.pages:
        row.append(("›", button_for(page.page + 1)))
    return row


def pager_keyboard(
    page: Page[Any], button_for: Callable[[int], Button]
) -> InlineKeyboardMarkup | None:
    """The keyboard of a list with no buttons but the pages': None when it has one page."""
    row = pager(page, button_for)
    return keyboard(row) if row else None


def choice_keyboard(
    options: Sequence[tuple[str, Button]],
    page: int,
    page_button: Callable[[int], Button],
    *after: Row,
) -> InlineKeyboardMarkup:
    """A button for each of many options (units), a page of them with ‹ 2/7 › under it,
    then the rows `after`."""
    shown = page_of(options, page, CHOICES_PAGE)
    rows = [[(short(label), button)] for label, button in shown.items]
    return keyboard(*rows, pager(shown, page_button), *after)


def short(label: str, width: int = LABEL_MAX) -> str:
    """A button label that fits on a phone: at most `width` columns (a Chinese character
    takes two), cut with "…" where a word ends; a text without spaces, such as Chinese,
    between any two characters. Every label that may be long goes through here."""
    if display_width(label) <= width:
        return label
    room, end = width - 1, 0  # a column for the ellipsis
    for end, character in enumerate(label):  # noqa: B007 (the loop stops where the cut is)
        room -= _columns(character)
        if room < 0:
            break
    cut = label[:end]
    if _in_word(label[end]) and cut and _in_word(cut[-1]):
        # Inside a word: cut where it begins, unless that leaves less than half the room.
        start = len(cut)
        while start and _in_word(cut[start - 1]):
            start -= 1
        if display_width(cut[:start]) >= width // 2:
            cut = cut[:start]
    return cut.rstrip(_TRAILING) + "…"


def display_width(text: str) -> int:
    """The columns `text` takes: two for a wide character (Chinese, most emoji), else one."""
    return sum(_columns(character) for character in text)


def _columns(character: str) -> int:
    return 2 if unicodedata.east_asian_width(character) in "WF" else 1


def _in_word(character: str) -> bool:
    """A letter or digit of a word that spaces delimit (a Chinese character is not)."""
    return character.isalnum() and _columns(character) == 1


# --- everyone -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChooseLanguage(Button, key="lang"):
    code: str


@dataclass(frozen=True)
class PageShown(Button, key="page"):
    """The page number between ‹ and ›: every inline button must do something, this one
    nothing."""


# --- the profile (handlers.profile) ---------------------------------------------------------


@dataclass(frozen=True)
class Consent(Button, key="prof:consent"):
    agreed: bool


@dataclass(frozen=True)
class ChooseMemberType(Button, key="prof:type"):
    index: int


@dataclass(frozen=True)
class SkipWorkplace(Button, key="prof:skipwork"):
    pass


@dataclass(frozen=True)
class EditProfile(Button, key="prof:edit"):
    field: int


@dataclass(frozen=True)
class AskLeaveUnit(Button, key="prof:leave"):
    unit_id: int


@dataclass(frozen=True)
class ConfirmForget(Button, key="fgt:yes"):
    pass


@dataclass(frozen=True)
class KeepData(Button, key="fgt:no"):
    pass


# --- reporting (handlers.reporting) -----------------------------------------------------------


@dataclass(frozen=True)
class BrowseUnits(Button, key="rep:tree"):
    community: bool
    parent_id: int  # 0: the top of the tree


@dataclass(frozen=True)
class BrowsePage(Button, key="rep:treep"):
    community: bool
    parent_id: int
    page: int


@dataclass(frozen=True)
class PickUnit(Button, key="rep:pick"):
    community: bool
    unit_id: int


@dataclass(frozen=True)
class SendReport(Button, key="rep:send"):
    community: bool
    unit_id: int


@dataclass(frozen=True)
class ApproveReport(Button, key="rep:ok"):
    report_id: int


@dataclass(frozen=True)
class RejectReport(Button, key="rep:no"):
    report_id: int


@dataclass(frozen=True)
class PendingPage(Button, key="rep:pg"):
    page: int


@dataclass(frozen=True)
class OpenReport(Button, key="rep:card"):
    """A pending report's card, sent anew under the list."""

    report_id: int


@dataclass(frozen=True)
class LeaveUnit(Button, key="rep:leave"):
    unit_id: int


@dataclass(frozen=True)
class StayInUnit(Button, key="rep:stay"):
    unit_id: int


@dataclass(frozen=True)
class ReportingPointQr(Button, key="rep:qr"):
    unit_id: int


@dataclass(frozen=True)
class QrUnits(Button, key="rep:qrs"):
    page: int


# --- the secretary's books (handlers.staff) ---------------------------------------------------


@dataclass(frozen=True)
class RosterOf(Button, key="ros:u"):
    unit_id: int


@dataclass(frozen=True)
class RosterUnits(Button, key="ros:us"):
    page: int


@dataclass(frozen=True)
class RosterPage(Button, key="ros:p"):
    unit_id: int
    filter: int
    page: int


@dataclass(frozen=True)
class MemberCard(Button, key="ros:m"):
    unit_id: int
    member_id: int


@dataclass(frozen=True)
class AskRemove(Button, key="ros:rm"):
    membership_id: int


@dataclass(frozen=True)
class AskTransfer(Button, key="ros:tr"):
    membership_id: int


@dataclass(frozen=True)
class RemoveMember(Button, key="ros:rmy"):
    membership_id: int


@dataclass(frozen=True)
class TransferOut(Button, key="ros:try"):
    membership_id: int


@dataclass(frozen=True)
class MakeSecretary(Button, key="ros:sec"):
    membership_id: int


@dataclass(frozen=True)
class MakeOrganizer(Button, key="ros:org"):
    membership_id: int


@dataclass(frozen=True)
class RegisterOf(Button, key="ros:reg"):
    unit_id: int


@dataclass(frozen=True)
class RegisterUnits(Button, key="ros:regs"):
    page: int


@dataclass(frozen=True)
class UnreachablePage(Button, key="ros:ur"):
    page: int


# --- activities, the member's side (handlers.events) -----------------------------------------


@dataclass(frozen=True)
class EventsPage(Button, key="ev:l"):
    page: int


@dataclass(frozen=True)
class RecordPage(Button, key="ev:rec"):
    page: int


@dataclass(frozen=True)
class RecordYear(Button, key="ev:recy"):
    """/record's totals of one year (this year's or last year's)."""

    year: int


@dataclass(frozen=True)
class MyCalendar(Button, key="ev:myics"):
    """The member's own calendar file (/calendar)."""


@dataclass(frozen=True)
class ShowCard(Button, key="ev:v"):
    """The activity's card, in place of the pressed message."""

    activity_id: int


@dataclass(frozen=True)
class OpenCard(Button, key="ev:o"):
    """The card sent anew: pressed on a notice, which stays as it is."""

    activity_id: int


@dataclass(frozen=True)
class SignUp(Button, key="ev:s"):
    activity_id: int


@dataclass(frozen=True)
class CancelSignUp(Button, key="ev:c"):
    activity_id: int


@dataclass(frozen=True)
class Attend(Button, key="ev:a"):
    activity_id: int


@dataclass(frozen=True)
class AskLeave(Button, key="ev:r"):
    activity_id: int


@dataclass(frozen=True)
class CalendarFile(Button, key="ev:ics"):
    activity_id: int


@dataclass(frozen=True)
class AskCheckIn(Button, key="ev:ci"):
    activity_id: int


@dataclass(frozen=True)
class EnterCode(Button, key="ev:code"):
    """Check in with the code read out at the venue."""

    activity_id: int


@dataclass(frozen=True)
class ConfirmCheckIn(Button, key="ev:qi"):
    """The confirmation of a scanned check-in code: the token's parts (signed_token checks
    them), so that a forged activity or expiry does not pass."""

    activity_id: int
    expires: int  # unix seconds
    signature: str


@dataclass(frozen=True)
class ConfirmCheckOut(Button, key="ev:qo"):
    """The confirmation of a scanned check-out code, as ConfirmCheckIn."""

    activity_id: int
    expires: int
    signature: str


@dataclass(frozen=True)
class AskCheckOut(Button, key="ev:co"):
    """The card's Check out."""

    activity_id: int


@dataclass(frozen=True)
class ApproveLeave(Button, key="lv:ok"):
    participation_id: int


@dataclass(frozen=True)
class DeclineLeave(Button, key="lv:no"):
    participation_id: int


@dataclass(frozen=True)
class DecideLeaveInList(Button, key="lv:ls"):
    """Approve or Decline in /activities' leave list: the list stays, on the same page."""

    participation_id: int
    approve: bool
    page: int


# --- /new (handlers.new_activity) -------------------------------------------------------------


@dataclass(frozen=True)
class NewKind(Button, key="org:k"):
    index: int


@dataclass(frozen=True)
class NewUnit(Button, key="org:u"):
    unit_id: int


@dataclass(frozen=True)
class NewUnits(Button, key="org:us"):
    page: int


@dataclass(frozen=True)
class NewDay(Button, key="org:day"):
    ordinal: int  # date.toordinal()


@dataclass(frozen=True)
class NewTime(Button, key="org:hr"):
    minutes: int  # after midnight


@dataclass(frozen=True)
class NewDuration(Button, key="org:end"):
    minutes: int


@dataclass(frozen=True)
class NoCapacityLimit(Button, key="org:cap"):
    pass


@dataclass(frozen=True)
class UntilStart(Button, key="org:dl"):
    pass


@dataclass(frozen=True)
class NewPledge(Button, key="org:pl"):
    index: int


@dataclass(frozen=True)
class NewRepeat(Button, key="org:rep"):
    index: int


@dataclass(frozen=True)
class SkipStep(Button, key="org:skip"):
    step: str


@dataclass(frozen=True)
class VenueOfUnit(Button, key="org:vu"):
    """The venue is where the activity's unit is (its coordinates from the org file)."""


@dataclass(frozen=True)
class NoVenue(Button, key="org:nv"):
    pass


@dataclass(frozen=True)
class CheckInToggle(Button, key="org:ct"):
    """One check-in setting turned on or off (handlers.venue); also on the management card."""

    activity_id: int  # 0: the activity being written in /new
    setting: str  # a key of handlers.venue.TOGGLES
    on: bool


@dataclass(frozen=True)
class CheckInRadius(Button, key="org:cr"):
    activity_id: int  # 0: the activity being written in /new
    metres: int  # the radius it sets: the next of handlers.venue.RADII


@dataclass(frozen=True)
class CheckInContinue(Button, key="org:cc"):
    pass


@dataclass(frozen=True)
class Publish(Button, key="org:pub"):
    pass


@dataclass(frozen=True)
class Discard(Button, key="org:drop"):
    pass


# --- managing activities (handlers.manage) ------------------------------------------------------


@dataclass(frozen=True)
class ManagePage(Button, key="org:pg"):
    page: int


@dataclass(frozen=True)
class PastActivities(Button, key="org:past"):
    """The activities that have ended, the latest first: their records, corrections."""

    page: int


@dataclass(frozen=True)
class ManageActivity(Button, key="org:a"):
    activity_id: int


@dataclass(frozen=True)
class ActivityPeople(Button, key="org:ls"):
    activity_id: int
    which: int


@dataclass(frozen=True)
class PeoplePage(Button, key="org:lsp"):
    activity_id: int
    which: int
    page: int


@dataclass(frozen=True)
class OpenScreen(Button, key="org:scr"):
    """The check-in screen (or the check-out screen) of the activity."""

    activity_id: int
    check_out: bool


@dataclass(frozen=True)
class ShareQr(Button, key="org:sq"):
    activity_id: int


@dataclass(frozen=True)
class ChangeActivity(Button, key="org:ed"):
    activity_id: int
    field: int


@dataclass(frozen=True)
class UnitPlace(Button, key="org:edu"):
    """Change place: the venue is where the activity's unit is."""

    activity_id: int


@dataclass(frozen=True)
class CheckInSettings(Button, key="org:cis"):
    activity_id: int


@dataclass(frozen=True)
class SaveCheckIn(Button, key="org:cisv"):
    activity_id: int


@dataclass(frozen=True)
class AskCancelActivity(Button, key="org:cx"):
    activity_id: int


@dataclass(frozen=True)
class CancelActivity(Button, key="org:cxy"):
    activity_id: int


# --- check-in screens (handlers.screens) --------------------------------------------------------


@dataclass(frozen=True)
class RefreshScreen(Button, key="scr:new"):
    screen_id: int


@dataclass(frozen=True)
class CloseScreen(Button, key="scr:x"):
    screen_id: int


# --- the roster and the record (handlers.roster, handlers.made_up) ------------------------------


@dataclass(frozen=True)
class RollCallPage(Button, key="att:ro"):
    """点名: the activity's roster, a page of it."""

    activity_id: int
    page: int


@dataclass(frozen=True)
class AttendanceCard(Button, key="att:m"):
    """One member's attendance at the activity, with what the secretary may do."""

    activity_id: int
    member_id: int


@dataclass(frozen=True)
class RosterCheckIn(Button, key="att:ci"):
    activity_id: int
    member_id: int


@dataclass(frozen=True)
class AskCorrection(Button, key="att:fix"):
    activity_id: int
    member_id: int
    correction: str  # models.attendance.Correction


@dataclass(frozen=True)
class RosterCheckOut(Button, key="att:co"):
    activity_id: int
    member_id: int


@dataclass(frozen=True)
class AskSaplings(Button, key="att:sap"):
    activity_id: int
    member_id: int


@dataclass(frozen=True)
class AskMarkMadeUp(Button, key="att:mu"):
    """The secretary records a member's make-up study directly."""

    activity_id: int
    member_id: int


@dataclass(frozen=True)
class TrailPage(Button, key="att:log"):
    """The activity's audit trail, a page of it."""

    activity_id: int
    page: int


@dataclass(frozen=True)
class AskReportMadeUp(Button, key="mu:rep"):
    """On the note of absence: the member reports their make-up study."""

    activity_id: int


@dataclass(frozen=True)
class ConfirmMadeUp(Button, key="mu:ok"):
    participation_id: int


@dataclass(frozen=True)
class DeclineMadeUp(Button, key="mu:no"):
    participation_id: int


# --- notices (handlers.notices) -------------------------------------------------------------


@dataclass(frozen=True)
class AckNotice(Button, key="ntc:ack"):
    """Received (收到) under a member's copy of a notice."""

    notice_id: int


@dataclass(frozen=True)
class PreviewReceived(Button, key="ntc:pre"):
    """Received on the author's preview: members have it; pressing it here does nothing."""


@dataclass(frozen=True)
class NoticesPage(Button, key="ntc:pg"):
    page: int


@dataclass(frozen=True)
class OpenNotice(Button, key="ntc:o"):
    """From /notices: the member's copy, or for those managing it, its figures."""

    notice_id: int


@dataclass(frozen=True)
class NoticeFigures(Button, key="ntc:fig"):
    """A new live figures message of the notice."""

    notice_id: int


@dataclass(frozen=True)
class RefreshFigures(Button, key="ntc:ref"):
    notice_id: int


@dataclass(frozen=True)
class SilentPage(Button, key="ntc:sil"):
    """Who has not acknowledged, a page at a time."""

    notice_id: int
    page: int


@dataclass(frozen=True)
class RemindNotice(Button, key="ntc:rem"):
    notice_id: int


@dataclass(frozen=True)
class NoticeSheet(Button, key="ntc:xls"):
    notice_id: int


@dataclass(frozen=True)
class AskWithdraw(Button, key="ntc:wd"):
    notice_id: int


@dataclass(frozen=True)
class WithdrawNotice(Button, key="ntc:wdy"):
    notice_id: int


@dataclass(frozen=True)
class KeepNotice(Button, key="ntc:wdn"):
    notice_id: int


# Composing (/notice)


@dataclass(frozen=True)
class NoticeUnit(Button, key="ntc:u"):
    unit_id: int


@dataclass(frozen=True)
class NoticeUnits(Button, key="ntc:us"):
    page: int


@dataclass(frozen=True)
class NoticeAudience(Button, key="ntc:aud"):
    index: int


@dataclass(frozen=True)
class NoticeActivity(Button, key="ntc:act"):
    activity_id: int


@dataclass(frozen=True)
class NoticeActivities(Button, key="ntc:acts"):
    page: int


@dataclass(frozen=True)
class EarlierNotice(Button, key="ntc:ear"):
    notice_id: int


@dataclass(frozen=True)
class EarlierNotices(Button, key="ntc:ears"):
    page: int


@dataclass(frozen=True)
class NoticeOption(Button, key="ntc:opt"):
    """A toggle of the options screen: "ack" (acknowledgement required), "group"."""

    name: str


@dataclass(frozen=True)
class NoticeOptionsDone(Button, key="ntc:optok"):
    pass


@dataclass(frozen=True)
class NoticeDeadlineIn(Button, key="ntc:dl"):
    days: int  # 18:00 that many days from today; 0: no deadline


@dataclass(frozen=True)
class SkipAttachment(Button, key="ntc:noatt"):
    pass


@dataclass(frozen=True)
class SendNotice(Button, key="ntc:send"):
    pass


@dataclass(frozen=True)
class ScheduleNotice(Button, key="ntc:sch"):
    pass


@dataclass(frozen=True)
class DiscardNotice(Button, key="ntc:drop"):
    pass


# --- the branch's group chat (handlers.groups) ------------------------------------------------


@dataclass(frozen=True)
class LinkGroup(Button, key="grp:link"):
    """In a group: link it to this unit (whoever presses must be its secretary)."""

    unit_id: int


@dataclass(frozen=True)
class LinkUnits(Button, key="grp:units"):
    """In a group: a page of the units the presser may link it to."""

    page: int


@dataclass(frozen=True)
class GroupLinksPage(Button, key="grp:list"):
    """In the secretary's own chat: a page of their units and the group each has."""

    page: int


# --- statistics (handlers.stats) ---------------------------------------------------------------
# A period travels as one number (models.stats.period.Period.key), checked again on every press
# like typed dates.


@dataclass(frozen=True)
class StatsUnits(Button, key="sts:units"):
    """A page of the units whose figures the presser may see."""

    page: int


@dataclass(frozen=True)
class StatsOf(Button, key="sts:of"):
    """A unit's figures for a period; `page` pages a committee's units below it."""

    unit_id: int
    period: int
    page: int


@dataclass(frozen=True)
class StatsPreset(Button, key="sts:pre"):
    """This month, quarter or year (or the last ones), reckoned when pressed."""

    unit_id: int
    preset: str


@dataclass(frozen=True)
class StatsDates(Button, key="sts:dates"):
    """Ask for a period typed as dates."""

    unit_id: int


@dataclass(frozen=True)
class StatsChart(Button, key="sts:chart"):
    """A chart of the figures as a picture: "att", "hours" or "life" (views.stats.CHARTS)."""

    unit_id: int
    chart: str
    period: int


@dataclass(frozen=True)
class StatsExport(Button, key="sts:exp"):
    """The spreadsheets (/export) of the unit and period, under the figures."""

    unit_id: int
    period: int


@dataclass(frozen=True)
class StatsMembers(Button, key="sts:mem"):
    """A page of the members' attendance."""

    unit_id: int
    period: int
    page: int


@dataclass(frozen=True)
class StatsActivities(Button, key="sts:act"):
    """A page of the attendance of each meeting held."""

    unit_id: int
    period: int
    page: int


# --- exports (handlers.exports) ----------------------------------------------------------------


@dataclass(frozen=True)
class ExportUnits(Button, key="exp:units"):
    """/export: a page of the units the person may export."""

    page: int


@dataclass(frozen=True)
class ExportUnit(Button, key="exp:unit"):
    """/export: this month's menu of one of the person's units."""

    unit_id: int


@dataclass(frozen=True)
class ExportMenu(Button, key="exp:menu"):
    """The export menu of a unit for a period (Period.key), Excel or CSV."""

    unit_id: int
    period: int
    csv: bool


@dataclass(frozen=True)
class ExportFile(Button, key="exp:file"):
    """One export (models.exports.ExportKind's value) of the menu's unit and period."""

    unit_id: int
    what: str
    period: int
    csv: bool


@dataclass(frozen=True)
class SignInSheet(Button, key="exp:sign"):
    """An activity's printable sign-in sheet (签到表), from its management card."""

    activity_id: int
