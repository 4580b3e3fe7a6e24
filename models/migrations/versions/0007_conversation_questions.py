"""open questions as "<conversation>.<step>", their ids in the draft

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

Before: "name", "phone", ... (profile), "new:title" (/new), "reject:42" and the like
(one question about one record). After: "profile.name", "new.title", "reject.reason"
with {"report_id": 42} in `draft`; see handlers.conversation. A question open at
the upgrade is carried over, not lost.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PROFILE_STEPS = ("consent", "name", "phone", "member_type", "home_branch", "workplace")
# Old "<prefix>:<id>" → (new question, the draft key of the id).
ABOUT_ONE_RECORD = {
    "reject": ("reject.reason", "report_id"),
    "retime": ("change.time", "activity_id"),
    "replace": ("change.place", "activity_id"),
    "pledge": ("pledge.amount", "activity_id"),
    "leave": ("leave.reason", "activity_id"),
    "checkin": ("checkin.location", "activity_id"),
}

accounts = sa.table(
    "accounts",
    sa.column("id", sa.BigInteger),
    sa.column("awaiting", sa.String),
    sa.column("draft", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")),
)


def _new(awaiting: str, draft: object) -> tuple[str | None, object]:
    if awaiting in PROFILE_STEPS:
        return f"profile.{awaiting}", None
    prefix, _, rest = awaiting.partition(":")
    if prefix == "new":
        return f"new.{rest}", draft
    if prefix in ABOUT_ONE_RECORD and rest.isdigit():
        question, key = ABOUT_ONE_RECORD[prefix]
        return question, {key: int(rest)}
    return None, None  # nothing this version would understand


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(accounts.c.id, accounts.c.awaiting, accounts.c.draft).where(
            accounts.c.awaiting.is_not(None)
        )
    ).all()
    for account_id, awaiting, draft in rows:
        question, data = _new(awaiting, draft)
        connection.execute(
            accounts.update()
            .where(accounts.c.id == account_id)
            .values(awaiting=question, draft=data)
        )


def downgrade() -> None:
    # The old names cannot always be rebuilt; an open question is closed instead.
    op.execute(accounts.update().values(awaiting=None, draft=None))
