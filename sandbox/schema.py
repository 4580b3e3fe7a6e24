"""Request validation against the compact Bot API schema (botapi_schema.json).

Values from form-encoded, multipart and query-string bodies all arrive as strings (PTB sends
strings raw and everything else JSON-dumped), so they are coerced per declared type, the way the
Bot API server does. JSON bodies are typed already but Telegram also accepts JSON-encoded strings
for objects and digit strings for integers, so the same coercion applies.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).with_name("botapi_schema.json")
PRIMITIVES = {"Integer", "Float", "Boolean", "String"}
_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
# python-telegram-bot sends these with every message method once `Defaults` sets them, even
# where the method has no such parameter (editMessageMedia gets parse_mode). Telegram ignores
# unknown parameters; the emulator refuses all others, to catch misspelt ones.
LIBRARY_DEFAULTS = {"parse_mode", "disable_notification", "protect_content"}


class ApiError(Exception):
    """A Bot API error answer: HTTP status == error_code, like Telegram."""

    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


@dataclass
class Upload:
    """A file part of a multipart/form-data request."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes


@cache
def load_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@cache
def method_index() -> dict[str, str]:
    """Lower-case method name -> canonical name; Telegram ignores the case of method names."""
    return {name.lower(): name for name in load_schema()["methods"]}


class Validator:
    def __init__(self, files: dict[str, Upload]) -> None:
        self.files = files
        self.types = load_schema()["types"]

    def method(self, method: str, raw: dict[str, Any]) -> dict[str, Any]:
        fields = {f["name"]: f for f in load_schema()["methods"][method]["fields"]}
        params: dict[str, Any] = {}
        raw = dict(raw)
        for name, upload in self.files.items():
            # PTB uploads a top-level file as a part named after the parameter, with no value.
            if name in fields and "InputFile" in fields[name]["types"] and name not in raw:
                raw[name] = upload
        for name, value in raw.items():
            if name not in fields and name in LIBRARY_DEFAULTS:
                continue
            if name not in fields:
                raise bad_request(f'unknown parameter "{name}"')
            types = fields[name]["types"]
            if value is None or (
                value == "" and "String" not in types and "InputFile" not in types
            ):
                continue  # Telegram treats null / empty non-string values as absent
            params[name] = self.check(value, types, name)
        for name, field in fields.items():
            if field["required"] and name not in params:
                raise bad_request(_missing(name))
        return params

    def check(self, value: Any, types: list[str], path: str) -> Any:
        if len(types) == 1:
            return self.one(value, types[0], path)
        errors: list[ApiError] = []
        for t in types:
            try:
                return self.one(value, t, path)
            except ApiError as e:
                errors.append(e)
        return self._raise_best(value, types, errors)

    def _raise_best(self, value: Any, types: list[str], errors: list[ApiError]) -> Any:
        # Report the error of the alternative whose required fields are all present (e.g. the
        # InlineKeyboardMarkup of a reply_markup union) rather than a confusing first alternative.
        if isinstance(value, dict):
            for t, err in zip(types, errors, strict=True):
                fields = self.types.get(t, {}).get("fields")
                if fields and all(f["name"] in value for f in fields if f["required"]):
                    raise err
        raise errors[0]

    def one(self, value: Any, t: str, path: str) -> Any:
        if t.startswith("Array of "):
            value = self._json(value, path)
            if not isinstance(value, list):
                raise bad_request(f"can't parse {path}: expected an Array")
            inner = t[len("Array of ") :]
            return [self.one(v, inner, f"{path}[{i}]") for i, v in enumerate(value)]
        if t == "Integer":
            if isinstance(value, bool):
                raise bad_request(f"can't parse {path}: expected Integer")
            if isinstance(value, int):
                return value
            if isinstance(value, float) and value.is_integer():
                return int(value)
            if isinstance(value, str) and _INT.match(value.strip()):
                return int(value)
            raise bad_request(f"can't parse {path}: expected Integer, got {value!r}")
        if t == "Float":
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
            if isinstance(value, str) and _FLOAT.match(value.strip()):
                return float(value)
            raise bad_request(f"can't parse {path}: expected Float, got {value!r}")
        if t == "Boolean":
            if isinstance(value, bool):
                return value
            if isinstance(value, int) and value in (0, 1):
                return bool(value)
            if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
                return value.lower() in ("true", "1")
            raise bad_request(f"can't parse {path}: expected Boolean, got {value!r}")
        if t == "String":
            if isinstance(value, str):
                return value
            if isinstance(value, int | float) and not isinstance(value, bool):
                return str(value)  # Telegram stringifies JSON numbers
            raise bad_request(f"can't parse {path}: expected String, got {type(value).__name__}")
        if t == "InputFile":
            if isinstance(value, Upload):
                return value
            if isinstance(value, str) and value.startswith("attach://"):
                name = value[len("attach://") :]
                if name not in self.files:
                    raise bad_request(f"can't parse {path}: no file part named {name!r}")
                return self.files[name]
            raise bad_request(f"can't parse {path}: expected an uploaded file")
        return self.obj(value, t, path)

    def _json(self, value: Any, path: str) -> Any:
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(f"can't parse {path} JSON object") from None
        return value

    def obj(self, value: Any, t: str, path: str) -> Any:
        spec = self.types.get(t)
        if spec is None:
            raise bad_request(f"can't parse {path}: unknown type {t}")
        value = self._json(value, path)
        if "subtypes" in spec:
            return self._union(value, spec["subtypes"], path)
        if not isinstance(value, dict):
            raise bad_request(f"can't parse {path}: expected a {t} object")
        fields = {f["name"]: f for f in spec.get("fields", [])}
        out: dict[str, Any] = {}
        for name, v in value.items():
            if name not in fields and name in LIBRARY_DEFAULTS:
                continue
            if name not in fields:
                raise bad_request(f'can\'t parse {path}: unknown field "{name}" in {t}')
            if v is None:
                continue
            field = fields[name]
            if "const" in field and v != field["const"]:
                raise bad_request(f"can't parse {path}: {name} must be {field['const']!r}")
            out[name] = self.check(v, field["types"], f"{path}.{name}")
        for name, field in fields.items():
            if field["required"] and name not in out:
                raise bad_request(f'can\'t parse {path}: field "{name}" of {t} is required')
        return out

    def _union(self, value: Any, subtypes: list[str], path: str) -> Any:
        if isinstance(value, dict):
            # Pick the subtype by its discriminator constant (type/status/source) when it has one.
            for sub in subtypes:
                consts = {
                    f["name"]: f["const"]
                    for f in self.types.get(sub, {}).get("fields", [])
                    if "const" in f
                }
                if consts and all(value.get(k) == c for k, c in consts.items()):
                    return self.obj(value, sub, path)
        return self.check(value, subtypes, path)


def _missing(name: str) -> str:
    if name == "text":
        return "message text is empty"
    if name in ("chat_id", "callback_query_id", "file_id", "message_id"):
        return f"{name} is empty"
    return f"parameter {name} is required"
