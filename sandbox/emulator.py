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
        with_bot: bool = True,
    ) -> Chat:
        """A group (or supergroup) of these people. `with_bot=False`: the bot is not in it
        yet (it sees nothing there and may not write) until someone `add_bot`s it."""
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
            bot_status="member" if with_bot else "left",
        )
        self.chats[chat.id] = chat
        return chat

    def add_bot(self, chat: Chat, by: Any) -> None:
        """`by` adds the bot to the group: the bot gets my_chat_member (left → member) and
        the service message naming it among the new members, and may write there."""
        user = self._group_member(chat, by)
        if chat.has_bot:
            raise AssertionError(f"the bot is in {chat.title!r} already")
        old, chat.bot_status, chat.bot_removed = chat.bot_status, "member", False
        chat.timeline.append(f"    ({user.first_name} added {self.bot.first_name})")
        self._bot_status_changed(chat, user, old, "member")
        self._service_message(chat, user, new_chat_members=[self.bot.to_api()])

    def remove_bot(self, chat: Chat, by: Any) -> None:
        """`by` removes the bot from the group: my_chat_member (member → left in a group,
        → kicked in a supergroup, where removing bans); from then on the bot sees nothing
        there, and what it sends gets 403 "Forbidden: bot was kicked from the group chat"."""
        user = self._group_member(chat, by)
        if not chat.has_bot:
            raise AssertionError(f"the bot is not in {chat.title!r}")
        new = "kicked" if chat.type == "supergroup" else "left"
        old, chat.bot_status, chat.bot_removed = chat.bot_status, new, True
        chat.timeline.append(f"    ({user.first_name} removed {self.bot.first_name})")
        self._bot_status_changed(chat, user, old, new)

    def migrate_to_supergroup(self, chat: Chat, by: Any) -> Chat:
        """`by` upgrades the group to a supergroup, which has a new id: the bot gets the
        service messages migrate_to_chat_id (in the old chat) and migrate_from_chat_id (in
        the new); writing to the old id gets 400 "group chat was upgraded to a supergroup
        chat" with parameters.migrate_to_chat_id. The new chat."""
        user = self._group_member(chat, by)
        if chat.type != "group" or chat.migrated_to is not None:
            raise AssertionError(f"{chat.title!r} is not a group that can be upgraded")
        upgraded = self.group(
            chat.title or "",
            members=list(chat.members),
            supergroup=True,
            username=chat.username,
            privacy_mode=chat.privacy_mode,
        )
        upgraded.bot_status, upgraded.bot_removed = chat.bot_status, chat.bot_removed
        self._service_message(chat, user, migrate_to_chat_id=upgraded.id)
        chat.migrated_to = upgraded.id
        chat.timeline.append(f"    ({user.first_name} upgraded the group to a supergroup)")
        self._service_message(upgraded, user, migrate_from_chat_id=chat.id)
        return upgraded

    def rename_group(self, chat: Chat, title: str, by: Any) -> None:
        """`by` gives the group a new title: the service message new_chat_title."""
        user = self._group_member(chat, by)
        if not 1 <= len(title) <= 128:
            raise AssertionError("a group's title is 1-128 characters")
        chat.title = title
        chat.timeline.append(f"    ({user.first_name} renamed the group to {title!r})")
        self._service_message(chat, user, new_chat_title=title)

    def _group_member(self, chat: Chat, person: Any) -> User:
        user: User = getattr(person, "user", person)
        if chat.type == "private":
            raise AssertionError("only groups and supergroups have members to do this")
        if user not in chat.members:
            raise AssertionError(f"{user.full_name} is not a member of {chat.title!r}")
        return user

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
