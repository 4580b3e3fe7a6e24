"""The delivery outbox: one row per message the bot sends on its own initiative.

Handlers and scheduled jobs write rows here, in the same transaction as the change
they announce; `scheduler.sender` delivers them within Telegram's limits. The
database is the source of truth, so a restart loses nothing: a row still marked
`sending` when its leader's term ended is sent again (at least once, see the README;
terms: scheduler.leader).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Index,
    Select,
    String,
    Text,
    case,
    cast,
    delete,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models.account import Account
from models.base import Base, TelegramId, stored_enum, utcnow
from models.members import Member
from models.sql import insert_or_skip


class DeliveryStatus(enum.StrEnum):
    pending = "pending"  # waiting for due_at
    sending = "sending"  # handed to Telegram; outcome not yet recorded
    sent = "sent"
    failed = "failed"  # Telegram refused it for good (400), or retries ran out
    unreachable = "unreachable"  # the user blocked the bot or is deactivated (403)
    expired = "expired"  # no longer worth sending (the activity it announced is over)


class MediaKind(enum.StrEnum):
    photo = "photo"
    document = "document"


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_status_due_at", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[TelegramId] = mapped_column(index=True)
    text: Mapped[str] = mapped_column(Text)
    # An InlineKeyboardMarkup as Bot API JSON, or None.
    reply_markup: Mapped[dict[str, Any] | None]
    # A photo or document sent with `text` as its caption: its kind and Telegram file_id.
    media_kind: Mapped[MediaKind | None] = mapped_column(stored_enum(MediaKind, "delivery_media"))
    media_file_id: Mapped[str | None] = mapped_column(String(200))
    # What it is ("report_card", "reminder", ...): for statistics and the logs.
    kind: Mapped[str] = mapped_column(String(32))
    # Scheduled jobs enqueue idempotently: one row per key, ever.
    dedup_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    # Urgent messages ignore quiet hours (a cancellation today).
    urgent: Mapped[bool] = mapped_column(default=False)
    # Quiet hours are kept in this time zone (the branch's).
    timezone: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    status: Mapped[DeliveryStatus] = mapped_column(
        stored_enum(DeliveryStatus, "delivery_status"), default=DeliveryStatus.pending
    )
    attempts: Mapped[int] = mapped_column(default=0)
    # The term of the leader that marked it `sending` (SchedulerLeadership.term).
    claimed_term: Mapped[int | None]
    telegram_message_id: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)  # the prune
    sent_at: Mapped[datetime | None]


class SchedulerLeadership(Base):
    """One row: the current term of the scheduler's leadership (see scheduler.leader).

    Each process that becomes the leader counts the term up; a claim carries its term,
    so a leader can tell whether it still leads before each send."""

    __tablename__ = "scheduler_leadership"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    term: Mapped[int]
    holder: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime | None]


async def enqueue(
    session: AsyncSession,
    chat_id: int,
    text: str,
    *,
    kind: str,
    due_at: datetime,
    timezone: str,
    urgent: bool = False,
    reply_markup: dict[str, Any] | None = None,
    expires_at: datetime | None = None,
    dedup_key: str | None = None,
    media: tuple[str, str] | None = None,
) -> bool:
    """Add one message to the outbox; False when `dedup_key` was enqueued before. `media`
    is a photo or document (kind, file_id) that `text` is the caption of."""
    row = {
        "chat_id": chat_id,
        "text": text,
        "kind": kind,
        "due_at": due_at,
        "timezone": timezone,
        "urgent": urgent,
        "reply_markup": reply_markup,
        "expires_at": expires_at,
        "dedup_key": dedup_key,
        "media": media,
    }
    return await enqueue_many(session, [row]) == 1


async def enqueue_many(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Add many messages at once (keyword arguments of `enqueue` each, `chat_id` and `text`
    among them); a dedup key enqueued before, or twice here, is left out. How many were
    added. INSERT ... ON CONFLICT (dedup_key) DO NOTHING: the database skips a key it has
    (also one a concurrent transaction just took), with no lookup beforehand: a lookup of
    thousands of fresh keys was the slow part of a broadcast, and on PostgreSQL, before the
    table's statistics knew of the rows just written, a scan of the whole outbox each."""
    seen: set[str] = set()
    fresh: list[dict[str, Any]] = []
    for row in rows:
        key = row.get("dedup_key")
        if key is not None:
            if key in seen:
                continue
            seen.add(key)
        fresh.append(row)
    if not fresh:
        return 0
    now = utcnow()
    # Many rows at once: SQLAlchemy writes them in INSERTs of many VALUES each.
    added = await session.scalars(
        insert_or_skip(session, Delivery, ["dedup_key"]).returning(Delivery.id),
        [_row_values(row, now) for row in fresh],
    )
    return len(added.all())


async def enqueue_to_members(
    session: AsyncSession,
    member_ids: Select[tuple[int]],
    rows: dict[str, dict[str, Any]],
    *,
    key_prefix: str,
    language_of: Callable[[type[Account]], ColumnElement[str]],
) -> int:
    """One message to each member `member_ids` selects who has a Telegram id, in the
    language `language_of` picks from their account: `rows` is the message in each
    language (keyword arguments of `enqueue`, without `chat_id` and `dedup_key`). Each
    copy is keyed `key_prefix` + member id; a key enqueued before is left out. How many
    were added. One INSERT ... SELECT: the database writes the copies, as many as the
    audience has, without one of them passing through Python (a city-wide event's first
    announcement is 100,000)."""
    now = utcnow()
    by_language = {
        language: _row_values({**row, "chat_id": None, "dedup_key": None}, now)
        for language, row in rows.items()
    }
    language = language_of(Account)
    table = Delivery.__table__
    constants = []
    for name in next(iter(by_language.values())):
        if name in ("chat_id", "dedup_key"):
            continue
        column_type = table.c[name].type
        per_language = {lang: row[name] for lang, row in by_language.items()}
        *others, (_, last) = per_language.items()
        if all(value == last for _, value in others):
            constants.append(literal(last, column_type).label(name))
            continue
        choice = case(
            *((language == lang, literal(value, column_type)) for lang, value in others),
            else_=literal(last, column_type),
        )
        constants.append(choice.label(name))
    copies = (
        select(
            Member.telegram_id.label("chat_id"),
            (literal(key_prefix) + cast(Member.id, String)).label("dedup_key"),
            *constants,
        )
        .outerjoin(Account, Account.id == Member.telegram_id)
        .where(Member.id.in_(member_ids), Member.telegram_id.is_not(None))
    )
    names = [column.name for column in copies.selected_columns]
    statement = insert_or_skip(session, table, ["dedup_key"]).from_select(names, copies)
    result = await session.execute(statement)
    return result.rowcount or 0  # type: ignore[attr-defined]


def _row_values(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    media = row.get("media")
    return {
        "chat_id": row["chat_id"],
        "text": row["text"],
        "reply_markup": row.get("reply_markup"),
        "media_kind": media[0] if media else None,
        "media_file_id": media[1] if media else None,
        "kind": row["kind"],
        "dedup_key": row.get("dedup_key"),
        "urgent": row.get("urgent", False),
        "timezone": row["timezone"],
        "due_at": row["due_at"],
        "expires_at": row.get("expires_at"),
        "status": DeliveryStatus.pending,
        "attempts": 0,
        "created_at": now,
    }


class TermOver(Exception):
    """The leader's term is no longer the current one: another process leads now."""


def _current_term() -> Select[tuple[int]]:
    return select(SchedulerLeadership.term).where(SchedulerLeadership.id == 1)


async def claim_due(
    session: AsyncSession,
    now: datetime,
    term: int,
    *,
    chats: int,
    per_chat: int,
    busy: Collection[int] = (),
) -> list[Delivery]:
    """The next due messages of at most `chats` chats outside `busy`, at most `per_chat`
    of each, in the order they fell due, marked `sending` in `term`. TermOver when `term`
    is no longer the current one (its leader was deposed)."""
    query = (
        select(Delivery)
        .where(Delivery.status == DeliveryStatus.pending, Delivery.due_at <= now)
        .order_by(Delivery.due_at, Delivery.id)
        # Enough to fill `chats` chats, or to find that the head is one chat's long queue.
        .limit(chats + per_chat)
    )
    if busy:
        query = query.where(Delivery.chat_id.not_in(list(busy)))
    taken: dict[int, list[Delivery]] = {}
    for row in await session.scalars(query):
        rows = taken.get(row.chat_id)
        if rows is None:
            if len(taken) == chats:
                continue
            rows = taken[row.chat_id] = []
        if len(rows) < per_chat:
            rows.append(row)
    chosen = [row for rows in taken.values() for row in rows]
    if not chosen:
        return []
    claimed = set(
        await session.scalars(
            update(Delivery)
            .where(
                Delivery.id.in_([row.id for row in chosen]),
                Delivery.status == DeliveryStatus.pending,
                _current_term().scalar_subquery() == term,
            )
            .values(
                status=DeliveryStatus.sending,
                claimed_term=term,
                attempts=Delivery.attempts + 1,
            )
            .returning(Delivery.id)
            .execution_options(synchronize_session=False)
        )
    )
    if not claimed and await session.scalar(_current_term()) != term:
        raise TermOver(term)
    rows = [row for row in chosen if row.id in claimed]
    for row in rows:
        row.status, row.claimed_term, row.attempts = DeliveryStatus.sending, term, row.attempts + 1
    return rows


class Claim(enum.Enum):
    """What became of a claimed row, just before its send."""

    held = "held"  # still this term's: send it
    settled = "settled"  # settled meanwhile (the member blocked the bot, or was forgotten)
    term_over = "term_over"  # another leader's term began: stop sending


async def claim_state(session: AsyncSession, delivery_id: int, term: int) -> Claim:
    """Just before a send: is the row still this term's claim, and the term current?"""
    current = await session.scalar(_current_term())
    if current != term:
        return Claim.term_over
    held = await session.scalar(
        select(Delivery.id).where(
            Delivery.id == delivery_id,
            Delivery.status == DeliveryStatus.sending,
            Delivery.claimed_term == term,
        )
    )
    return Claim.held if held is not None else Claim.settled


async def put_back(
    session: AsyncSession, delivery_ids: list[int], term: int, not_before: datetime | None = None
) -> None:
    """Claimed in `term`, never tried: pending again as if never claimed, and not before
    `not_before` (behind a message of the same chat that is tried again then)."""
    values: dict[str, Any] = {
        "status": DeliveryStatus.pending,
        "attempts": Delivery.attempts - 1,
    }
    if not_before is not None:
        values["due_at"] = not_before
    await session.execute(
        update(Delivery)
        .where(
            Delivery.id.in_(delivery_ids),
            Delivery.status == DeliveryStatus.sending,
            Delivery.claimed_term == term,
        )
        .values(**values)
    )


async def requeue_earlier_terms(session: AsyncSession, term: int) -> int:
    """Rows an earlier leader claimed and never finished (it crashed, or was deposed) go
    again: they may have arrived, so at least once (README: "Delivery")."""
    result = await session.execute(
        update(Delivery)
        .where(
            Delivery.status == DeliveryStatus.sending,
            or_(Delivery.claimed_term.is_(None), Delivery.claimed_term < term),
        )
        .values(status=DeliveryStatus.pending)
    )
    return result.rowcount or 0


async def next_due_at(session: AsyncSession) -> datetime | None:
    return await session.scalar(
        select(func.min(Delivery.due_at)).where(Delivery.status == DeliveryStatus.pending)
    )


async def mark_sent(
    session: AsyncSession, delivery_id: int, message_id: int, now: datetime
) -> None:
    await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(status=DeliveryStatus.sent, telegram_message_id=message_id, sent_at=now)
    )


async def sent_on_its_own(session: AsyncSession, chat_id: int, message_id: int) -> bool:
    """Whether this message of the bot's in that chat was one of the outbox's (a notice, an
    invitation, a reminder) rather than a reply to something the person did."""
    found = await session.scalar(
        select(Delivery.id)
        .where(Delivery.chat_id == chat_id, Delivery.telegram_message_id == message_id)
        .limit(1)
    )
    return found is not None


async def retry_later(
    session: AsyncSession, delivery_id: int, due_at: datetime, error: str | None
) -> None:
    values: dict[str, Any] = {"status": DeliveryStatus.pending, "due_at": due_at}
    if error is not None:
        values["last_error"] = error[:300]
    await session.execute(update(Delivery).where(Delivery.id == delivery_id).values(**values))


async def give_up(
    session: AsyncSession, delivery_id: int, status: DeliveryStatus, error: str
) -> None:
    await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(status=status, last_error=error[:300])
    )


async def mark_unreachable(session: AsyncSession, chat_id: int, now: datetime, error: str) -> None:
    """The user blocked the bot: note it on the member, and stop queueing at them."""
    await session.execute(
        update(Member)
        .where(Member.telegram_id == chat_id, Member.unreachable_at.is_(None))
        .values(unreachable_at=now)
    )
    await session.execute(
        update(Delivery)
        .where(
            Delivery.chat_id == chat_id,
            Delivery.status.in_((DeliveryStatus.pending, DeliveryStatus.sending)),
        )
        .values(status=DeliveryStatus.unreachable, last_error=error[:300])
    )


async def mark_reachable(session: AsyncSession, telegram_id: int) -> None:
    """They wrote to the bot again, so they have unblocked it."""
    await session.execute(
        update(Member)
        .where(Member.telegram_id == telegram_id, Member.unreachable_at.is_not(None))
        .values(unreachable_at=None)
    )


async def prune(session: AsyncSession, now: datetime, keep: timedelta = timedelta(days=30)) -> int:
    """Forget finished deliveries after a while; their dedup keys go with them."""
    result = await session.execute(
        delete(Delivery).where(
            Delivery.status != DeliveryStatus.pending,
            Delivery.status != DeliveryStatus.sending,
            Delivery.created_at < now - keep,
        )
    )
    return result.rowcount or 0


async def counts(session: AsyncSession) -> dict[DeliveryStatus, int]:
    rows = await session.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
    return {status: count for status, count in rows}
