"""Telegram's rules for message content, shared by the sending and editing methods.

Text and captions are parsed (parse_mode or explicit entities) and length-checked after
trimming; reply markup is checked beyond what the schema can express (one action per inline
button, callback_data size, button counts).
"""

from __future__ import annotations

from typing import Any

from .formatting import parse, strip
from .schema import bad_request
from .state import PLAIN_BUTTON_FIELDS

_KEYBOARD_REQUESTS = {
    "request_users", "request_chat", "request_contact", "request_location", "request_poll",
    "web_app", "request_managed_bot",
}  # fmt: skip


def parse_text(
    raw: str, parse_mode: str | None, entities: Any, caption: bool = False
) -> tuple[str, list[dict[str, Any]]]:
    text, ents = (raw, entities) if entities else parse(raw, parse_mode)
    text, ents = strip(text, ents)
    if caption:
        if len(text) > 1024:
            raise bad_request("message caption is too long")
    elif not text:
        raise bad_request("message text is empty")
    elif len(text) > 4096:
        raise bad_request("message is too long")
    return text, ents


def parse_caption(src: dict[str, Any]) -> tuple[str | None, list[dict[str, Any]]]:
    """The caption of a send or InputMedia (None if absent or empty) and its entities."""
    if "caption" not in src:
        return None, []
    caption, entities = parse_text(
        src["caption"], src.get("parse_mode"), src.get("caption_entities"), caption=True
    )
    return caption or None, entities


def check_markup(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    """Reject reply markup Telegram would refuse; return it unchanged otherwise."""
    if markup is None:
        return None
    if "inline_keyboard" in markup:
        _check_inline_keyboard(markup["inline_keyboard"])
    elif "keyboard" in markup:
        _check_reply_keyboard(markup["keyboard"])
    elif "remove_keyboard" in markup and markup["remove_keyboard"] is not True:
        raise bad_request("can't parse reply keyboard markup: remove_keyboard must be True")
    elif "force_reply" in markup and markup["force_reply"] is not True:
        raise bad_request("can't parse reply keyboard markup: force_reply must be True")
    return markup


def _check_inline_keyboard(rows: list[list[dict[str, Any]]]) -> None:
    count = 0
    for row in rows:
        for b in row:
            count += 1
            actions = set(b) - PLAIN_BUTTON_FIELDS
            if not actions:
                raise bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in "
                    "the inline keyboard"
                )
            if len(actions) > 1:
                raise bad_request(
                    "can't parse inline keyboard button: exactly one of the optional "
                    f"fields must be used, got {sorted(actions)}"
                )
            if "callback_data" in b and not 1 <= len(b["callback_data"].encode()) <= 64:
                raise bad_request("BUTTON_DATA_INVALID")
            if "url" in b and (not b["url"] or any(ch.isspace() for ch in b["url"])):
                raise bad_request("BUTTON_URL_INVALID")
            if b.get("style") not in (None, "danger", "success", "primary"):
                raise bad_request("BUTTON_STYLE_INVALID")
            if not b["text"]:
                raise bad_request("BUTTON_TEXT_INVALID")
    if count > 100:
        raise bad_request("reply markup is too long")


def _check_reply_keyboard(rows: list[list[Any]]) -> None:
    for row in rows:
        for b in row:
            if isinstance(b, dict):
                if len(set(b) & _KEYBOARD_REQUESTS) > 1:
                    raise bad_request(
                        "can't parse keyboard button: only one request field is allowed"
                    )
                if not b["text"]:
                    raise bad_request("keyboard button text is empty")
