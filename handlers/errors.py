"""The one error handler: refusals get a polite reply, bugs an apology and a log line.

Either way the unit of work (handlers.work) rolls back what the handler wrote, and
sends only the reply decided here.
"""

from __future__ import annotations

import logging

from telegram import ReplyKeyboardRemove, Update

from handlers.context import BotContext
from handlers.ui import Markup, error_text, plain, send_message
from handlers.work import Reply
from models.errors import DomainError, InvalidInput
from views.buttons import StaleButton

log = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(error, DomainError | StaleButton):
        log.info("update %s refused: %s", update_id, type(error).__name__)
    else:
        # Only the id: an update's contents can hold phone numbers.
        log.error("handler failed for update %s", update_id, exc_info=error)
    if not isinstance(update, Update) or update.effective_chat is None or error is None:
        return
    if isinstance(error, StaleButton):
        text = context.t("error.stale_button")
    elif isinstance(error, DomainError):
        text = error_text(context, error)
    else:
        text = context.t("error.apology")
    # A malformed answer leaves its question open (try again), and so does a bug; any
    # other refusal closes it (what it asked about is gone).
    step = context.work.answering
    keeps_question = isinstance(error, InvalidInput) or not isinstance(error, DomainError)
    markup: Markup | None = None
    if step is not None and step.keyboard is not None:
        markup = step.keyboard(context) if keeps_question else ReplyKeyboardRemove()
    refusal = isinstance(error, DomainError | StaleButton)
    context.work.fail(
        error,
        *_replies(update, context, text, markup, as_alert=refusal),
        close_question=step is not None and not keeps_question,
    )


def _replies(
    update: Update, context: BotContext, text: str, markup: Markup | None, *, as_alert: bool
) -> list[Reply]:
    """A press's refusal is an alert; an apology (or a typed answer's refusal) a message."""
    replies: list[Reply] = []
    query = update.callback_query
    if query is not None:
        replies.append(
            lambda: query.answer(plain(text)[:200] if as_alert else None, show_alert=as_alert)
        )
        if as_alert:
            return replies
    assert update.effective_chat
    chat_id = update.effective_chat.id
    replies.append(lambda: send_message(context, chat_id, text, markup))
    return replies
