"""Telegram text formatting: HTML, MarkdownV2 and legacy Markdown to plain text + entities.

Modelled on tdlib's parsers so length limits apply to the visible text and malformed markup is
rejected with "can't parse entities: ..." like the real Bot API. Offsets are UTF-16 code units.
One deliberate strictness: a bare '&' that is not an entity is rejected in HTML (tdlib keeps it
literally, but the Bot API docs require escaping it, and html.escape() output never has one).
"""

from __future__ import annotations

import html
import itertools
import re
from typing import Any

from .schema import ApiError, bad_request

Entity = dict[str, Any]

HTML_SIMPLE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}
HTML_TAGS = {*HTML_SIMPLE, "span", "a", "blockquote", "tg-emoji"}
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY = re.compile(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z]+);")
_NAME = re.compile(r"[a-zA-Z0-9-]*")
_ATTR = re.compile(r"\s*([a-zA-Z0-9_-]+)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>\"']+))?")
MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")


def utf16_len(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


def _err(detail: str) -> ApiError:
    return bad_request(f"can't parse entities: {detail}")


def _byte(src: str, i: int) -> int:
    return len(src[:i].encode("utf-8"))


class _Out:
    """Accumulates visible text and tracks its UTF-16 length for entity offsets."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0
        self.entities: list[Entity] = []

    def add(self, s: str) -> None:
        self.parts.append(s)
        self.pos += utf16_len(s)

    def entity(self, kind: str, start: int, **extra: Any) -> None:
        if self.pos > start:  # Telegram drops empty entities
            self.entities.append(
                {"type": kind, "offset": start, "length": self.pos - start, **extra}
            )

    def result(self) -> tuple[str, list[Entity]]:
        ents = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.parts), ents


def _decode_entity(src: str, i: int) -> tuple[str, int] | None:
    m = _ENTITY.match(src, i)
    if not m:
        return None
    body = m.group(1)
    if body.startswith("#"):
        code = int(body[2:], 16) if body[1] in "xX" else int(body[1:])
        if not 0 < code <= 0x10FFFF:
            return None
        return chr(code), m.end()
    if body in _NAMED:
        return _NAMED[body], m.end()
    return None


def parse_html(src: str) -> tuple[str, list[Entity]]:
    out = _Out()
    stack: list[tuple[str, int, dict[str, str]]] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == "&":
            dec = _decode_entity(src, i)
            if dec is None:
                raise _err(f"Character '&' at byte offset {_byte(src, i)} must be escaped as &amp;")
            out.add(dec[0])
            i = dec[1]
            continue
        if c != "<":
            out.add(c)
            i += 1
            continue
        start = i
        if src.startswith("</", i):
            m = _NAME.match(src, i + 2)
            name = m.group(0).lower()
            j = m.end()
            while j < n and src[j].isspace():
                j += 1
            if j >= n or src[j] != ">":
                raise _err(f"Can't find end of tag at byte offset {_byte(src, start)}")
            if not stack:
                raise _err(f"Unexpected end tag at byte offset {_byte(src, start)}")
            open_name, pos, attrs = stack.pop()
            if name != open_name:
                raise _err(
                    f"Unmatched end tag at byte offset {_byte(src, start)}, "
                    f'expected "</{open_name}>", found "</{name}>"'
                )
            _close_html(out, open_name, pos, attrs, stack)
            i = j + 1
            continue
        name, attrs, j = _html_start_tag(src, start)
        stack.append((name, out.pos, attrs))
        i = j + 1
    if stack:
        raise _err(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out.result()


def _html_start_tag(src: str, start: int) -> tuple[str, dict[str, str], int]:
    """Read the start tag at src[start] ('<'): its name, attributes and the index of its '>'."""
    n = len(src)
    m = _NAME.match(src, start + 1)
    name = m.group(0).lower()
    if name not in HTML_TAGS:
        raise _err(f'Unsupported start tag "{name}" at byte offset {_byte(src, start)}')
    j = m.end()
    attrs: dict[str, str] = {}
    while True:
        while j < n and src[j].isspace():
            j += 1
        if j >= n:
            raise _err(f"Unclosed start tag at byte offset {_byte(src, start)}")
        if src[j] == ">":
            break
        am = _ATTR.match(src, j)
        if not am or am.end() == j:
            raise _err(f"Unclosed start tag at byte offset {_byte(src, start)}")
        value = am.group(2) or ""
        if value[:1] in ("'", '"'):
            value = value[1:-1]
        attrs[am.group(1).lower()] = html.unescape(value)
        j = am.end()
    if name == "span" and attrs.get("class") != "tg-spoiler":
        raise _err('Tag "span" must have class "tg-spoiler"')
    if name == "tg-emoji" and not attrs.get("emoji-id"):
        raise _err('Tag "tg-emoji" must have attribute "emoji-id"')
    return name, attrs, j


def _close_html(out: _Out, name: str, pos: int, attrs: dict[str, str], stack: list[Any]) -> None:
    if name == "a":
        href = attrs.get("href", "")
        if href.startswith("tg://user?id="):
            out.entity(
                "text_mention",
                pos,
                user={"id": int(href[13:] or 0), "is_bot": False, "first_name": ""},
            )
        elif href:
            out.entity("text_link", pos, url=href)
    elif name == "span":
        out.entity("spoiler", pos)
    elif name == "blockquote":
        out.entity("expandable_blockquote" if "expandable" in attrs else "blockquote", pos)
    elif name == "tg-emoji":
        out.entity("custom_emoji", pos, custom_emoji_id=attrs["emoji-id"])
    elif name == "code" and stack and stack[-1][0] == "pre":
        lang = attrs.get("class", "")
        if lang.startswith("language-"):
            stack[-1][2]["language"] = lang[len("language-") :]
        else:
            out.entity("code", pos)
    elif name == "pre" and attrs.get("language"):
        out.entity("pre", pos, language=attrs["language"])
    else:
        out.entity(HTML_SIMPLE[name], pos)


_MD_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}
_TOGGLES = {"*": "bold", "~": "strikethrough"}


def parse_markdown_v2(src: str) -> tuple[str, list[Entity]]:
    # One character-by-character scan, like tdlib's parser: the open-entity stack, the quote
    # and the code/pre state change together at every step, so the loop is kept in one piece.
    out = _Out()
    stack: list[tuple[str, int, int]] = []  # (kind, utf16 start, source index)
    quote_start: int | None = None
    stack_pos: list[int] = []  # start of the open code/pre entity
    pre_lang = ""
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        top = stack[-1][0] if stack else None
        if c == "\\" and i + 1 < n and 0 < ord(src[i + 1]) <= 126:
            out.add(src[i + 1])
            i += 2
            continue
        if top in ("code", "pre"):
            # Inside code/pre only ` and \ need escaping.
            if top == "pre" and src.startswith("```", i):
                stack.pop()
                out.entity("pre", stack_pos[-1], **({"language": pre_lang} if pre_lang else {}))
                stack_pos.pop()
                i += 3
            elif top == "code" and c == "`":
                stack.pop()
                out.entity("code", stack_pos.pop())
                i += 1
            else:
                out.add(c)
                i += 1
            continue
        if c == "\n" and quote_start is not None and not src.startswith(">", i + 1):
            out.entity("blockquote", quote_start)
            quote_start = None
        if c not in MDV2_RESERVED:
            out.add(c)
            i += 1
            continue
        if c == ">" and (i == 0 or src[i - 1] == "\n"):
            if quote_start is None:
                quote_start = out.pos
            i += 1
            continue
        if c in _TOGGLES or c == "_" or (c == "|" and src.startswith("||", i)):
            if c == "_":
                kind, width = ("underline", 2) if src.startswith("__", i) else ("italic", 1)
            elif c == "|":
                kind, width = "spoiler", 2
            else:
                kind, width = _TOGGLES[c], 1
            if top == kind:
                _, pos, _ = stack.pop()
                out.entity(kind, pos)
            else:
                stack.append((kind, out.pos, i))
            i += width
            continue
        if c == "`":
            if src.startswith("```", i):
                j = src.find("\n", i + 3)
                first = src[i + 3 : j] if j != -1 else ""
                pre_lang = ""
                stack.append(("pre", out.pos, i))
                if j != -1 and first and " " not in first and "`" not in first:
                    pre_lang = first
                    i = j + 1
                else:
                    i += 3
            else:
                stack.append(("code", out.pos, i))
                i += 1
            stack_pos.append(out.pos)
            continue
        if c == "[" or (c == "!" and src.startswith("![", i)):
            kind = "custom_emoji" if c == "!" else "text_link"
            stack.append((kind, out.pos, i))
            i += 2 if c == "!" else 1
            continue
        if c == "]" and top in ("text_link", "custom_emoji"):
            kind, pos, start = stack.pop()
            link, j = _md_url(src, i)
            if kind == "custom_emoji":
                out.entity(kind, pos, custom_emoji_id=link.rpartition("id=")[2])
            else:
                out.entity(kind, pos, url=link)
            i = j + 1
            continue
        raise _err(f"Character '{c}' is reserved and must be escaped with the preceding '\\'")
    if stack:
        kind, _, start = stack[-1]
        raise _err(f"Can't find end of {_MD_NAMES[kind]} entity at byte offset {_byte(src, start)}")
    if quote_start is not None:
        out.entity("blockquote", quote_start)
    return out.result()


def _md_url(src: str, i: int) -> tuple[str, int]:
    """Read the "(url)" after the "]" at src[i]: the unescaped URL and the index of its ")"."""
    n = len(src)
    if not src.startswith("(", i + 1):
        raise _err(f"Can't find end of a URL at byte offset {_byte(src, i)}")
    j, url = i + 2, []
    while j < n and src[j] != ")":
        if src[j] == "\\" and j + 1 < n:
            j += 1
        url.append(src[j])
        j += 1
    if j >= n:
        raise _err(f"Can't find end of a URL at byte offset {_byte(src, i + 1)}")
    return "".join(url), j


def parse_markdown(src: str) -> tuple[str, list[Entity]]:
    """Legacy Markdown: *bold* _italic_ `code` ```pre``` [text](url); no nesting."""
    out = _Out()
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == "\\" and i + 1 < n and src[i + 1] in "_*`[":
            out.add(src[i + 1])
            i += 2
            continue
        if c not in "_*`[":
            out.add(c)
            i += 1
            continue
        start = i
        if c == "[":
            end = src.find("]", i + 1)
            if end == -1:
                raise _err(f"Can't find end of the entity starting at byte offset {_byte(src, i)}")
            pos = out.pos
            out.add(src[i + 1 : end])
            if src.startswith("(", end + 1) and (close := src.find(")", end + 2)) != -1:
                out.entity("text_link", pos, url=src[end + 2 : close])
                i = close + 1
            else:
                i = end + 1
            continue
        marker = "```" if src.startswith("```", i) else c
        end = src.find(marker, i + len(marker))
        if end == -1:
            raise _err(f"Can't find end of the entity starting at byte offset {_byte(src, start)}")
        pos = out.pos
        out.add(src[i + len(marker) : end])
        kind = {"*": "bold", "_": "italic", "`": "code", "```": "pre"}[marker]
        out.entity(kind, pos)
        i = end + len(marker)
    return out.result()


def parse(text: str, parse_mode: str | None) -> tuple[str, list[Entity]]:
    if not parse_mode:
        return text, []
    mode = parse_mode.lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown(text)
    raise bad_request(f"unsupported parse_mode {parse_mode!r}")


def strip(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Telegram trims leading/trailing whitespace after parsing; shift and clip entities."""
    lead = len(text) - len(text.lstrip())
    stripped = text.strip()
    shift = utf16_len(text[:lead])
    size = utf16_len(stripped)
    out = []
    for e in entities:
        start = max(e["offset"] - shift, 0)
        end = min(e["offset"] + e["length"] - shift, size)
        if end > start:
            out.append({**e, "offset": start, "length": end - start})
    return stripped, out


# Entity type → the HTML element a client shows it with (the sandbox page).
_ELEMENTS = {
    "bold": "b",
    "italic": "i",
    "underline": "u",
    "strikethrough": "s",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "expandable_blockquote": "blockquote",
    "spoiler": 'span class="spoiler"',
    "text_link": "a",
    "url": "a",
    "text_mention": "a",
    "bot_command": "a",  # a command in a message is pressed to send it, as on Telegram
}


def to_html(text: str, entities: list[Entity]) -> str:
    """Text and entities as safe HTML, the way a Telegram client renders them.

    Entities nest (the Bot API guarantees it), so walking the text once with a stack of
    open elements is enough. Offsets are in UTF-16 code units."""
    units = text.encode("utf-16-le")
    shown = [e for e in entities if e["type"] in _ELEMENTS and e["length"] > 0]
    shown.sort(key=lambda e: (e["offset"], -e["length"]))
    bounds = sorted(
        {0, len(units) // 2, *(e["offset"] for e in shown)}
        | {e["offset"] + e["length"] for e in shown}
    )
    out: list[str] = []
    open_ends: list[tuple[int, str]] = []  # (end offset, closing tag) of open elements
    for start, end in itertools.pairwise(bounds):
        while open_ends and open_ends[-1][0] <= start:
            out.append(open_ends.pop()[1])
        for e in (e for e in shown if e["offset"] == start):
            element = _ELEMENTS[e["type"]]
            name = element.split()[0]
            if e["type"] == "bot_command":
                command = _slice(units, e).split("@")[0]
                element = f'a class="command" href="#" data-command="{html.escape(command)}"'
            elif name == "a":
                href = _href(e, units)
                element = f'a href="{html.escape(href)}" target="_blank" rel="noopener"'
            out.append(f"<{element}>")
            open_ends.append((e["offset"] + e["length"], f"</{name}>"))
        out.append(html.escape(units[start * 2 : end * 2].decode("utf-16-le")))
    out.extend(tag for _, tag in reversed(open_ends))
    return "".join(out)


def _slice(units: bytes, entity: Entity) -> str:
    start, end = entity["offset"] * 2, (entity["offset"] + entity["length"]) * 2
    return units[start:end].decode("utf-16-le")


def _href(entity: Entity, units: bytes) -> str:
    if entity["type"] == "text_mention":
        return f"tg://user?id={entity['user']['id']}"
    if entity["type"] == "url":
        return _slice(units, entity)
    url = entity.get("url", "")
    return url if re.match(r"(https?|tg)://", url) else "#"
