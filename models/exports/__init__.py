"""The rows of the secretaries' spreadsheets (/export): the roster, the activities of a
period, the attendance matrix, volunteer hours, notice acknowledgements, and the names
for a meeting's sign-in sheet (签到表).

Each query checks the permission itself (export_register on the unit, which covers the
unit and every unit below it: the export's scope) and is one or two statements: joins
and aggregates in the database, rows fetched as tuples. The floating-member register is
models.members.floating_register.

The modules, re-exported here: scope (the kind of export, whom it covers, the units'
names), people (roster, volunteer hours, notices), activities (the activities, the
attendance matrix, the sign-in sheet).
"""

from models.exports.activities import (
    CELL_CODES,
    ActivityRow,
    Cell,
    Matrix,
    MatrixColumn,
    MatrixRow,
    SignInRow,
    SignInSheet,
    activity_rows,
    attendance_matrix,
    sign_in_rows,
)
from models.exports.people import (
    NoticeInfo,
    NoticeRow,
    NoticeSheet,
    RosterRow,
    VolunteerRow,
    notice_rows,
    roster_rows,
    volunteer_rows,
)
from models.exports.scope import UNDATED, ExportKind, Scope, export_scope, units_by_id

__all__ = [
    "CELL_CODES",
    "UNDATED",
    "ActivityRow",
    "Cell",
    "ExportKind",
    "Matrix",
    "MatrixColumn",
    "MatrixRow",
    "NoticeInfo",
    "NoticeRow",
    "NoticeSheet",
    "RosterRow",
    "Scope",
    "SignInRow",
    "SignInSheet",
    "VolunteerRow",
    "activity_rows",
    "attendance_matrix",
    "export_scope",
    "notice_rows",
    "roster_rows",
    "sign_in_rows",
    "units_by_id",
    "volunteer_rows",
]
