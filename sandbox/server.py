"""The HTTP front end: uvicorn lifecycle, routing, and the pipeline every Bot API call goes through.

A call to /bot<token>/<method> is read (request.py), put through the injected faults (faults.py),
validated against the schema (schema.py) and dispatched to its ``_m_<method>`` implementation.
Every answer is recorded in ``requests``; rejections also in ``violations`` or ``fault_log``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from typing import Any, Self

import uvicorn
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from .core import Core
from .faults import Injected
from .request import Ctx, RequestRecord, Violation, error_response, loggable, read_params
from .schema import ApiError, Validator, load_schema, method_index


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # leave the test runner's signal handling alone


class HttpServer(Core):
    """Serving the emulator over HTTP: start/stop, the ASGI entry point and request pipeline."""

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

    async def start(self) -> Self:
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
        self._webhook_task = asyncio.create_task(self._webhook_loop())  # see updates.py
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

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- ASGI ---------------------------------------------------------------------------------
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        path: str = scope["path"]
        if self.web_app is not None and not path.startswith(("/bot", "/file/bot")):
            await self.web_app(scope, receive, send)
            return
        if path.startswith("/file/bot"):
            response = self._download(path[len("/file/bot") :])
        elif path.startswith("/bot"):
            response = await self._api(path[len("/bot") :], request, send)
            if response is None:
                return  # connection dropped on purpose
        else:
            response = error_response(404, "Not Found")
        await response(scope, receive, send)

    def _download(self, rest: str) -> Response:
        token, _, file_path = rest.partition("/")
        if token != self.token:
            return error_response(401, "Unauthorized")
        for rec in self.files.values():
            if rec.file_path == file_path:
                return Response(rec.data, media_type=rec.mime_type or "application/octet-stream")
        return error_response(404, "Not Found")

    async def _api(self, rest: str, request: Request, send: Any) -> Response | None:
        token, _, method_raw = rest.partition("/")
        if token != self.token:
            return self._reject(method_raw, {}, ApiError(401, "Unauthorized"))
        method = method_index().get(method_raw.lower())
        if method is None:
            return self._reject(method_raw, {}, ApiError(404, "Not Found"))
        try:
            raw, files = await read_params(request)
        except ApiError as e:
            return self._reject(method, {}, e)
        except ClientDisconnect:  # the bot was killed mid-request: nothing to answer
            return None
        if self.round_trip and method != "getUpdates":
            await self._sleep(self.round_trip)
        actions = self.faults.take(method)
        for a in actions:
            if a.kind == "slow":
                await self._sleep(a.delay)
        for a in actions:
            if a.kind == "fail":
                self.fault_log.append(Violation(method, raw, a.description, a.status))
                wait = {"retry_after": a.retry_after} if a.retry_after is not None else None
                return error_response(a.status, a.description, wait)
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
            return error_response(502, "Bad Gateway")
        try:
            result = await self._execute(method, raw, Ctx(files, request))
        except ApiError as e:
            return self._reject(method, raw, e)
        self.requests.append(RequestRecord(method, raw, 200))
        return JSONResponse({"ok": True, "result": result})

    async def _execute(self, method: str, raw: dict[str, Any], ctx: Ctx) -> Any:
        params = Validator(ctx.files).method(method, raw)
        handler = getattr(self, f"_m_{method.lower()}", None)
        if handler is None:
            self.unhandled.append((method, params))
            return self._plausible(method, params)
        return await handler(params, ctx)

    def _reject(self, method: str, params: dict[str, Any], e: ApiError) -> Response:
        self.requests.append(RequestRecord(method, params, e.status, e.description))
        record = Violation(method, loggable(params), e.description, e.status)
        if isinstance(e, Injected):
            self.fault_log.append(record)
            if e.status == 429:
                self.stats.count_429 += 1
        elif e.status != 0:
            self.violations.append(record)
        return error_response(e.status, e.description, e.parameters)

    def _plausible(self, method: str, params: dict[str, Any]) -> Any:
        """The answer to a valid call of a method without real behaviour here."""
        returns = load_schema()["methods"][method]["returns"]
        if "Message" in returns and isinstance(params.get("chat_id"), int | str):
            chat = self._chat(params["chat_id"])
            return self._store(chat, self.bot, True).to_api()
        first = returns[0]
        if first.startswith("Array of"):
            return []
        return {"Integer": 0, "String": "", "Float": 0.0}.get(first, True)
