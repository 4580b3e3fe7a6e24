"""Scripted Telegram users: the client side of the harness."""

from __future__ import annotations

import re
import secrets
import time
from typing import TYPE_CHECKING, Any

from .formatting import utf16_len
from .schema import Upload
from .state import (
    PLAIN_BUTTON_FIELDS,
    CallbackRecord,
    Chat,
    ChatEvent,
    ChatMessage,
    User,
    button_label,
    contact,
)

if TYPE_CHECKING:
    from .emulator import Emulator

_TOKENS = re.compile(
    r"(?P<bot_command>(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,})?)"
    r"|(?P<mention>(?<!\w)@[A-Za-z0-9_]{3,32})"
    r"|(?P<url>https?://[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]+)"  # ASCII: ends at 中文 or ，
)


def auto_entities(text: str) -> list[dict[str, Any]]:
    """Entities Telegram's server adds to user text: commands, mentions, URLs."""
    return [
        {
            "type": m.lastgroup,
            "offset": utf16_len(text[: m.start()]),
            "length": utf16_len(m.group(0)),
        }
        for m in _TOKENS.finditer(text)
    ]


class Person:
    """A user talking to the bot. Created by Emulator.user()."""

    def __init__(self, emu: Emulator, user: User, chat: Chat) -> None:
        self.emu = emu
        self.user = user
        self.chat = chat  # the private chat with the bot
        self._cursor: dict[int, int] = {}
        self._presses: list[CallbackRecord] = []

    def __repr__(self) -> str:
        return f"<Person {self.user.full_name} id={self.user.id}>"

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def name(self) -> str:
        return self.user.full_name

    @property
    def blocked(self) -> bool:
        return self.user.blocked

    @blocked.setter
    def blocked(self, value: bool) -> None:
        self.emu.block(self, value)

    # -- talking to the bot -------------------------------------------------------------------
    async def _post(self, chat: Chat | None, **content: Any) -> ChatMessage:
        chat = chat or self.chat
        if chat.migrated_to is not None:
            raise AssertionError(f"{chat.title!r} is a supergroup now: write to its new chat")
        if chat.type == "private":
            if self.user.blocked:
                self.emu.block(self, False)  # writing to a blocked bot means restarting it
            self.user.started = True
        msg = self.emu._store(chat, self.user, False, **content)
        if self._visible_to_bot(msg):
            self.emu.push_update("message", msg.to_api())
        return msg

    def _visible_to_bot(self, msg: ChatMessage) -> bool:
        chat = msg.chat
        if not chat.has_bot:
            return False
        if chat.type == "private" or not chat.privacy_mode:
            return True
        # Privacy mode: commands, replies to the bot and mentions of the bot only.
        if msg.reply_to is not None and msg.reply_to.from_bot:
            return True
        text = msg.text or msg.caption or ""
        me = f"@{self.emu.bot.username}".lower()
        for e in msg.entities:
            token = text[e["offset"] : e["offset"] + e["length"]].lower()  # ASCII tokens
            if e["type"] == "bot_command" and ("@" not in token or token.endswith(me)):
                return True
            if e["type"] == "mention" and token == me:
                return True
        return False

    async def send(
        self,
        text: str,
        chat: Chat | None = None,
        reply_to: ChatMessage | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> ChatMessage:
        """Send text; /commands get a bot_command entity like on Telegram. `entities` is the
        formatting the person applied (bold, italic, text links: Bot API MessageEntity
        dicts, offsets in UTF-16 units), as a Telegram app sends it."""
        found = sorted(
            [*auto_entities(text), *(entities or [])], key=lambda e: (e["offset"], -e["length"])
        )
        return await self._post(chat, text=text, entities=found, reply_to=reply_to)

    async def share_contact(
        self,
        phone: str,
        first_name: str = "Contact",
        last_name: str | None = None,
        user_id: int | None = None,
        chat: Chat | None = None,
        vcard: str | None = None,
    ) -> ChatMessage:
        """A contact from the phone book (with `vcard`, as Telegram adds it for those)."""
        return await self._post(chat, contact=contact(phone, first_name, last_name, user_id, vcard))

    async def share_location(
        self, latitude: float, longitude: float, chat: Chat | None = None
    ) -> ChatMessage:
        return await self._post(chat, location={"latitude": latitude, "longitude": longitude})

    async def send_photo(
        self,
        data: bytes,
        caption: str | None = None,
        chat: Chat | None = None,
        caption_entities: list[dict[str, Any]] | None = None,
    ) -> ChatMessage:
        rec = self.emu._new_file(Upload("photo", "photo.jpg", "image/jpeg", data), "photo")
        return await self._post(
            chat, photo=rec, caption=caption, caption_entities=caption_entities or []
        )

    async def send_document(
        self,
        data: bytes,
        filename: str,
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
        chat: Chat | None = None,
        caption_entities: list[dict[str, Any]] | None = None,
    ) -> ChatMessage:
        rec = self.emu._new_file(Upload("document", filename, mime_type, data), "document")
        return await self._post(
            chat, document=rec, caption=caption, caption_entities=caption_entities or []
        )

    async def forward(self, message: ChatMessage, chat: Chat | None = None) -> ChatMessage:
        return await self._post(
            chat, forward_origin=message.as_forward_origin(), **message.content_fields()
        )

    # -- buttons ------------------------------------------------------------------------------
    async def press(
        self, label: str, message: ChatMessage | None = None, chat: Chat | None = None
    ) -> str:
        """Press an inline button by label on the latest bot message that has it.

        Returns the callback query id; see last_answer / wait_answer()."""
        chat = message.chat if message is not None else (chat or self.chat)
        candidates = [message] if message is not None else reversed(chat.ordered())
        target = next(
            (m for m in candidates if m.from_bot and not m.deleted and m.button(label)), None
        )
        if target is None:
            raise AssertionError(
                f"{self.name}: no inline button {label!r}. Visible buttons: "
                f"{self._visible_buttons(chat)}\n{self.transcript(chat)}"
            )
        return self.press_button(target, target.button(label) or {})

    def press_button(self, target: ChatMessage, button: dict[str, Any]) -> str:
        """Press this inline button of this message; the callback query id."""
        label = button.get("text", "")
        if "callback_data" not in button:
            kind = next(iter(set(button) - PLAIN_BUTTON_FIELDS), "?")
            raise AssertionError(f"button {label!r} is a {kind} button; it cannot be pressed")
        return self._press(target, label, button["callback_data"])

    def press_forged(self, target: ChatMessage, data: str | None) -> str:
        """A press on this message with callback data the bot never sent, as a modified
        client sends it (None: no data at all); the callback query id. The user forges it,
        so it is no violation of the bot's."""
        return self._press(target, f"forged {data!r:.40}", data)

    def _press(self, target: ChatMessage, label: str, data: str | None) -> str:
        chat = target.chat
        query_id = str(secrets.randbits(62))
        rec = CallbackRecord(id=query_id, user=self.user, message=target, data=data)
        self.emu.callbacks[rec.id] = rec
        self._presses.append(rec)
        chat.timeline.append(f"    ({self.name} pressed [{label}])")
        query = {
            "id": rec.id,
            "from": self.user.to_api(),
            "message": target.to_api(),
            "chat_instance": str(abs(chat.id) * 7919 % 10**12),
        }
        if data is not None:
            query["data"] = data
        self.emu.push_update("callback_query", query)
        return rec.id

    def _visible_buttons(self, chat: Chat) -> list[str]:
        return [
            label
            for m in chat.ordered()
            if m.from_bot and not m.deleted
            for row in m.buttons
            for label in row
        ]

    @property
    def last_answer(self) -> CallbackRecord | None:
        """The latest press; .answer is None until the bot answered it."""
        return self._presses[-1] if self._presses else None

    async def wait_answer(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109
        query_id: str | None = None,
    ) -> CallbackRecord:
        """Wait until the bot answered the press (default: the latest)."""
        rec = self.emu.callbacks[query_id] if query_id else self.last_answer
        if rec is None:
            raise AssertionError(f"{self.name} has not pressed any button")
        deadline = time.monotonic() + timeout
        while rec.answer is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"bot did not answer {self.name}'s button press ({rec.data!r}) within "
                    f"{timeout}s\n{self.transcript(rec.message.chat)}"
                )
            await self.emu.changed.wait(left)
        return rec

    async def answer_of_last_press(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> CallbackRecord:
        """Alias of wait_answer() for the latest press."""
        return await self.wait_answer(timeout)

    @property
    def reply_keyboard(self) -> list[list[str]] | None:
        kb = self.chat.reply_keyboard
        if kb is None:
            return None
        return [[button_label(b) for b in row] for row in kb["keyboard"]]

    async def tap(
        self,
        label: str,
        location: tuple[float, float] | None = None,
        chat: Chat | None = None,
    ) -> ChatMessage:
        """Tap a button of the reply keyboard currently shown in the chat."""
        chat = chat or self.chat
        kb = chat.reply_keyboard
        buttons = [b for row in (kb or {}).get("keyboard", []) for b in row]
        button = next((b for b in buttons if button_label(b) == label), None)
        if button is None:
            labels = [button_label(b) for b in buttons]
            raise AssertionError(
                f"{self.name}: no reply-keyboard button {label!r}; keyboard shows {labels}\n"
                f"{self.transcript(chat)}"
            )
        if kb and kb.get("one_time_keyboard"):
            chat.reply_keyboard = None
        if isinstance(button, str) or set(button) <= PLAIN_BUTTON_FIELDS:
            return await self.send(label, chat=chat)
        if button.get("request_contact"):
            if not self.user.phone:
                raise AssertionError(f"{self.name} has no phone; pass phone= to emu.user()")
            u = self.user
            return await self._post(chat, contact=contact(u.phone, u.first_name, u.last_name, u.id))
        if button.get("request_location"):
            if location is None:
                raise AssertionError("tap() on a request_location button needs location=(lat, lon)")
            return await self.share_location(*location, chat=chat)
        raise NotImplementedError(f"reply-keyboard button kind not emulated: {sorted(button)}")

    # -- reading ------------------------------------------------------------------------------
    async def next_event(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109
        chat: Chat | None = None,
    ) -> ChatEvent:
        """Next unread bot action in the chat: a new message, an edit or a deletion."""
        chat = chat or self.chat
        deadline = time.monotonic() + timeout
        while True:
            idx = self._cursor.get(chat.id, 0)
            if idx < len(chat.events):
                self._cursor[chat.id] = idx + 1
                return chat.events[idx]
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"{self.name} got nothing from the bot within {timeout}s\n"
                    f"{self.transcript(chat)}"
                )
            await self.emu.changed.wait(left)

    async def next_edit(
        self,
        message: ChatMessage,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> ChatMessage:
        """The message once the bot next edits it; other events meanwhile are read past
        (a live figures message or a check-in screen may change at any time)."""
        deadline = time.monotonic() + timeout
        while True:
            left = max(deadline - time.monotonic(), 0.0)
            event = await self.next_event(left, message.chat)
            if event.kind == "edit" and event.message.message_id == message.message_id:
                return event.message

    async def next_message(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109
        chat: Chat | None = None,
    ) -> ChatMessage:
        """Next unread new bot message (edits and deletions in between are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            left = max(deadline - time.monotonic(), 0.0)
            try:
                event = await self.next_event(left, chat)
            except AssertionError as e:
                raise AssertionError(str(e).replace("got nothing", "got no new message")) from None
            if event.kind == "new":
                return event.message

    async def expect_no_message(self, within: float = 0.5, chat: Chat | None = None) -> None:
        chat = chat or self.chat
        deadline = time.monotonic() + within
        while (left := deadline - time.monotonic()) > 0:
            unread = chat.events[self._cursor.get(chat.id, 0) :]
            if any(e.kind == "new" for e in unread):
                raise AssertionError(
                    f"{self.name} expected no message but got one\n{self.transcript(chat)}"
                )
            await self.emu.changed.wait(left)
        if any(e.kind == "new" for e in chat.events[self._cursor.get(chat.id, 0) :]):
            raise AssertionError(f"{self.name} expected no message\n{self.transcript(chat)}")

    def transcript(self, chat: Chat | None = None) -> str:
        chat = chat or self.chat
        title = chat.title or f"private chat {self.name} <-> {self.emu.bot.first_name}"
        lines = [f"--- transcript: {title} ---"]
        for item in chat.timeline:
            if isinstance(item, str):
                lines.append(item)
                continue
            who = item.sender.first_name
            flags = (" (deleted)" if item.deleted else "") + (
                f" (edited {len(item.history)}x)" if item.history else ""
            )
            lines.append(f"#{item.message_id} {who}{flags}: {item.describe()}")
            for old in item.history:
                was = old["text"] if old["text"] is not None else old["caption"] or ""
                lines.append(f"      was: {was!r}")
        lines.append("--- end ---")
        return "\n".join(lines)
