"""/export: a secretary's books as spreadsheets (or CSV) for a unit and a period: the
roster, the floating-member register (/register is its shortcut), the activities, the
attendance matrix, volunteer hours and notice acknowledgements; and, from an activity's
management card, its printable sign-in sheet (签到表).

The rows are read in the update's transaction (models.exports checks the permission);
the file is built in a worker thread once it is committed (handlers.ui.send_file), with
a word first when there are many rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from html import escape
from typing import Any

from telegram import Update

from handlers.context import BotContext
from handlers.ui import edit_or_say, say, send_file
from models.exports import (
    UNDATED,
    ExportKind,
    activity_rows,
    attendance_matrix,
    export_scope,
    notice_rows,
    roster_rows,
    sign_in_rows,
    units_by_id,
    volunteer_rows,
)
from models.members import floating_register
from models.org import get_unit, unit_display_name
from models.permissions import Permission
from models.staff import staff_units
from models.stats.period import Preset, carried_period, preset
from views.buttons import (
    Button,
    ExportFile,
    ExportMenu,
    ExportUnit,
    ExportUnits,
    SignInSheet,
    StaleButton,
    choice_keyboard,
    keyboard,
)
from views.exports import (
    EXPORT_KEYS,
    Table,
    activities_table,
    attendance_table,
    notices_table,
    register_table,
    roster_table,
    sign_in_file,
    table_file,
    volunteer_table,
)
from views.labels import PRESET_KEYS
from views.stats import PRESET_BUTTONS

# More rows than this: a message says the file is being prepared.
PROGRESS_ROWS = 2000
PRESETS = {kind: PRESET_KEYS[kind] for kind in PRESET_BUTTONS}
FILE_NAMES = {ExportKind.register: "floating-register"}  # what /register always called it
MENU_ORDER = (
    ExportKind.roster,
    ExportKind.register,
    ExportKind.activities,
    ExportKind.attendance,
    ExportKind.volunteering,
    ExportKind.notices,
)


async def export_command(update: Update, context: BotContext) -> None:
    await choose_unit(update, context, ExportUnits(1))


async def choose_unit(update: Update, context: BotContext, press: ExportUnits) -> None:
    """The menu of the only unit this person may export, or a choice of them; NotStaff
    (the refusal of /register) for one who may export none."""
    assert update.effective_user
    units = await staff_units(context.session, update.effective_user.id, Permission.export_register)
    if len(units) == 1:
        await unit_chosen(update, context, ExportUnit(units[0].id))
        return
    options: list[tuple[str, Button]] = [
        (unit_display_name(unit, context.language), ExportUnit(unit.id)) for unit in units
    ]
    markup = choice_keyboard(options, press.page, ExportUnits)
    edit_or_say(update, context, context.t("staff.choose_unit"), markup)


async def unit_chosen(update: Update, context: BotContext, press: ExportUnit) -> None:
    """The unit's menu for this month, reckoned when pressed in the unit's zone (one zone
    looked up, not one for every unit of the choice)."""
    unit = await get_unit(context.session, press.unit_id)
    month = preset(Preset.month, context.today(await context.zone(unit)))
    await export_menu(update, context, ExportMenu(unit.id, month.key(), False))


async def export_menu(
    update: Update, context: BotContext, press: ExportMenu, *, anew: bool = False
) -> None:
    """One button per export of the unit for the period; presets to change the period;
    Excel or CSV. In place of the pressed message, or `anew` under it (from /stats, whose
    figures stay)."""
    assert update.effective_user
    scope = await export_scope(context.session, update.effective_user.id, press.unit_id)
    today = context.today(await context.zone(scope.unit))
    period = carried_period(press.period, today)
    period_key = period.key()
    unit_id = scope.unit.id
    format_key = "export.format.csv" if press.csv else "export.format.excel"
    text = context.t(
        "export.menu",
        unit=escape(unit_display_name(scope.unit, context.language)),
        first=f"{period.first:%Y-%m-%d}",
        last=f"{period.last:%Y-%m-%d}",
        format=context.t(format_key),
    )
    files = [
        (context.t(EXPORT_KEYS[kind]), ExportFile(unit_id, kind.value, period_key, press.csv))
        for kind in MENU_ORDER
    ]
    presets = []
    for kind, key in PRESETS.items():
        chosen = preset(kind, today)
        mark = "✓ " if chosen == period else ""
        presets.append((mark + context.t(key), ExportMenu(unit_id, chosen.key(), press.csv)))
    formats = [
        (("✓ " if not press.csv else "") + context.t("export.format.excel"),
         ExportMenu(unit_id, period_key, False)),
        (("✓ " if press.csv else "") + context.t("export.format.csv"),
         ExportMenu(unit_id, period_key, True)),
    ]  # fmt: skip
    rows = [files[i : i + 2] for i in range(0, len(files), 2)]
    markup = keyboard(*rows, presets[:2], presets[2:], formats)
    if anew:
        say(update, context, text, markup)
    else:
        edit_or_say(update, context, text, markup)


async def export_file(update: Update, context: BotContext, press: ExportFile) -> None:
    try:
        kind = ExportKind(press.what)
    except ValueError:
        raise StaleButton(press.what) from None
    await send_export(update, context, press.unit_id, kind, press.period, press.csv)


async def _names(context: BotContext, unit_ids: Iterable[int | None]) -> dict[int, str]:
    units = await units_by_id(context.session, list(set(unit_ids)))
    return {u: unit_display_name(unit, context.language) for u, unit in units.items()}


async def send_export(
    update: Update,
    context: BotContext,
    unit_id: int,
    kind: ExportKind,
    period_key: int | None = None,
    as_csv: bool = False,
) -> None:
    """One export of the unit (and the units below it) as a file; a message instead when
    there is nothing in it. `period_key` None: this month."""
    assert update.effective_user
    me = update.effective_user.id
    session = context.session
    scope = await export_scope(session, me, unit_id)
    unit = scope.unit
    zone = await context.zone(unit)
    today = context.today(zone)
    period = carried_period(period_key, today) if period_key else preset(Preset.month, today)
    language = context.language
    rows: Any
    table_of: Callable[..., Table]
    if kind is ExportKind.register:
        rows = await floating_register(session, me, unit.id, language)
        build = partial(register_table, rows, language, zone)
        count = len(rows)
    else:
        if kind is ExportKind.roster:
            rows, table_of = await roster_rows(session, scope), roster_table
            listed = rows
        elif kind is ExportKind.activities:
            rows, table_of = await activity_rows(session, scope, period, zone), activities_table
            listed = rows
        elif kind is ExportKind.attendance:
            rows = await attendance_matrix(session, scope, period, zone)
            table_of, listed = attendance_table, rows.rows
        elif kind is ExportKind.volunteering:
            rows, table_of = await volunteer_rows(session, scope, period, zone), volunteer_table
            listed = rows
        else:
            rows = await notice_rows(session, scope, period, zone)
            table_of, listed = notices_table, rows.rows
        names = await _names(context, [unit.id, *(r.unit_id for r in listed)])
        build = partial(table_of, rows, names, language, zone)
        count = len(listed)
    what = context.t(EXPORT_KEYS[kind])
    if not count:
        say(update, context, context.t("export.empty", what=what))
        return
    unit_name = escape(unit_display_name(unit, language))
    extension = "csv" if as_csv else "xlsx"
    name = FILE_NAMES.get(kind, kind.value)
    if kind in UNDATED:
        filename = f"{name}-{unit.code}-{today:%Y%m%d}.{extension}"
        caption = context.t("export.caption_undated", unit=unit_name, what=what, count=count)
    else:
        filename = f"{name}-{unit.code}-{period.first:%Y%m%d}-{period.last:%Y%m%d}.{extension}"
        caption = context.t(
            "export.caption",
            unit=unit_name,
            what=what,
            first=f"{period.first:%Y-%m-%d}",
            last=f"{period.last:%Y-%m-%d}",
            count=count,
        )
    send_file(
        update,
        context,
        lambda: table_file(build(), as_csv),
        filename,
        caption,
        progress=_progress(context, count),
    )


def _progress(context: BotContext, count: int) -> tuple[str, str] | None:
    if count <= PROGRESS_ROWS:
        return None
    return context.t("export.preparing", count=count), context.t("export.ready", count=count)


async def sign_in_pressed(update: Update, context: BotContext, press: SignInSheet) -> None:
    """签到表: those expected at the activity (or holding a seat), to sign on paper."""
    assert update.effective_user
    sheet = await sign_in_rows(context.session, update.effective_user.id, press.activity_id)
    count = len(sheet.rows)
    if not count:
        say(update, context, context.t("export.sign_in_empty"))
        return
    zone = await context.zone(sheet.unit)
    names = await _names(context, [sheet.unit.id, *(r.unit_id for r in sheet.rows)])
    activity = sheet.activity
    day = f"{activity.starts_at.astimezone(zone):%Y%m%d}"
    caption = context.t("export.sign_in.caption", title=escape(activity.title), count=count)
    send_file(
        update,
        context,
        partial(sign_in_file, sheet, names, context.language, zone),
        f"sign-in-{sheet.unit.code}-{day}-{activity.id}.xlsx",
        caption,
        progress=_progress(context, count),
    )
