"""The Emulator: a local Bot API server assembled from its parts, plus the scripted world.

Where things live:
    core.py       all state (Core.__init__) and helpers shared by every part
    server.py     start/stop, HTTP routing, the request pipeline (faults, validation, dispatch)
    request.py    reading request bodies, error answers, request/violation records
    checks.py     text/caption parsing and limits, reply markup rules
    messages.py   send*, forwardMessage, copyMessage, editMessage*, deleteMessage
    chats.py      getChat, sendChatAction, pinning
    callbacks.py  answerCallbackQuery
    commands.py   getMe, *MyCommands, *ChatMenuButton
    files.py      uploads, file parameters, getFile
    updates.py    the update queue, getUpdates, webhooks
"""

from __future__ import annotations

from typing import Any

from .callbacks import CallbackMethods
from .chats import ChatMethods
from .commands import CommandMethods
from .files import FileMethods
from .messages import MessageMethods
from .request import RequestRecord, Violation
from .server import HttpServer
from .state import Chat, ChatMessage, User
from .updates import UpdateMethods

__all__ = ["Emulator", "Violation"]


class Emulator(
    HttpServer,
    UpdateMethods,
    MessageMethods,
    ChatMethods,
    CallbackMethods,
    CommandMethods,
    FileMethods,
):
    """A local, faithful-enough Telegram Bot API. See sandbox/README.md.

    Emulator(token="123456:TEST-token", bot_username="branchbot_test", bot_name="Branchbot",
    host="127.0.0.1", port=0); the state it keeps is set up in Core.__init__ (core.py).
    """

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
