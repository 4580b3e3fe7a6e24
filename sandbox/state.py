"""In-memory Telegram state: users, chats, messages, files, callback queries."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Literal

# Inline/reply keyboard button fields that are decoration, not an action.
PLAIN_BUTTON_FIELDS = frozenset({"text", "style", "icon_custom_emoji_id"})


@dataclass(eq=False)
class User:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    phone: str | None = None
    is_bot: bool = False
    blocked: bool = False  # the user blocked the bot
    deactivated: bool = False  # the account was deleted
    started: bool = True  # has the user ever opened a chat with the bot?

    def to_api(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            d["last_name"] = self.last_name
        if self.username:
            d["username"] = self.username
        if self.language_code and not self.is_bot:
            d["language_code"] = self.language_code
        return d

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name


@dataclass(eq=False)
class FileRecord:
    file_id: str
    file_unique_id: str
    kind: Literal["photo", "document"]
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0

    def photo_size(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "width": self.width,
            "height": self.height,
            "file_size": len(self.data),
        }

    def document(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
        }
        if self.file_name:
            d["file_name"] = self.file_name
        if self.mime_type:
            d["mime_type"] = self.mime_type
        return d


@dataclass(eq=False)
class Chat:
    id: int
    type: Literal["private", "group", "supergroup"]
    title: str | None = None
    user: User | None = None  # the other side of a private chat
    username: str | None = None
    members: list[User] = field(default_factory=list)
    privacy_mode: bool = True  # groups: bot only sees commands, mentions and replies to it
    # Groups: the bot's ChatMember status ("member", "left", "kicked"); `bot_removed` once
    # someone removed it (Telegram's 403 then says "kicked", whatever the status).
    bot_status: str = "member"
    bot_removed: bool = False
    migrated_to: int | None = None  # a group upgraded to this supergroup: writes fail
    messages: dict[int, ChatMessage] = field(default_factory=dict)
    events: list[ChatEvent] = field(default_factory=list)  # bot output, read by Person cursors
    reply_keyboard: dict[str, Any] | None = None  # the ReplyKeyboardMarkup currently shown
    pinned: list[int] = field(default_factory=list)
    menu_button: dict[str, Any] | None = None
    actions: list[str] = field(default_factory=list)  # sendChatAction history
    timeline: list[ChatMessage | str] = field(default_factory=list)  # messages and notes, in order
    next_message_id: int = 1

    def to_api(self) -> dict[str, Any]:
        if self.type == "private" and self.user is not None:
            d = {"id": self.id, "type": "private", "first_name": self.user.first_name}
            if self.user.last_name:
                d["last_name"] = self.user.last_name
            if self.user.username:
                d["username"] = self.user.username
            return d
        d = {"id": self.id, "type": self.type, "title": self.title or ""}
        if self.username:
            d["username"] = self.username
        return d

    @property
    def has_bot(self) -> bool:
        """Whether the bot is in the chat: always in a private chat, in a group unless it
        was never added or was removed."""
        return self.type == "private" or self.bot_status in ("member", "administrator")

    def ordered(self) -> list[ChatMessage]:
        return [self.messages[k] for k in sorted(self.messages)]

    def live_message(self, message_id: int) -> ChatMessage | None:
        """The message with this id, or None if it never existed or was deleted."""
        msg = self.messages.get(message_id)
        return None if msg is None or msg.deleted else msg


@dataclass(eq=False)
class ChatMessage:
    """A stored message; the object stays live, so it always reflects later edits."""

    chat: Chat
    message_id: int
    sender: User
    from_bot: bool
    date: int = field(default_factory=lambda: int(time.time()))
    text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    caption: str | None = None
    caption_entities: list[dict[str, Any]] = field(default_factory=list)
    parse_mode: str | None = None
    reply_markup: dict[str, Any] | None = None  # as sent, any markup kind
    photo: FileRecord | None = None
    document: FileRecord | None = None
    location: dict[str, Any] | None = None
    contact: dict[str, Any] | None = None
    reply_to: ChatMessage | None = None
    forward_origin: dict[str, Any] | None = None
    edit_date: int | None = None
    history: list[dict[str, Any]] = field(default_factory=list)  # previous versions
    deleted: bool = False

    # -- harness view -------------------------------------------------------------------------
    @property
    def edited(self) -> bool:
        return bool(self.history)

    @property
    def inline_keyboard(self) -> list[list[dict[str, Any]]]:
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            return self.reply_markup["inline_keyboard"]
        return []

    @property
    def buttons(self) -> list[list[str]]:
        """Inline keyboard labels, row by row."""
        return [[b["text"] for b in row] for row in self.inline_keyboard]

    def button(self, label: str) -> dict[str, Any] | None:
        for row in self.inline_keyboard:
            for b in row:
                if b["text"] == label:
                    return b
        return None

    def button_data(self, label: str) -> str | None:
        b = self.button(label)
        return b.get("callback_data") if b else None

    @property
    def reply_keyboard(self) -> list[list[str]] | None:
        if self.reply_markup and "keyboard" in self.reply_markup:
            return [[button_label(b) for b in row] for row in self.reply_markup["keyboard"]]
        return None

    @property
    def photo_bytes(self) -> bytes | None:
        return self.photo.data if self.photo else None

    @property
    def document_bytes(self) -> bytes | None:
        return self.document.data if self.document else None

    @property
    def document_name(self) -> str | None:
        return self.document.file_name if self.document else None

    @property
    def content(self) -> str:
        return self.text if self.text is not None else (self.caption or "")

    def content_fields(self) -> dict[str, Any]:
        """What a forward or copy of this message carries over (ChatMessage keyword arguments)."""
        return {
            "text": self.text,
            "entities": list(self.entities),
            "caption": self.caption,
            "caption_entities": list(self.caption_entities),
            "photo": self.photo,
            "document": self.document,
            "location": self.location,
            "contact": self.contact,
        }

    def as_forward_origin(self) -> dict[str, Any]:
        """The MessageOrigin a forward of this message shows."""
        return {"type": "user", "date": self.date, "sender_user": self.sender.to_api()}

    # -- Bot API view -------------------------------------------------------------------------
    def to_api(self, with_reply: bool = True) -> dict[str, Any]:
        d: dict[str, Any] = {
            "message_id": self.message_id,
            "from": self.sender.to_api(),
            "chat": self.chat.to_api(),
            "date": self.date,
        }
        if self.text is not None:
            d["text"] = self.text
            if self.entities:
                d["entities"] = self.entities
        if self.photo:
            d["photo"] = [self.photo.photo_size()]
        if self.document:
            d["document"] = self.document.document()
        if self.caption:
            d["caption"] = self.caption
            if self.caption_entities:
                d["caption_entities"] = self.caption_entities
        if self.location:
            d["location"] = self.location
        if self.contact:
            d["contact"] = self.contact
        if self.forward_origin:
            d["forward_origin"] = self.forward_origin
        if self.edit_date:
            d["edit_date"] = self.edit_date
        if with_reply and self.reply_to is not None:
            d["reply_to_message"] = self.reply_to.to_api(with_reply=False)
        # Telegram echoes only inline keyboards back in Message.reply_markup.
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            d["reply_markup"] = self.reply_markup
        return d

    def snapshot(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "entities": self.entities,
            "caption": self.caption,
            "caption_entities": self.caption_entities,
            "reply_markup": self.reply_markup,
            "photo": self.photo,
            "document": self.document,
            "date": self.edit_date or self.date,
        }

    def describe(self) -> str:
        """One transcript line body: text or a media placeholder, plus buttons."""
        parts = []
        if self.photo:
            parts.append("<photo>")
        if self.document:
            parts.append(f"<document {self.document.file_name or ''}>".replace(" >", ">"))
        if self.location:
            parts.append(f"<location {self.location['latitude']},{self.location['longitude']}>")
        if self.contact:
            c = self.contact
            parts.append(f"<contact {c.get('first_name', '')} {c['phone_number']}>")
        if self.content:
            parts.append(self.content)
        line = " ".join(parts)
        for row in self.buttons:
            line += "\n      " + " ".join(f"[{label}]" for label in row)
        if self.reply_keyboard:
            for row in self.reply_keyboard:
                line += "\n      " + " ".join(f"{{{label}}}" for label in row)
        return line


def button_label(button: Any) -> str:
    """The label of a reply-keyboard button, which may be a plain string or a KeyboardButton."""
    return button if isinstance(button, str) else button["text"]


def contact(
    phone: str,
    first_name: str,
    last_name: str | None = None,
    user_id: int | None = None,
    vcard: str | None = None,
) -> dict[str, Any]:
    """A Contact object; optional fields are left out when empty."""
    d: dict[str, Any] = {"phone_number": phone, "first_name": first_name}
    if last_name:
        d["last_name"] = last_name
    if user_id is not None:
        d["user_id"] = user_id
    if vcard:
        d["vcard"] = vcard
    return d


@dataclass
class ChatEvent:
    """Something the bot did in a chat, as seen by a person reading it."""

    kind: Literal["new", "edit", "delete"]
    message: ChatMessage
    seq: int

    @property
    def text(self) -> str:
        return self.message.content


@dataclass(eq=False)
class CallbackRecord:
    id: str
    user: User
    message: ChatMessage
    data: str | None  # None: a forged press without any (Person.press_forged)
    created: float = field(default_factory=time.monotonic)
    answer: dict[str, Any] | None = None  # the answerCallbackQuery parameters once answered
    answered: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def text(self) -> str | None:
        return self.answer.get("text") if self.answer else None

    @property
    def show_alert(self) -> bool:
        return bool(self.answer and self.answer.get("show_alert"))
