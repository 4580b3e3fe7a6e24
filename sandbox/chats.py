"""Bot API methods about a chat as a whole: getChat, chat actions and pinned messages."""

from __future__ import annotations

from typing import Any

from .core import Core
from .request import Ctx
from .schema import bad_request

_CHAT_ACTIONS = {
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
}  # fmt: skip


class ChatMethods(Core):
    """getChat, sendChatAction, pinChatMessage, unpinChatMessage, unpinAllChatMessages."""

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
        pinned = chat.live_message(chat.pinned[-1]) if chat.pinned else None
        if pinned is not None:
            info["pinned_message"] = pinned.to_api()
        return info

    async def _m_pinchatmessage(self, p: dict[str, Any], ctx: Ctx) -> Any:
        chat = self._writable(p["chat_id"])
        msg = chat.live_message(p["message_id"])
        if msg is None:
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
