"""The production webhook: a small ASGI app (Starlette) served by uvicorn.

Telegram is answered 200 only after the update is stored (see `UpdateInbox`),
so an acknowledged update survives a crash.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import uvicorn
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update

from bot.config import ConfigError

if TYPE_CHECKING:
    from bot.app import BotRuntime

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram's largest update is some tens of kilobytes (a 4,096-character text with its
# entities, replying to and quoting another such message). 1 MiB leaves ample room and
# refuses, before it is read into memory or stored, what cannot be an update.
MAX_BODY_BYTES = 1024 * 1024


def _is_update(payload: Any) -> bool:
    return (
        isinstance(payload, dict)
        and isinstance(payload.get("update_id"), int)
        and not isinstance(payload.get("update_id"), bool)
    )


async def read_body(request: Request, limit: int) -> bytes | None:
    """The request's body, or None when it is longer than `limit` bytes: then no more of
    it than that is read (none at all when its Content-Length says so)."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and (len(declared) > 15 or int(declared) > limit):
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def create_asgi_app(runtime: BotRuntime) -> Starlette:
    secret = runtime.config.webhook.secret_token.encode()

    async def receive_update(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, secret):
            return PlainTextResponse("forbidden", status_code=403)
        body = await read_body(request, MAX_BODY_BYTES)
        if body is None:
            log.warning("webhook: refused a body of more than %d bytes", MAX_BODY_BYTES)
            return PlainTextResponse("request body too large", status_code=413)
        if not runtime.ready.is_set():
            # Updates are stored once the bot can answer them; Telegram retries a 503.
            return PlainTextResponse("starting", status_code=503)
        try:
            payload = json.loads(body)
            if not _is_update(payload):
                raise ValueError("no update_id")
            Update.de_json(payload, runtime.application.bot)  # must be readable before storing
        except Exception as exc:  # whatever a stranger's body makes PTB raise
            # The type only: the body may hold a person's words or phone number.
            log.warning("webhook: refused a body that is not an update (%s)", type(exc).__name__)
            return PlainTextResponse("malformed update", status_code=400)
        try:
            await runtime.updates.accept(payload)
        except (SQLAlchemyError, OSError) as exc:
            log.warning(
                "webhook: update %s not stored, the database is unavailable (%s); "
                "answered 503, Telegram sends it again",
                payload["update_id"],
                type(exc).__name__,
            )
            return PlainTextResponse("database unavailable", status_code=503)
        return PlainTextResponse("ok")

    async def health(_: Request) -> Response:
        if not runtime.ready.is_set():
            return JSONResponse({"status": "starting", "reason": runtime.waiting_for}, 503)
        try:
            async with runtime.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as exc:
            log.warning("health check: database unreachable (%s)", type(exc).__name__)
            return JSONResponse({"status": "database unreachable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route(runtime.config.webhook.path, receive_update, methods=["POST"]),
            Route("/healthz", health, methods=["GET"]),
        ]
    )


async def register_webhook(runtime: BotRuntime) -> None:
    webhook = runtime.config.webhook
    if not webhook.public_url:
        log.warning("webhook.public_url is empty: not registering the webhook with Telegram")
        return
    await runtime.application.bot.set_webhook(
        url=webhook.public_url.rstrip("/") + webhook.path,
        secret_token=webhook.secret_token,
        allowed_updates=Update.ALL_TYPES,
    )


class WebhookServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # signals belong to BotRuntime, which stops the server through should_exit


def open_socket(host: str, port: int) -> socket.socket:
    """Bind here, so that a taken port is one clear line rather than uvicorn's exit."""
    try:
        listener = socket.create_server((host, port))
    except OSError as exc:
        raise ConfigError(
            f"webhook.listen/webhook.port: cannot listen on {host}:{port} ({exc.strerror})"
        ) from None
    # uvicorn sets this only on sockets it binds itself; without it replies wait ~40 ms.
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return listener


def create_webhook_server(runtime: BotRuntime) -> WebhookServer:
    webhook = runtime.config.webhook
    return WebhookServer(
        uvicorn.Config(
            create_asgi_app(runtime),
            host=webhook.listen,
            port=webhook.port,
            log_config=None,  # ours, with redaction
            lifespan="off",
        )
    )
