"""Updates for the bot: the queue, getUpdates long polling, and webhook registration and delivery.

Person and Emulator.block() put updates in with push_update(); the bot takes them with getUpdates,
or, once setWebhook is called, a background task POSTs them to the webhook one at a time.
"""

from __future__ import annotations

import re
import time
from typing import Any

import httpx

from .core import Core
from .request import Ctx
from .schema import ApiError, bad_request
from .state import Chat, User

_DEFAULT_EXCLUDED_UPDATES = {"chat_member", "message_reaction", "message_reaction_count"}
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class UpdateMethods(Core):
    """getUpdates, setWebhook, deleteWebhook, getWebhookInfo and the webhook sender."""

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
        """Tell the bot its member status in the user's private chat changed (block/unblock)."""
        old = "member" if status == "kicked" else "kicked"
        self._bot_status_changed(self.chats[user.id], user, old, status)

    def _bot_status_changed(self, chat: Chat, by: User, old: str, new: str) -> None:
        """A my_chat_member update: the bot's status in `chat` went from `old` to `new`
        ("member", "left", "kicked"), by `by`'s doing."""

        def member(status: str) -> dict[str, Any]:
            d: dict[str, Any] = {"user": self.bot.to_api(), "status": status}
            if status == "kicked":
                d["until_date"] = 0
            return d

        self.push_update(
            "my_chat_member",
            {
                "chat": chat.to_api(),
                "from": by.to_api(),
                "date": int(self.clock()),
                "old_chat_member": member(old),
                "new_chat_member": member(new),
            },
        )

    def _service_message(self, chat: Chat, by: User, **content: Any) -> dict[str, Any]:
        """A service message in a group (someone joined, the group was upgraded): stored in
        the chat's numbering and, where the bot is, given to it (whatever its privacy mode)."""
        message = {
            "message_id": chat.next_message_id,
            "from": by.to_api(),
            "chat": chat.to_api(),
            "date": int(self.clock()),
            **content,
        }
        chat.next_message_id += 1
        if chat.has_bot:
            self.push_update("message", message)
        return message

    # -- getUpdates ---------------------------------------------------------------------------
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

    # -- webhook ------------------------------------------------------------------------------
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
        """Deliver queued updates to the webhook in order, backing off while it fails."""
        failures = 0
        async with httpx.AsyncClient(timeout=10.0) as client:
            while not self._closing:
                if not self.webhook_url or not self.updates:
                    await self._update_signal.wait(None)
                    continue
                update = self.updates[0]
                error = await self._deliver(client, update)
                if error is None:
                    failures = 0
                    if self.updates and self.updates[0] is update:
                        self.updates.pop(0)
                    self.webhook_delivered.append(update)
                    self.changed.notify()
                    continue
                failures += 1
                self.webhook_last_error_date = int(self.clock())
                self.webhook_last_error_message = error
                await self._sleep(min(self.webhook_retry_delay * 2 ** (failures - 1), 2.0))

    async def _deliver(self, client: httpx.AsyncClient, update: dict[str, Any]) -> str | None:
        """POST one update to the webhook; the error getWebhookInfo would show, or None."""
        headers = {}
        if self.webhook_secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook_secret
        try:
            r = await client.post(self.webhook_url, json=update, headers=headers)
        except httpx.HTTPError as e:
            return f"Connection failed: {type(e).__name__}"
        if not 200 <= r.status_code < 300:
            return f"Wrong response from the webhook: {r.status_code} {r.reason_phrase}"
        return None
