"""HTTP glue of a Bot API call: reading the request body, error answers, and what is recorded."""

from __future__ import annotations

import email.parser
import email.policy
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .schema import ApiError, Upload, bad_request

# Telegram takes files of up to 50 MB from bots; a request larger than that with its
# multipart wrapping is answered 413, as Telegram does, and not read.
MAX_REQUEST_BYTES = 51 * 1024 * 1024


@dataclass
class Violation:
    method: str
    params: dict[str, Any]
    description: str
    status: int = 400


@dataclass
class RequestRecord:
    method: str
    params: dict[str, Any]
    status: int
    description: str | None = None
    time: float = field(default_factory=time.monotonic)


@dataclass
class Ctx:
    files: dict[str, Upload]
    request: Request


def error_response(
    status: int, description: str, parameters: dict[str, Any] | None = None
) -> Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return JSONResponse(body, status_code=status)


def loggable(params: dict[str, Any]) -> dict[str, Any]:
    return {k: (f"<file {v.filename}>" if isinstance(v, Upload) else v) for k, v in params.items()}


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


async def read_params(request: Request) -> tuple[dict[str, Any], dict[str, Upload]]:
    raw: dict[str, Any] = dict(request.query_params)
    files: dict[str, Upload] = {}
    body = await read_body(request, MAX_REQUEST_BYTES)
    if body is None:
        raise ApiError(413, "Request Entity Too Large")
    ctype = request.headers.get("content-type", "")
    if not body:
        return raw, files
    if ctype.startswith("application/json"):
        try:
            data = json.loads(body)
        except ValueError:
            raise bad_request("can't parse JSON object") from None
        if not isinstance(data, dict):
            raise bad_request("JSON object expected")
        raw.update(data)
    elif ctype.startswith("multipart/form-data"):
        head = f"Content-Type: {ctype}\r\nMIME-Version: 1.0\r\n\r\n".encode()
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        if not msg.is_multipart():
            raise bad_request("can't parse multipart/form-data")
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            filename = part.get_filename()
            if filename is None:
                raw[str(name)] = payload.decode("utf-8")
            else:
                files[str(name)] = Upload(str(name), filename, part.get_content_type(), payload)
    else:
        raw.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    return raw, files
