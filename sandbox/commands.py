"""The bot's identity, command lists and menu button: getMe, *MyCommands, *ChatMenuButton.

Command lists are kept per (scope, language) in ``command_sets``; ``visible_commands`` resolves
them the way Telegram clients do.
"""

from __future__ import annotations

import re
from typing import Any

from .core import Core
from .request import Ctx
from .schema import bad_request
from .state import Chat, User

_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")


class CommandMethods(Core):
    """getMe, set/get/deleteMyCommands, set/getChatMenuButton, and the harness views of them."""

    # -- harness view -------------------------------------------------------------------------
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

    # -- Bot API ------------------------------------------------------------------------------
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
