"""Domain errors. Each carries a stable `code` that handlers map to a translated message.

Codes are dotted, subject first ("report.already_pending"); they are part of the
interface between the domain and the catalog, so change them only together.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.org import OrgUnit


class DomainError(Exception):
    """Base of every error a domain operation raises on purpose."""

    code: str = "error"

    def __init__(self, code: str | None = None, detail: str = "") -> None:
        if code is not None:
            self.code = code
        self.detail = detail
        super().__init__(f"{self.code}: {detail}" if detail else self.code)


class NotFound(DomainError):
    """The thing named (often by an id from callback data) does not exist."""

    code = "not_found"


class PermissionDenied(DomainError):
    """The person may not do this here. `permission` and `unit_id` say what was asked."""

    code = "permission.denied"

    def __init__(self, permission: str, unit_id: int | None, telegram_id: int) -> None:
        self.permission = permission
        self.unit_id = unit_id
        self.telegram_id = telegram_id
        super().__init__(detail=f"{telegram_id} may not {permission} on unit {unit_id}")


class NotStaff(PermissionDenied):
    """The person holds the permission on no unit at all: a command for secretaries."""

    code = "permission.not_staff"


class InvalidInput(DomainError):
    """A value typed or uploaded by a person is not acceptable.

    `field` names the field ("real_name", "parent"); `reason` is the code
    ("name.too_long"); `subject` names the record when there are many (the unit
    code in an org file); `value` is the value at fault, where it helps to repeat it;
    `detail` says what would do.
    """

    def __init__(
        self,
        field: str,
        reason: str,
        *,
        subject: str | None = None,
        detail: str = "",
        value: object = None,
    ) -> None:
        self.field = field
        self.reason = reason
        self.subject = subject
        self.value = value
        self.hint = detail
        where = f"{subject}.{field}" if subject else field
        super().__init__(reason, f"{where}: {detail}" if detail else where)


class InvalidState(DomainError):
    """The operation does not fit the current state (a report already decided, ...)."""

    code = "invalid_state"

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code, detail)


class PrimaryElsewhere(InvalidState):
    """A member reports to a branch while managed by (or waiting for) another one.

    The other unit's id and names are copied, not the unit itself: the error outlives
    the session (rolled back), whose objects are then expired.
    """

    def __init__(self, unit: OrgUnit) -> None:
        self.unit_id = unit.id
        self.unit_names = {"zh": unit.name_zh, "en": unit.name_en or unit.name_zh}
        super().__init__("report.primary_elsewhere", f"already reported to {unit.code}")
