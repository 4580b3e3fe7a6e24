"""The emulated Bot API server: HTTP front end, request pipeline and method behaviour."""

from __future__ import annotations

import asyncio
import contextlib
import email.parser
import email.policy
import io
import json
import re
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
import uvicorn
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from .faults import Faults, FloodLimiter, Stats
from .formatting import parse, strip
from .schema import ApiError, Upload, Validator, bad_request, load_schema, method_index
from .state import CallbackRecord, Chat, ChatEvent, ChatMessage, FileRecord, User

# Sending methods that count as "messages" for flood limits.
_NOT_MESSAGES = {"sendchataction", "sendinvoice"}
_DEFAULT_EXCLUDED_UPDATES = {"chat_member", "message_reaction", "message_reaction_count"}
_CHAT_ACTIONS = {
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
}  # fmt: skip
_BUTTON_PLAIN_FIELDS = {"text", "style", "icon_custom_emoji_id"}
_KEYBOARD_REQUESTS = {
    "request_users", "request_chat", "request_contact", "request_location", "request_poll",
    "web_app", "request_managed_bot",
}  # fmt: skip
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"


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


class Injected(ApiError):
    """An error caused by a deliberately switched-on fault (block, deactivate, flood limit)."""


@dataclass
class Violation:
    method: str
    params: dict[str, Any]
    description: str
    status: int = 400


@dataclass
class RequestRecord:
    method: str
    params: dict[str, Any]
    status: int
    description: str | None = None
    time: float = field(default_factory=time.monotonic)


@dataclass
class Ctx:
    files: dict[str, Upload]
    request: Request


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # leave the test runner's signal handling alone


class Emulator:
    """A local, faithful-enough Telegram Bot API. See sandbox/README.md."""

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
        self.changed = Signal()  # any chat state change (Person waits on it)
        self._update_signal = Signal()
        self._poll_generation = 0
        self._next_user_id = 10001
        self._next_group_id = 1
        self._next_update_id = 100001
        self._next_file = 1
        self._seq = 0
        self._closing = False
        self._server: _Server | None = None
        self._serve_task: asyncio.Task[None] | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._handlers: dict[str, Callable[[dict[str, Any], Ctx], Awaitable[Any]]] = {
            name[3:]: getattr(self, name) for name in dir(self) if name.startswith("_m_")
        }

    # -- lifecycle ----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    async def start(self) -> Emulator:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Without NODELAY on a pre-bound socket every answer waits ~40 ms for a delayed ACK.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self,
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=1,
            http="h11",
        )
        self._server = _Server(config)
        self._serve_task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._serve_task.done():
                self._serve_task.result()
            await asyncio.sleep(0.01)
        self._webhook_task = asyncio.create_task(self._webhook_loop())
        return self

    async def stop(self) -> None:
        self._closing = True
        self._update_signal.notify()
        self.changed.notify()
        if self._webhook_task:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
        if self._server and self._serve_task:
            self._server.should_exit = True
            await self._serve_task

    async def __aenter__(self) -> Emulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- scripted world -----------------------------------------------------------------------
    def user(
        self,
        first_name: str,
        language_code: str | None = "en",
        username: str | None = None,
        last_name: str | None = None,
        phone: str | None = None,
        started: bool = True,
    ) -> Any:
        from .person import Person

        user = User(
            id=self._next_user_id,
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
            phone=phone,
            started=started,
        )
        self._next_user_id += 1
        self.users[user.id] = user
        chat = Chat(id=user.id, type="private", user=user)
        self.chats[chat.id] = chat
        return Person(self, user, chat)

    def group(
        self,
        title: str,
        members: list[Any] | None = None,
        supergroup: bool = False,
        username: str | None = None,
        privacy_mode: bool = True,
    ) -> Chat:
        n = self._next_group_id
        self._next_group_id += 1
        chat_id = -(1000000000000 + n) if supergroup else -(4000000000 + n)
        chat = Chat(
            id=chat_id,
            type="supergroup" if supergroup else "group",
            title=title,
            username=username,
            members=[getattr(m, "user", m) for m in members or []],
            privacy_mode=privacy_mode,
        )
        self.chats[chat.id] = chat
        return chat

    def block(self, person: Any, blocked: bool = True) -> None:
        user: User = getattr(person, "user", person)
        if user.blocked != blocked:
            user.blocked = blocked
            self._my_chat_member(user, "kicked" if blocked else "member")

    def deactivate(self, person: Any) -> None:
        getattr(person, "user", person).deactivated = True

    def chat(self, chat_id: int) -> Chat:
        return self.chats[chat_id]

    def messages(self, chat: Chat | int) -> list[ChatMessage]:
        c = chat if isinstance(chat, Chat) else self.chats[chat]
        return c.ordered()

    def calls(self, method: str) -> list[RequestRecord]:
        return [r for r in self.requests if r.method.lower() == method.lower()]

    def commands(
        self,
        language_code: str = "",
        chat_id: int | None = None,
        scope: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Commands set for exactly this scope and language, like getMyCommands.

        chat_id=N is short for scope={"type": "chat", "chat_id": N}."""
        if scope is None:
            scope = {"type": "chat", "chat_id": chat_id} if chat_id else {"type": "default"}
        return self.command_sets.get(
            self._scope_key({"scope": scope, "language_code": language_code}), []
        )

    def visible_commands(self, person: Any, chat: Chat | None = None) -> list[dict[str, Any]]:
        """Commands the user would see, resolving scopes like Telegram clients do."""
        user: User = getattr(person, "user", person)
        chat = chat or self.chats[user.id]
        lang = user.language_code or ""
        if chat.type == "private":
            keys: list[tuple[Any, ...]] = [("chat", chat.id), ("all_private_chats",)]
        else:
            keys = [("chat_member", chat.id, user.id), ("chat", chat.id), ("all_group_chats",)]
        keys.append(("default",))
        for key in keys:
            for code in ([lang] if lang else []) + [""]:
                if (key, code) in self.command_sets:
                    return self.command_sets[(key, code)]
        return []

    # -- ASGI ---------------------------------------------------------------------------------
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        path: str = scope["path"]
        if path.startswith("/file/bot"):
            response = self._download(path[len("/file/bot") :])
        elif path.startswith("/bot"):
            response = await self._api(path[len("/bot") :], request, send)
            if response is None:
                return  # connection dropped on purpose
        else:
            response = _error(404, "Not Found")
        await response(scope, receive, send)

    def _download(self, rest: str) -> Response:
        token, _, file_path = rest.partition("/")
        if token != self.token:
            return _error(401, "Unauthorized")
        for rec in self.files.values():
            if rec.file_path == file_path:
                return Response(rec.data, media_type=rec.mime_type or "application/octet-stream")
        return _error(404, "Not Found")

    async def _api(self, rest: str, request: Request, send: Any) -> Response | None:
        token, _, method_raw = rest.partition("/")
        if token != self.token:
            return self._reject(method_raw, {}, ApiError(401, "Unauthorized"))
        method = method_index().get(method_raw.lower())
        if method is None:
            return self._reject(method_raw, {}, ApiError(404, "Not Found"))
        try:
            raw, files = await _read_params(request)
        except ApiError as e:
            return self._reject(method, {}, e)
        except ClientDisconnect:  # the bot was killed mid-request: nothing to answer
            return None
        actions = self.faults.take(method)
        for a in actions:
            if a.kind == "slow":
                await self._sleep(a.delay)
        for a in actions:
            if a.kind == "fail":
                self.fault_log.append(Violation(method, raw, a.description, a.status))
                return _error(a.status, a.description)
        drop = next((a for a in actions if a.kind == "drop"), None)
        if drop is not None:
            if drop.deliver:
                with contextlib.suppress(ApiError):
                    await self._execute(method, raw, Ctx(files, request))
            self.fault_log.append(Violation(method, raw, "connection dropped", 0))
            transport = getattr(getattr(send, "__self__", None), "transport", None)
            if transport is not None:
                transport.abort()
                await asyncio.sleep(0.01)  # let uvicorn notice the disconnect
                return None
            return _error(502, "Bad Gateway")
        try:
            result = await self._execute(method, raw, Ctx(files, request))
        except ApiError as e:
            return self._reject(method, raw, e)
        self.requests.append(RequestRecord(method, raw, 200))
        return JSONResponse({"ok": True, "result": result})

    async def _execute(self, method: str, raw: dict[str, Any], ctx: Ctx) -> Any:
        params = Validator(ctx.files).method(method, raw)
        handler = self._handlers.get(method.lower())
        if handler is None:
            self.unhandled.append((method, params))
            return self._plausible(method, params)
        return await handler(params, ctx)

    def _reject(self, method: str, params: dict[str, Any], e: ApiError) -> Response:
        self.requests.append(RequestRecord(method, params, e.status, e.description))
        record = Violation(method, _loggable(params), e.description, e.status)
        if isinstance(e, Injected):
            self.fault_log.append(record)
            if e.status == 429:
                self.stats.count_429 += 1
        elif e.status != 0:
            self.violations.append(record)
        return _error(e.status, e.description, e.parameters)

    async def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._closing and (left := deadline - time.monotonic()) > 0:
            await self._update_signal.wait(left)

    def _plausible(self, method: str, params: dict[str, Any]) -> Any:
        returns = load_schema()["methods"][method]["returns"]
        if "Message" in returns and isinstance(params.get("chat_id"), int | str):
            chat = self._chat(params["chat_id"])
            return self._store(chat, self.bot, True).to_api()
        first = returns[0]
        if first.startswith("Array of"):
            return []
        return {"Integer": 0, "String": "", "Float": 0.0}.get(first, True)

    # -- helpers ------------------------------------------------------------------------------
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

    def _text(
        self, raw: str, parse_mode: str | None, entities: Any, caption: bool = False
    ) -> tuple[str, list[dict[str, Any]]]:
        text, ents = (raw, entities) if entities else parse(raw, parse_mode)
        text, ents = strip(text, ents)
        if caption:
            if len(text) > 1024:
                raise bad_request("message caption is too long")
        elif not text:
            raise bad_request("message text is empty")
        elif len(text) > 4096:
            raise bad_request("message is too long")
        return text, ents

    def _markup(self, markup: dict[str, Any] | None) -> dict[str, Any] | None:
        if markup is None:
            return None
        if "inline_keyboard" in markup:
            count = 0
            for row in markup["inline_keyboard"]:
                for b in row:
                    count += 1
                    actions = set(b) - _BUTTON_PLAIN_FIELDS
                    if not actions:
                        raise bad_request(
                            "can't parse inline keyboard button: Text buttons are unallowed in "
                            "the inline keyboard"
                        )
                    if len(actions) > 1:
                        raise bad_request(
                            "can't parse inline keyboard button: exactly one of the optional "
                            f"fields must be used, got {sorted(actions)}"
                        )
                    if "callback_data" in b and not 1 <= len(b["callback_data"].encode()) <= 64:
                        raise bad_request("BUTTON_DATA_INVALID")
                    if "url" in b and (not b["url"] or any(ch.isspace() for ch in b["url"])):
                        raise bad_request("BUTTON_URL_INVALID")
                    if b.get("style") not in (None, "danger", "success", "primary"):
                        raise bad_request("BUTTON_STYLE_INVALID")
                    if not b["text"]:
                        raise bad_request("BUTTON_TEXT_INVALID")
            if count > 100:
                raise bad_request("reply markup is too long")
        elif "keyboard" in markup:
            for row in markup["keyboard"]:
                for b in row:
                    if isinstance(b, dict):
                        if len(set(b) & _KEYBOARD_REQUESTS) > 1:
                            raise bad_request(
                                "can't parse keyboard button: only one request field is allowed"
                            )
                        if not b["text"]:
                            raise bad_request("keyboard button text is empty")
        elif "remove_keyboard" in markup and markup["remove_keyboard"] is not True:
            raise bad_request("can't parse reply keyboard markup: remove_keyboard must be True")
        elif "force_reply" in markup and markup["force_reply"] is not True:
            raise bad_request("can't parse reply keyboard markup: force_reply must be True")
        return markup

    def _apply_keyboard(self, chat: Chat, markup: dict[str, Any] | None) -> None:
        if markup and "keyboard" in markup:
            chat.reply_keyboard = markup
        elif markup and "remove_keyboard" in markup:
            chat.reply_keyboard = None

    def _reply_to(self, chat: Chat, p: dict[str, Any]) -> ChatMessage | None:
        rp = p.get("reply_parameters")
        if not rp:
            return None
        target_chat = self._chat(rp["chat_id"]) if "chat_id" in rp else chat
        msg = target_chat.messages.get(rp["message_id"])
        if msg is None or msg.deleted:
            if rp.get("allow_sending_without_reply"):
                return None
            raise bad_request("message to be replied not found")
        return msg

    def _new_file(self, upload: Upload, kind: str) -> FileRecord:
        n = self._next_file
        self._next_file += 1
        if kind == "photo":
            size = _image_size(upload.data)
            if size is None:
                raise bad_request("IMAGE_PROCESS_FAILED")
            if len(upload.data) > 10 * 1024 * 1024:
                raise bad_request("file is too big")
            path = f"photos/file_{n}.jpg"
        else:
            size = (0, 0)
            if len(upload.data) > 50 * 1024 * 1024:
                raise ApiError(413, "Request Entity Too Large")
            ext = (
                upload.filename.rsplit(".", 1)[1]
                if upload.filename and "." in upload.filename
                else ""
            )
            path = f"documents/file_{n}" + (f".{ext}" if ext else "")
        prefix = "AgACAgIAAxk" if kind == "photo" else "BQACAgIAAxk"
        rec = FileRecord(
            file_id=f"{prefix}{n:06d}{secrets.token_urlsafe(12)}",
            file_unique_id=f"AQAD{n:04d}{secrets.token_hex(3)}",
            kind=kind,  # type: ignore[arg-type]
            data=upload.data,
            file_path=path,
            file_name=upload.filename if kind == "document" else None,
            mime_type=upload.content_type if kind == "document" else "image/jpeg",
            width=size[0],
            height=size[1],
        )
        self.files[rec.file_id] = rec
        return rec

    def _file(self, value: Any, kind: str, files: dict[str, Upload]) -> FileRecord:
        if isinstance(value, str) and value.startswith("attach://"):
            value = files.get(value[len("attach://") :])
            if value is None:
                raise bad_request("wrong file identifier/HTTP URL specified")
        if isinstance(value, Upload):
            if not value.data:
                raise bad_request("file must be non-empty")
            return self._new_file(value, kind)
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            # No internet: stand in an empty file and say so in `unhandled`.
            self.unhandled.append((f"fetch {kind} by URL", {"url": value}))
            return self._new_file(Upload(kind, value.rsplit("/", 1)[-1], None, b""), "document")
        rec = self.files.get(value)
        if rec is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if rec.kind != kind:
            raise bad_request(f"can't use file of type {rec.kind.title()} as {kind.title()}")
        return rec

    def _edit_target(self, p: dict[str, Any]) -> ChatMessage:
        if "inline_message_id" in p:
            raise bad_request("MESSAGE_ID_INVALID")  # no inline messages exist here
        if "chat_id" not in p or "message_id" not in p:
            raise bad_request("message identifier is not specified")
        chat = self._writable(p["chat_id"])
        msg = chat.messages.get(p["message_id"])
        if msg is None or msg.deleted:
            raise bad_request("message to edit not found")
        if not msg.from_bot:
            raise bad_request("message can't be edited")
        return msg

    def _apply_edit(self, msg: ChatMessage, **changes: Any) -> dict[str, Any]:
        current = {k: getattr(msg, k) for k in changes}
        if current == changes:
            raise bad_request(NOT_MODIFIED)
        msg.history.append(msg.snapshot())
        for k, v in changes.items():
            setattr(msg, k, v)
        msg.edit_date = int(time.time())
        self._event(msg.chat, "edit", msg)
        return msg.to_api()

    @staticmethod
    def _inline(msg: ChatMessage, markup: dict[str, Any] | None) -> dict[str, Any] | None:
        # Edits replace the inline keyboard (omitting it removes it) but never a reply keyboard.
        if markup is None and msg.reply_markup and "inline_keyboard" not in msg.reply_markup:
            return msg.reply_markup
        return markup

    def push_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": self._next_update_id, kind: payload}
        self._next_update_id += 1
        allowed = self.allowed_updates
        if allowed and kind not in allowed:
            return update  # Telegram never queues update types the bot did not ask for
        if not allowed and kind in _DEFAULT_EXCLUDED_UPDATES:
            return update
        self.updates.append(update)
        self._update_signal.notify()
        return update

    def _my_chat_member(self, user: User, status: str) -> None:
        old = "member" if status == "kicked" else "kicked"
        member = {"user": self.bot.to_api(), "status": status}
        if status == "kicked":
            member["until_date"] = 0
        old_member = {"user": self.bot.to_api(), "status": old}
        if old == "kicked":
            old_member["until_date"] = 0
        self.push_update(
            "my_chat_member",
            {
                "chat": self.chats[user.id].to_api(),
                "from": user.to_api(),
                "date": int(time.time()),
                "old_chat_member": old_member,
                "new_chat_member": member,
            },
        )

    # -- updates & webhook --------------------------------------------------------------------
    def _confirm(self, offset: int) -> None:
        if offset < 0:
            self.updates = self.updates[offset:]
        elif offset:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]

    async def _m_getupdates(self, p: dict[str, Any], ctx: Ctx) -> Any:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        if "allowed_updates" in p:
            self.allowed_updates = p["allowed_updates"]
        self._confirm(p.get("offset", 0))
        limit = min(max(p.get("limit", 100), 1), 100)
        deadline = time.monotonic() + max(p.get("timeout", 0), 0)
        self._poll_generation += 1
        generation = self._poll_generation
        self._update_signal.notify()  # terminate an older long poll
        while not self.updates and not self._closing:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            await self._update_signal.wait(left)
            if self._poll_generation != generation or self.webhook_url:
                if await ctx.request.is_disconnected():
                    raise ApiError(0, "client gone")  # nobody is listening; not a violation
                why = "setWebhook" if self.webhook_url else "other getUpdates"
                raise ApiError(
                    409,
                    f"Conflict: terminated by {why} request; make sure that only one bot "
                    "instance is running",
                )
        return self.updates[:limit]

    async def _m_setwebhook(self, p: dict[str, Any], ctx: Ctx) -> Any:
        url = p["url"]
        if not url:
            return await self._m_deletewebhook(p, ctx)
        if not url.startswith(("https://", "http://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.get("secret_token")
        if secret is not None and not _SECRET.match(secret):
            raise bad_request("secret token contains unallowed characters")
        self.webhook_url = url
        self.webhook_secret = secret
        self.webhook_max_connections = p.get("max_connections", 40)
        if "allowed_updates" in p:
            self.allowed_updates = p["allowed_updates"]
        if p.get("drop_pending_updates"):
            self.updates.clear()
        self._update_signal.notify()
        return True

    async def _m_deletewebhook(self, p: dict[str, Any], ctx: Ctx) -> Any:
        self.webhook_url = ""
        self.webhook_secret = None
        if p.get("drop_pending_updates"):
            self.updates.clear()
        return True

    async def _m_getwebhookinfo(self, p: dict[str, Any], ctx: Ctx) -> Any:
        info: dict[str, Any] = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.updates),
        }
        if self.webhook_url:
            info["max_connections"] = self.webhook_max_connections
            info["ip_address"] = "127.0.0.1"
            if self.allowed_updates:
                info["allowed_updates"] = self.allowed_updates
        if self.webhook_last_error_date:
            info["last_error_date"] = self.webhook_last_error_date
            info["last_error_message"] = self.webhook_last_error_message
        return info

    async def _webhook_loop(self) -> None:
        failures = 0
        async with httpx.AsyncClient(timeout=10.0) as client:
            while not self._closing:
                if not self.webhook_url or not self.updates:
                    await self._update_signal.wait(None)
                    continue
                update, url = self.updates[0], self.webhook_url
                headers = {}
                if self.webhook_secret:
                    headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook_secret
                try:
                    r = await client.post(url, json=update, headers=headers)
                    error = None
                    if not 200 <= r.status_code < 300:
                        error = (
                            f"Wrong response from the webhook: {r.status_code} {r.reason_phrase}"
                        )
                except httpx.HTTPError as e:
                    error = f"Connection failed: {type(e).__name__}"
                if error is None:
                    failures = 0
                    if self.updates and self.updates[0] is update:
                        self.updates.pop(0)
                    self.webhook_delivered.append(update)
                    self.changed.notify()
                    continue
                failures += 1
                self.webhook_last_error_date = int(time.time())
                self.webhook_last_error_message = error
                await self._sleep(min(self.webhook_retry_delay * 2 ** (failures - 1), 2.0))

    # -- identity, commands, menu -------------------------------------------------------------
    async def _m_getme(self, p: dict[str, Any], ctx: Ctx) -> Any:
        return {
            **self.bot.to_api(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _scope_key(self, p: dict[str, Any]) -> tuple[tuple[Any, ...], str]:
        scope = p.get("scope") or {"type": "default"}
        lang = p.get("language_code", "")
        if lang and not re.fullmatch(r"[a-z]{2}", lang):
            raise bad_request("invalid language code specified")
        kind = scope["type"]
        if kind in ("chat", "chat_administrators"):
            return (kind, self._chat(scope["chat_id"]).id), lang
        if kind == "chat_member":
            chat = self._chat(scope["chat_id"])
            if scope["user_id"] not in self.users:
                raise bad_request("user not found")
            return (kind, chat.id, scope["user_id"]), lang
        return (kind,), lang

    async def _m_setmycommands(self, p: dict[str, Any], ctx: Ctx) -> Any:
        commands = p["commands"]
        if len(commands) > 100:
            raise bad_request("too many commands")
        for c in commands:
            if not _COMMAND.match(c["command"]):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(c["description"]) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._scope_key(p)
        if commands:
            self.command_sets[key] = commands
        else:
            self.command_sets.pop(key, None)
        return True

    async def _m_getmycommands(self, p: dict[str, Any], ctx: Ctx) -> Any:
        return self.command_sets.get(self._scope_key(p), [])

    async def _m_deletemycommands(self, p: dict[str, Any], ctx: Ctx) -> Any:
        self.command_sets.pop(self._scope_key(p), None)
        return True

    async def _m_setchatmenubutton(self, p: dict[str, Any], ctx: Ctx) -> Any:
        button = p.get("menu_button") or {"type": "default"}
        if "chat_id" in p:
            chat = self._chat(p["chat_id"])
            if chat.type != "private":
                raise bad_request("chat must be a private chat")
            chat.menu_button = button
        else:
            self.default_menu_button = button
        return True

    async def _m_getchatmenubutton(self, p: dict[str, Any], ctx: Ctx) -> Any:
        if "chat_id" in p:
            chat = self._chat(p["chat_id"])
            if chat.menu_button and chat.menu_button["type"] != "default":
                return chat.menu_button
        if self.default_menu_button and self.default_menu_button["type"] != "default":
            return self.default_menu_button
        return {"type": "commands"}

    # -- messages -----------------------------------------------------------------------------
    async def _m_sendmessage(self, p: dict[str, Any], ctx: Ctx) -> Any:
        chat = self._writable(p["chat_id"])
        text, entities = self._text(p["text"], p.get("parse_mode"), p.get("entities"))
        markup = self._markup(p.get("reply_markup"))
        reply_to = self._reply_to(chat, p)
        self._flood_check("sendMessage", chat)
        msg = self._store(
            chat,
            self.bot,
            True,
            text=text,
            entities=entities,
            parse_mode=p.get("parse_mode"),
            reply_markup=markup,
            reply_to=reply_to,
        )
        self._apply_keyboard(chat, markup)
        return msg.to_api()

    async def _send_media(self, method: str, kind: str, p: dict[str, Any], ctx: Ctx) -> Any:
        chat = self._writable(p["chat_id"])
        caption, cap_entities = None, []
        if "caption" in p:
            caption, cap_entities = self._text(
                p["caption"], p.get("parse_mode"), p.get("caption_entities"), caption=True
            )
        markup = self._markup(p.get("reply_markup"))
        reply_to = self._reply_to(chat, p)
        rec = self._file(p[kind], kind, ctx.files)
        if "filename" in p:
            rec.file_name = p["filename"]
        self._flood_check(method, chat)
        msg = self._store(
            chat,
            self.bot,
            True,
            caption=caption or None,
            caption_entities=cap_entities,
            parse_mode=p.get("parse_mode"),
            reply_markup=markup,
            reply_to=reply_to,
            **{kind: rec},
        )
        self._apply_keyboard(chat, markup)
        return msg.to_api()

    async def _m_sendphoto(self, p: dict[str, Any], ctx: Ctx) -> Any:
        return await self._send_media("sendPhoto", "photo", p, ctx)

    async def _m_senddocument(self, p: dict[str, Any], ctx: Ctx) -> Any:
        return await self._send_media("sendDocument", "document", p, ctx)

    async def _m_sendlocation(self, p: dict[str, Any], ctx: Ctx) -> Any:
        chat = self._writable(p["chat_id"])
        lat, lon = p["latitude"], p["longitude"]
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise bad_request("wrong location")
        markup = self._markup(p.get("reply_markup"))
        self._flood_check("sendLocation", chat)
        msg = self._store(
            chat,
            self.bot,
            True,
            location={"latitude": lat, "longitude": lon},
            reply_markup=markup,
            reply_to=self._reply_to(chat, p),
        )
        self._apply_keyboard(chat, markup)
        return msg.to_api()

    async def _m_sendcontact(self, p: dict[str, Any], ctx: Ctx) -> Any:
        chat = self._writable(p["chat_id"])
        markup = self._markup(p.get("reply_markup"))
        self._flood_check("sendContact", chat)
        contact = {"phone_number": p["phone_number"], "first_name": p["first_name"]}
        if p.get("last_name"):
            contact["last_name"] = p["last_name"]
        msg = self._store(chat, self.bot, True, contact=contact, reply_markup=markup)
        self._apply_keyboard(chat, markup)
        return msg.to_api()

    async def _m_forwardmessage(self, p: dict[str, Any], ctx: Ctx) -> Any:
        chat = self._writable(p["chat_id"])
        src = self._source(p)
        self._flood_check("forwardMessage", chat)
        origin = {"type": "user", "date": src.date, "sender_user": src.sender.to_api()}
        msg = self._store(chat, self.bot, True, forward_origin=origin, **_content(src))
        return msg.to_api()

    async def _m_copymessage(self, p: dict[str, Any], ctx: Ctx) -> Any:
        chat = self._writable(p["chat_id"])
        src = self._source(p)
        content = _content(src)
        if "caption" in p and (src.photo or src.document):
            content["caption"], content["caption_entities"] = self._text(
                p["caption"], p.get("parse_mode"), p.get("caption_entities"), caption=True
            )
        markup = self._markup(p.get("reply_markup"))
        self._flood_check("copyMessage", chat)
        msg = self._store(chat, self.bot, True, reply_markup=markup, **content)
        self._apply_keyboard(chat, markup)
        return {"message_id": msg.message_id}

    def _source(self, p: dict[str, Any]) -> ChatMessage:
        src = self._chat(p["from_chat_id"]).messages.get(p["message_id"])
        if src is None or src.deleted:
            raise bad_request("message to forward not found")
        return src

    async def _m_editmessagetext(self, p: dict[str, Any], ctx: Ctx) -> Any:
        msg = self._edit_target(p)
        if msg.text is None:
            raise bad_request("there is no text in the message to edit")
        text, entities = self._text(p["text"], p.get("parse_mode"), p.get("entities"))
        markup = self._inline(msg, self._markup(p.get("reply_markup")))
        return self._apply_edit(msg, text=text, entities=entities, reply_markup=markup)

    async def _m_editmessagecaption(self, p: dict[str, Any], ctx: Ctx) -> Any:
        msg = self._edit_target(p)
        if msg.photo is None and msg.document is None:
            raise bad_request("there is no caption in the message to edit")
        caption, entities = self._text(
            p.get("caption", ""), p.get("parse_mode"), p.get("caption_entities"), caption=True
        )
        markup = self._inline(msg, self._markup(p.get("reply_markup")))
        return self._apply_edit(
            msg, caption=caption or None, caption_entities=entities, reply_markup=markup
        )

    async def _m_editmessagereplymarkup(self, p: dict[str, Any], ctx: Ctx) -> Any:
        msg = self._edit_target(p)
        markup = self._inline(msg, self._markup(p.get("reply_markup")))
        return self._apply_edit(msg, reply_markup=markup)

    async def _m_editmessagemedia(self, p: dict[str, Any], ctx: Ctx) -> Any:
        msg = self._edit_target(p)
        if msg.photo is None and msg.document is None:
            raise bad_request("there is no media in the message to edit")
        media = p["media"]
        kind = media["type"]
        if kind not in ("photo", "document"):
            raise bad_request(f"emulator supports photo/document media only, got {kind}")
        rec = self._file(media["media"], kind, ctx.files)
        caption, entities = None, []
        if "caption" in media:
            caption, entities = self._text(
                media["caption"], media.get("parse_mode"), media.get("caption_entities"), True
            )
        markup = self._inline(msg, self._markup(p.get("reply_markup")))
        return self._apply_edit(
            msg,
            photo=rec if kind == "photo" else None,
            document=rec if kind == "document" else None,
            caption=caption or None,
            caption_entities=entities,
            reply_markup=markup,
        )

    async def _m_deletemessage(self, p: dict[str, Any], ctx: Ctx) -> Any:
        chat = self._chat(p["chat_id"])
        msg = chat.messages.get(p["message_id"])
        if msg is None or msg.deleted:
            raise bad_request("message to delete not found")
        msg.deleted = True
        self._event(chat, "delete", msg)
        return True

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

    async def _m_sendchataction(self, p: dict[str, Any], ctx: Ctx) -> Any:
        chat = self._writable(p["chat_id"])
        if p["action"] not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        chat.actions.append(p["action"])
        return True

    async def _m_getchat(self, p: dict[str, Any], ctx: Ctx) -> Any:
        chat = self._chat(p["chat_id"])
        info = {
            **chat.to_api(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }
        if chat.pinned and not chat.messages[chat.pinned[-1]].deleted:
            info["pinned_message"] = chat.messages[chat.pinned[-1]].to_api()
        return info

    async def _m_getfile(self, p: dict[str, Any], ctx: Ctx) -> Any:
        rec = self.files.get(p["file_id"])
        if rec is None:
            raise bad_request("invalid file_id")
        if len(rec.data) > 20 * 1024 * 1024:
            raise bad_request("file is too big")
        return {
            "file_id": rec.file_id,
            "file_unique_id": rec.file_unique_id,
            "file_size": len(rec.data),
            "file_path": rec.file_path,
        }

    async def _m_pinchatmessage(self, p: dict[str, Any], ctx: Ctx) -> Any:
        chat = self._writable(p["chat_id"])
        msg = chat.messages.get(p["message_id"])
        if msg is None or msg.deleted:
            raise bad_request("message to pin not found")
        if msg.message_id in chat.pinned:
            chat.pinned.remove(msg.message_id)
        chat.pinned.append(msg.message_id)
        return True

    async def _m_unpinchatmessage(self, p: dict[str, Any], ctx: Ctx) -> Any:
        chat = self._writable(p["chat_id"])
        target = p.get("message_id", chat.pinned[-1] if chat.pinned else None)
        if target in chat.pinned:
            chat.pinned.remove(target)
        return True

    async def _m_unpinallchatmessages(self, p: dict[str, Any], ctx: Ctx) -> Any:
        self._writable(p["chat_id"]).pinned.clear()
        return True


def _content(src: ChatMessage) -> dict[str, Any]:
    return {
        "text": src.text,
        "entities": list(src.entities),
        "caption": src.caption,
        "caption_entities": list(src.caption_entities),
        "photo": src.photo,
        "document": src.document,
        "location": src.location,
        "contact": src.contact,
    }


def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return JSONResponse(body, status_code=status)


def _loggable(params: dict[str, Any]) -> dict[str, Any]:
    return {k: (f"<file {v.filename}>" if isinstance(v, Upload) else v) for k, v in params.items()}


async def _read_params(request: Request) -> tuple[dict[str, Any], dict[str, Upload]]:
    raw: dict[str, Any] = dict(request.query_params)
    files: dict[str, Upload] = {}
    body = await request.body()
    ctype = request.headers.get("content-type", "")
    if not body:
        return raw, files
    if ctype.startswith("application/json"):
        try:
            data = json.loads(body)
        except ValueError:
            raise bad_request("can't parse JSON object") from None
        if not isinstance(data, dict):
            raise bad_request("JSON object expected")
        raw.update(data)
    elif ctype.startswith("multipart/form-data"):
        head = f"Content-Type: {ctype}\r\nMIME-Version: 1.0\r\n\r\n".encode()
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        if not msg.is_multipart():
            raise bad_request("can't parse multipart/form-data")
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            filename = part.get_filename()
            if filename is None:
                raw[str(name)] = payload.decode("utf-8")
            else:
                files[str(name)] = Upload(str(name), filename, part.get_content_type(), payload)
    else:
        raw.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    return raw, files


def _image_size(data: bytes) -> tuple[int, int] | None:
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as img:
            return img.size
    except Exception:
        return None
