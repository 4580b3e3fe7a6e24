"""Free text people type (an activity's title, place and description, a reason): one rule.

`clean_text` is what every operation that stores such a text calls, so that all of them
refuse the same things: a text that shows nothing (spaces only, the ideographic space
U+3000 of Chinese keyboards, a zero-width space sent as a "blank" message) where a text
is required, control characters, and more than the field's limit. Invisible format
characters (zero-width spaces, soft hyphens, direction overrides) are dropped, except the
joiners that emoji and some scripts need. Refusals are InvalidInput "<field>.empty",
"<field>.too_long" and "<field>.invalid".
"""

from __future__ import annotations

import unicodedata

from models.errors import InvalidInput

# Zero-width non-joiner and joiner: part of emoji sequences (👨‍👩‍👧) and of some scripts.
KEPT_FORMAT = frozenset({"\u200c", "\u200d"})
LINE_BREAKS = ("\r\n", "\r", "\u2028", "\u2029", "\x85")


def _shown(ch: str) -> bool:
    """A character that puts something on the screen (not a space, not invisible)."""
    return not ch.isspace() and unicodedata.category(ch) not in ("Cf", "Cc")


def shows_something(text: str) -> bool:
    """Whether the text puts anything on the screen: not spaces, line breaks and invisible
    characters only (for a text kept as it is typed, a notice's)."""
    return any(_shown(ch) for ch in text)


def clean_text(
    value: str | None, field: str, limit: int, *, required: bool, multiline: bool = False
) -> str:
    """The text as stored: NFC, invisible format characters dropped, spaces collapsed to one
    (a multi-line text keeps its line breaks and tabs, each line's own spacing), stripped.

    "" for an empty text where it is not `required`; else InvalidInput "<field>.empty".
    "<field>.invalid" with a control character, "<field>.too_long" over `limit`.
    """
    text = unicodedata.normalize("NFC", value or "")
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf" or ch in KEPT_FORMAT)
    if multiline:
        for line_break in LINE_BREAKS:
            text = text.replace(line_break, "\n")
        text = "\n".join(line.rstrip() for line in text.split("\n")).strip()
    else:
        text = " ".join(text.split())
    allowed = "\n\t" if multiline else ""
    if any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in allowed for ch in text):
        raise InvalidInput(field, f"{field}.invalid", detail="control character")
    if not shows_something(text):
        if required:
            raise InvalidInput(field, f"{field}.empty")
        return ""
    if len(text) > limit:
        raise InvalidInput(field, f"{field}.too_long", detail=f"at most {limit}")
    return text
