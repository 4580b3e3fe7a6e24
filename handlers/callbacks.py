"""Callback data: short, typed, and never trusted.

Data looks like "rep:a:42": a prefix naming the feature, an action, integer ids.
Everything that comes back is re-parsed here; a press that does not parse is a
stale or forged button and gets a polite answer (`StaleButton`).
"""

from __future__ import annotations

import re

MAX_BYTES = 64  # Telegram's limit for callback_data
_PART = re.compile(r"^[a-z_]{1,12}$")


class StaleButton(Exception):
    """The button's data no longer means anything to this version of the bot."""


def data(prefix: str, action: str, *ids: int) -> str:
    if not (_PART.match(prefix) and _PART.match(action)):
        raise ValueError(f"bad callback prefix or action: {prefix}:{action}")
    text = ":".join([prefix, action, *(str(int(i)) for i in ids)])
    if len(text.encode()) > MAX_BYTES:
        raise ValueError(f"callback data too long: {text}")
    return text


def parse(raw: str | None, prefix: str) -> tuple[str, list[int]]:
    """The action and ids of a press, or StaleButton."""
    parts = (raw or "").split(":")
    if len(parts) < 2 or parts[0] != prefix or not _PART.match(parts[1]):
        raise StaleButton(raw)
    try:
        ids = [int(p) for p in parts[2:]]
    except ValueError:
        raise StaleButton(raw) from None
    if any(i < 0 or i > 2**63 - 1 for i in ids):
        raise StaleButton(raw)
    return parts[1], ids


def pattern(prefix: str) -> str:
    return rf"^{prefix}:"
