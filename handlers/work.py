"""One unit of work per update: one session, one transaction, the replies after the commit.

`process` is how every update is handled (bot.app's inbox calls it for each stored
update, in the transaction in which it took the update from its chat's lane and marked
it processed: the mark holds only if this transaction commits). The session is the one
the handlers see as `context.session`; `process` runs them, hands the notifications
they recorded to the notifier and commits: one transaction. Only then are the replies
sent, so nobody is told of a change that was not saved.

When a handler fails (a domain refusal, a stale button, a bug), the error handler
records it here with the reply to send instead, and the whole transaction is rolled
back: nothing the handler wrote is kept. A second, short transaction takes the chat's
lock again (on PostgreSQL the lock ended with the rollback), marks the update processed
unless another replica handled it meanwhile, and makes the one change a failure may
still make: closing the question that a refused answer ends (see
handlers.conversation). No savepoint is taken, so an update that succeeds, nearly
every one, costs two statements less.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application

from models import inbox
from models.account import close_question
from models.db import hold_loaded
from models.notifications import Broadcast, Notification, take_pending
from views.notifications import OutboxNotifier

if TYPE_CHECKING:
    from handlers.context import Services

log = logging.getLogger(__name__)

Reply = Callable[[], Awaitable[Any]]


@dataclass
class Work:
    """What one update's handlers share: the session, and what to send once it is saved."""

    session: AsyncSession
    language: str | None = None
    replies: list[Reply] = field(default_factory=list)
    failure: BaseException | None = None
    failure_replies: list[Reply] = field(default_factory=list)
    close_question: bool = False  # with the failure: the refused answer ends the question
    answered: bool = False  # the press was answered (handlers.ui.answer_press)
    # The conversation step this update answers (a handlers.conversation.Step), if any.
    answering: Any = None
    # The question being put meanwhile (a handlers.conversation.Asking), if any.
    asking: Any = None

    def reply(self, send: Reply) -> None:
        self.replies.append(send)

    def fail(self, error: BaseException, *replies: Reply, close_question: bool = False) -> None:
        self.failure = error
        self.failure_replies = list(replies)
        self.close_question = close_question


_current: ContextVar[Work] = ContextVar("branchbot_work")


def current_work() -> Work:
    """The unit of work of the update being handled (set by `process`)."""
    return _current.get()


async def process(
    application: Application,  # type: ignore[type-arg]
    update: Update,
    services: Services,
    session: AsyncSession,
    chat_key: int,
) -> None:
    """Handle the update of chat `chat_key` in `session`, whose transaction the caller
    began under the chat's lock and marked the update processed in; commits it."""
    notifier = OutboxNotifier(services.clock.now, services.defaults)
    hold_loaded(session)  # what one handler read, the next finds without a query
    work = Work(session)
    token = _current.set(work)
    try:
        await application.process_update(update)
        notifications: list[Notification | Broadcast] = []
        if work.failure is None:
            notifications = take_pending(session)
            await notifier.deliver(session, notifications)
            await session.commit()
        elif not await _after_failure(work, update, services.bot_id, chat_key):
            return  # another replica handled the update meanwhile, and answered it
    finally:
        _current.reset(token)
        _drop_persistence_marks(application)
    if notifications:  # committed: what went to the outbox can go now
        services.wake_sender()
    for send in work.replies if work.failure is None else work.failure_replies:
        try:
            await send()
        except TelegramError as error:  # the change is saved; only the reply is lost
            log.warning("reply to update %s failed: %s", update.update_id, error)


def _drop_persistence_marks(application: Application) -> None:  # type: ignore[type-arg]
    """PTB marks the user and chat of every update for its persistence, and only saving to
    a persistence empties the marks. The bot has none (its state is in the database), so
    without this the marks would grow by everyone who ever wrote to it."""
    if application.persistence is None:
        for marks in (
            "_user_ids_to_be_updated_in_persistence",
            "_chat_ids_to_be_updated_in_persistence",
        ):
            getattr(application, marks, set()).clear()


async def _after_failure(work: Work, update: Update, bot_id: int, chat_key: int) -> bool:
    """Undo what the handlers wrote (and the mark with it), then mark the update
    processed in a transaction of its own; False when another replica marked it
    meanwhile (the failure's replies are not sent)."""
    session = work.session
    await session.rollback()
    take_pending(session)  # nobody is told of what did not happen
    await inbox.lock_chat(session, chat_key)
    if not await inbox.mark_processed(session, bot_id, update.update_id, unless_marked=True):
        await session.rollback()
        return False
    if work.close_question and update.effective_user is not None:
        await close_question(session, update.effective_user.id)
    await session.commit()
    return True
