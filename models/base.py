"""The declarative base: naming convention, 64-bit ids, timezone-aware datetimes; and the
conditional status change that decisions share (move_status)."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Annotated, Any

from sqlalchemy import JSON, BigInteger, DateTime, Enum, MetaData, TypeDecorator, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, mapped_column
from sqlalchemy.orm.attributes import set_committed_value

from models.errors import InvalidState

# Stable constraint names, so that Alembic can alter them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stored in UTC; always read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware one (UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Telegram user and chat ids exceed 32 bits.
TelegramId = Annotated[int, mapped_column(BigInteger)]
JSONDocument = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: UTCDateTime(),
        dict[str, Any]: JSONDocument,
    }


def stored_enum(enum_class: type[enum.Enum], name: str, length: int = 16) -> Enum:
    """A Python enum kept as a short string with a CHECK, the same on every database."""
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda members: [member.value for member in members],
    )


def utcnow() -> datetime:
    return datetime.now(UTC)


async def move_status(
    session: AsyncSession, row: Any, expected: enum.Enum, error: str, values: dict[str, Any]
) -> None:
    """Set `values` on `row` only if its status is still `expected`; InvalidState `error`
    otherwise. A conditional UPDATE: of two secretaries deciding at once only one
    succeeds, whatever state their sessions had read."""
    model = type(row)
    result = await session.execute(
        update(model)
        .where(model.id == row.id, model.status == expected)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        await session.refresh(row)
        raise InvalidState(error, f"{model.__tablename__} {row.id} is {row.status}")
    # The row already holds these values; tell the object without another UPDATE.
    for key, value in values.items():
        set_committed_value(row, key, value)
