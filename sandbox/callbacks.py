"""Callback queries: the bot's side of an inline button press (Person.press is the user's)."""

from __future__ import annotations

import time
from typing import Any

from .core import Core
from .request import Ctx
from .schema import bad_request

QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"


class CallbackMethods(Core):
    """answerCallbackQuery: once per query, within callback_timeout, text up to 200 chars."""

    async def _m_answercallbackquery(self, p: dict[str, Any], ctx: Ctx) -> Any:
        rec = self.callbacks.get(p["callback_query_id"])
        too_old = rec is not None and time.monotonic() - rec.created > self.callback_timeout
        if rec is None or rec.answer is not None or too_old:
            raise bad_request(QUERY_TOO_OLD)
        if len(p.get("text", "")) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        rec.answer = p
        rec.answered.set()
        note = f"    ({rec.user.first_name}'s press answered"
        if p.get("text"):
            note += f" with {'alert' if p.get('show_alert') else 'toast'}: {p['text']!r}"
        rec.message.chat.timeline.append(note + ")")
        self.changed.notify()
        return True
