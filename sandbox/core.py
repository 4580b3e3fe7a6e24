"""The emulator's state and the helpers that every group of Bot API methods shares.

Emulator (sandbox/emulator.py) is assembled from mixin classes built on Core: the HTTP server
(server.py) and one class per topic of the Bot API (messages, chats, callbacks, commands, files,
updates). A method named ``_m_<lower-case Bot API method>`` implements that Bot API method: it
gets the validated parameters and a Ctx, and returns the result or raises ApiError.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .faults import Faults, FloodLimiter, Injected, Stats
from .schema import bad_request
from .state import CallbackRecord, Chat, ChatEvent, ChatMessage, FileRecord, User

if TYPE_CHECKING:
    import uvicorn
    from starlette.types import ASGIApp

    from .request import RequestRecord, Violation

# Sending methods that count as "messages" for flood limits.
_NOT_MESSAGES = {"sendchataction", "sendinvoice"}


class Signal:
    """Wake-all notification; check your condition, then wait (no await in between)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float | None) -> bool:  # noqa: ASYNC109
        event = self._event
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            return False
        return True


class Core:
    """All emulator state (set up here, in one place) and the helpers shared by topics."""

    def __init__(
        self,
        token: str = "123456:TEST-token",
        bot_username: str = "branchbot_test",
        bot_name: str = "Branchbot",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.token = token
        self.host = host
        self.port = port
        bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 123456
        self.bot = User(id=bot_id, first_name=bot_name, username=bot_username, is_bot=True)
        self.faults = Faults()
        self.stats = Stats()
        self._flood = FloodLimiter(self.faults)
        self.violations: list[Violation] = []
        self.fault_log: list[Violation] = []  # answers caused by injected faults and 429s
        self.unhandled: list[tuple[str, dict[str, Any]]] = []
        self.requests: list[RequestRecord] = []
        self.users: dict[int, User] = {}
        self.chats: dict[int, Chat] = {}
        self.files: dict[str, FileRecord] = {}
        self.callbacks: dict[str, CallbackRecord] = {}
        self.command_sets: dict[tuple[tuple[Any, ...], str], list[dict[str, Any]]] = {}
        self.default_menu_button: dict[str, Any] | None = None
        self.updates: list[dict[str, Any]] = []
        self.allowed_updates: list[str] | None = None
        self.webhook_url = ""
        self.webhook_secret: str | None = None
        self.webhook_max_connections = 40
        self.webhook_last_error_date: int | None = None
        self.webhook_last_error_message: str | None = None
        self.webhook_delivered: list[dict[str, Any]] = []
        self.webhook_retry_delay = 0.1  # first backoff step, doubled per failure up to 2 s
        self.callback_timeout = 15.0  # Telegram refuses answers to older callback queries
        # Seconds every call but getUpdates takes to be answered: the round trip to Telegram's
        # servers, which a bot on a real network pays for each reply (the benchmarks set it).
        self.round_trip = 0.0
        # The time messages are dated with (Unix seconds); the sandbox moves it with its clock.
        self.clock: Callable[[], float] = time.time
        # Requests that are not the Bot API's (the sandbox page); None: 404.
        self.web_app: ASGIApp | None = None
        self.changed = Signal()  # any chat state change (Person waits on it)
        self._update_signal = Signal()
        self._poll_generation = 0
        self._next_user_id = 10001
        self._next_group_id = 1
        self._next_update_id = 100001
        self._next_file = 1
        self._seq = 0
        self._closing = False
        self._server: uvicorn.Server | None = None
        self._serve_task: asyncio.Task[None] | None = None
        self._webhook_task: asyncio.Task[None] | None = None

    def _chat(self, chat_id: int | str) -> Chat:
        if isinstance(chat_id, str):
            if chat_id.startswith("@"):
                for chat in self.chats.values():
                    if chat.username and chat.username.lower() == chat_id[1:].lower():
                        return chat
                raise bad_request("chat not found")
            try:
                chat_id = int(chat_id)
            except ValueError:
                raise bad_request("chat not found") from None
        chat = self.chats.get(chat_id)
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def _writable(self, chat_id: int | str) -> Chat:
        chat = self._chat(chat_id)
        user = chat.user
        if chat.type == "private" and user is not None:
            if user.deactivated:
                raise Injected(403, "Forbidden: user is deactivated")
            if user.blocked:
                raise Injected(403, "Forbidden: bot was blocked by the user")
            if not user.started:
                raise Injected(403, "Forbidden: bot can't initiate conversation with a user")
        if chat.migrated_to is not None:
            raise Injected(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        if not chat.has_bot:
            # Telegram's words: "bot was kicked from the group chat" (or supergroup chat).
            reason = "was kicked from" if chat.bot_removed else "is not a member of"
            raise Injected(403, f"Forbidden: bot {reason} the {chat.type} chat")
        return chat

    def _flood_check(self, method: str, chat: Chat) -> None:
        if method.lower() in _NOT_MESSAGES:
            return
        if self.faults.enforce_flood_limits:
            wait = self._flood.check(chat.id, chat.type != "private")
            if wait is not None:
                raise Injected(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})
        self.stats.record(chat.id)

    def _event(self, chat: Chat, kind: str, msg: ChatMessage) -> None:
        self._seq += 1
        chat.events.append(ChatEvent(kind, msg, self._seq))  # type: ignore[arg-type]
        self.changed.notify()

    def _store(self, chat: Chat, sender: User, from_bot: bool, **kw: Any) -> ChatMessage:
        kw.setdefault("date", int(self.clock()))
        msg = ChatMessage(
            chat=chat, message_id=chat.next_message_id, sender=sender, from_bot=from_bot, **kw
        )
        chat.next_message_id += 1
        chat.messages[msg.message_id] = msg
        chat.timeline.append(msg)
        if from_bot:
            self._event(chat, "new", msg)
        else:
            self.changed.notify()
        return msg

    async def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._closing and (left := deadline - time.monotonic()) > 0:
            await self._update_signal.wait(left)
