"""Bot API methods that send, forward, copy, edit and delete messages."""

from __future__ import annotations

from typing import Any

from .checks import check_markup, parse_caption, parse_text
from .files import FileMethods
from .request import Ctx
from .schema import bad_request
from .state import Chat, ChatMessage, contact

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)


class MessageMethods(FileMethods):  # photos and documents are stored through FileMethods
    """send*, forwardMessage, copyMessage, editMessage*, deleteMessage."""

    # -- sending ------------------------------------------------------------------------------
    def _send(
        self, method: str, chat: Chat, markup: dict[str, Any] | None, **content: Any
    ) -> ChatMessage:
        """Count a checked send against the flood limits, store it, show its reply keyboard."""
        self._flood_check(method, chat)
        msg = self._store(chat, self.bot, True, reply_markup=markup, **content)
        if markup and "keyboard" in markup:
            chat.reply_keyboard = markup
        elif markup and "remove_keyboard" in markup:
            chat.reply_keyboard = None
        return msg

    def _reply_to(self, chat: Chat, p: dict[str, Any]) -> ChatMessage | None:
        rp = p.get("reply_parameters")
        if not rp:
            return None
        target_chat = self._chat(rp["chat_id"]) if "chat_id" in rp else chat
        msg = target_chat.live_message(rp["message_id"])
        if msg is None:
            if rp.get("allow_sending_without_reply"):
                return None
            raise bad_request("message to be replied not found")
        return msg

    async def _m_sendmessage(self, p: dict[str, Any], ctx: Ctx) -> Any:
        chat = self._writable(p["chat_id"])
        text, entities = parse_text(p["text"], p.get("parse_mode"), p.get("entities"))
        markup = check_markup(p.get("reply_markup"))
        reply_to = self._reply_to(chat, p)
        msg = self._send(
            "sendMessage",
            chat,
            markup,
            text=text,
            entities=entities,
            parse_mode=p.get("parse_mode"),
            reply_to=reply_to,
        )
        return msg.to_api()

    async def _send_media(self, method: str, kind: str, p: dict[str, Any], ctx: Ctx) -> Any:
        chat = self._writable(p["chat_id"])
        caption, cap_entities = parse_caption(p)
        markup = check_markup(p.get("reply_markup"))
        reply_to = self._reply_to(chat, p)
        rec = self._file(p[kind], kind, ctx.files)
        if "filename" in p:
            rec.file_name = p["filename"]
        msg = self._send(
            method,
            chat,
            markup,
            caption=caption,
            caption_entities=cap_entities,
            parse_mode=p.get("parse_mode"),
            reply_to=reply_to,
            **{kind: rec},
        )
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
        markup = check_markup(p.get("reply_markup"))
        reply_to = self._reply_to(chat, p)
        location = {"latitude": lat, "longitude": lon}
        msg = self._send("sendLocation", chat, markup, location=location, reply_to=reply_to)
        return msg.to_api()

    async def _m_sendcontact(self, p: dict[str, Any], ctx: Ctx) -> Any:
        chat = self._writable(p["chat_id"])
        markup = check_markup(p.get("reply_markup"))
        card = contact(p["phone_number"], p["first_name"], p.get("last_name"))
        return self._send("sendContact", chat, markup, contact=card).to_api()

    async def _m_forwardmessage(self, p: dict[str, Any], ctx: Ctx) -> Any:
        chat = self._writable(p["chat_id"])
        src = self._source(p)
        content = src.content_fields()
        msg = self._send(
            "forwardMessage", chat, None, forward_origin=src.as_forward_origin(), **content
        )
        return msg.to_api()

    async def _m_copymessage(self, p: dict[str, Any], ctx: Ctx) -> Any:
        chat = self._writable(p["chat_id"])
        src = self._source(p)
        content = src.content_fields()
        if "caption" in p and (src.photo or src.document):
            content["caption"], content["caption_entities"] = parse_caption(p)
        markup = check_markup(p.get("reply_markup"))
        msg = self._send("copyMessage", chat, markup, **content)
        return {"message_id": msg.message_id}

    def _source(self, p: dict[str, Any]) -> ChatMessage:
        src = self._chat(p["from_chat_id"]).live_message(p["message_id"])
        if src is None:
            raise bad_request("message to forward not found")
        return src

    # -- editing and deleting -----------------------------------------------------------------
    def _edit_target(self, p: dict[str, Any]) -> ChatMessage:
        if "inline_message_id" in p:
            raise bad_request("MESSAGE_ID_INVALID")  # no inline messages exist here
        if "chat_id" not in p or "message_id" not in p:
            raise bad_request("message identifier is not specified")
        chat = self._writable(p["chat_id"])
        msg = chat.live_message(p["message_id"])
        if msg is None:
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
        msg.edit_date = int(self.clock())
        self._event(msg.chat, "edit", msg)
        return msg.to_api()

    async def _m_editmessagetext(self, p: dict[str, Any], ctx: Ctx) -> Any:
        msg = self._edit_target(p)
        if msg.text is None:
            raise bad_request("there is no text in the message to edit")
        text, entities = parse_text(p["text"], p.get("parse_mode"), p.get("entities"))
        markup = _inline(msg, check_markup(p.get("reply_markup")))
        return self._apply_edit(msg, text=text, entities=entities, reply_markup=markup)

    async def _m_editmessagecaption(self, p: dict[str, Any], ctx: Ctx) -> Any:
        msg = self._edit_target(p)
        if msg.photo is None and msg.document is None:
            raise bad_request("there is no caption in the message to edit")
        caption, entities = parse_text(
            p.get("caption", ""), p.get("parse_mode"), p.get("caption_entities"), caption=True
        )
        markup = _inline(msg, check_markup(p.get("reply_markup")))
        return self._apply_edit(
            msg, caption=caption or None, caption_entities=entities, reply_markup=markup
        )

    async def _m_editmessagereplymarkup(self, p: dict[str, Any], ctx: Ctx) -> Any:
        msg = self._edit_target(p)
        markup = _inline(msg, check_markup(p.get("reply_markup")))
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
        caption, entities = parse_caption(media)
        markup = _inline(msg, check_markup(p.get("reply_markup")))
        return self._apply_edit(
            msg,
            photo=rec if kind == "photo" else None,
            document=rec if kind == "document" else None,
            caption=caption,
            caption_entities=entities,
            reply_markup=markup,
        )

    async def _m_deletemessage(self, p: dict[str, Any], ctx: Ctx) -> Any:
        chat = self._chat(p["chat_id"])
        msg = chat.live_message(p["message_id"])
        if msg is None:
            raise bad_request("message to delete not found")
        msg.deleted = True
        self._event(chat, "delete", msg)
        return True


def _inline(msg: ChatMessage, markup: dict[str, Any] | None) -> dict[str, Any] | None:
    # Edits replace the inline keyboard (omitting it removes it) but never a reply keyboard.
    if markup is None and msg.reply_markup and "inline_keyboard" not in msg.reply_markup:
        return msg.reply_markup
    return markup
