"""The sandbox page: the emulator's chats as a person sees them on a phone, and the API the
page acts through (described in WEB.md).

Everything a person does here goes through the same `Person` calls the end-to-end tests
use, so the bot cannot tell the page from a test, nor either from Telegram. What is not the
emulator's (the clock, the posters on the wall, the map) the assembly hands in.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import re
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlparse
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .formatting import to_html
from .person import Person, auto_entities
from .request import read_body
from .state import ChatMessage, FileRecord, button_label

if TYPE_CHECKING:
    from .emulator import Emulator

STATIC = Path(__file__).with_name("static")
MAX_NAME = 64  # Telegram's limit for a first name
MAX_TEXT = 4096
MAX_BODY = 64 * 1024  # what the page sends: a message of MAX_TEXT characters and a little
MAX_JUMP = timedelta(days=732)
LOG_LINES = 200
PING_SECONDS = 15.0


LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def is_loopback(host: str) -> bool:
    """Whether only this computer can reach a server on `host`."""
    return host in LOOPBACK_HOSTS


class Refused(Exception):
    """Bad input from the page: answered 400 with this sentence, and nothing changed."""


@dataclass(frozen=True)
class Poster:
    """A QR code printed on a wall (a reporting point), which anyone can scan."""

    code: str
    title: str
    png: bytes


@dataclass(frozen=True)
class Place:
    name: str
    latitude: float
    longitude: float


@dataclass
class World:
    """What the assembly gives the page besides the emulator."""

    zone: ZoneInfo
    now: Callable[[], datetime]
    move_clock: Callable[[datetime], Awaitable[None]]  # forward only; checked here
    address: str = ""
    posters: list[Poster] = field(default_factory=list)
    places: list[Place] = field(default_factory=list)
    about: dict[int, str] = field(default_factory=dict)  # person id → label in the list
    read_upto: dict[int, int] = field(default_factory=dict)  # person id → last read message


class LogPanel(logging.Handler):
    """The last lines of the bot's log, for the page's log panel."""

    def __init__(self, zone: ZoneInfo, clean: Callable[[str], str] = str) -> None:
        super().__init__(logging.INFO)
        self.zone = zone
        self.clean = clean  # the bot's redaction: no phone number or token on the page
        self.lines: deque[dict[str, str]] = deque(maxlen=LOG_LINES)
        self.listeners: list[Callable[[dict[str, str]], None]] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            text += f" ({type(error).__name__}: {error})"
        line = {
            "time": datetime.fromtimestamp(record.created, self.zone).strftime("%H:%M:%S"),
            "level": record.levelname,
            "text": self.clean(f"{record.name}: {text}"),
        }
        self.lines.append(line)
        for listener in self.listeners:
            listener(line)


class SandboxWeb:
    """The page's HTTP API over one emulator. Mount with `emulator.web_app = web.app`."""

    def __init__(self, emu: Emulator, world: World, log: LogPanel) -> None:
        self.emu = emu
        self.world = world
        self.log = log
        self.people: dict[int, Person] = {}
        self._subscribers: set[asyncio.Queue[str | None]] = set()
        self._qr_cache: dict[str, str | None] = {}
        self._versions: dict[int, tuple[int, ...]] = {}
        self._answered: set[str] = set()
        self._watcher: asyncio.Task[None] | None = None
        log.listeners.append(lambda line: self.publish("log", line))
        self.app = Starlette(
            routes=[
                Route("/", self.page),
                Mount("/static", StaticFiles(directory=STATIC), name="static"),
                Route("/api/state", self.state),
                Route("/api/events", self.events),
                Route("/api/codes", self.codes),
                Route("/api/files/{file_id}", self.file),
                Route("/api/posters/{code}.png", self.poster),
                Route("/api/clock", self.clock, methods=["POST"]),
                Route("/api/people", self.add_person, methods=["POST"]),
                Route("/api/people/{person_id:int}/chat", self.chat),
                Route("/api/people/{person_id:int}/{action}", self.act, methods=["POST"]),
            ],
            exception_handlers={Refused: _refused, _NotFound: _not_found},
        )

    # -- people -------------------------------------------------------------------------------
    def adopt(self, person: Person, about: str | None = None) -> Person:
        """Show this emulated person in the list."""
        self.people[person.id] = person
        if about is not None:
            self.world.about[person.id] = about
        self._versions[person.id] = self._version(person)
        return person

    def new_person(self, name: str, language: str) -> Person:
        name = " ".join(str(name).split())
        if not name:
            raise Refused("Please type a name for the new person.")
        if len(name) > MAX_NAME:
            raise Refused(f"That name is {len(name)} characters long; at most {MAX_NAME}, please.")
        if language not in ("zh", "en"):
            raise Refused("Choose the person's language: zh (中文) or en (English).")
        person_number = self.emu._next_user_id
        person = self.emu.user(name, language_code=language, phone=f"+86139{person_number:08d}")
        self.adopt(person, "新成员 · added in the sandbox")
        self.publish("people", {})
        return person

    # -- watching the emulator ----------------------------------------------------------------
    async def start(self) -> None:
        self._watcher = asyncio.create_task(self._watch(), name="sandbox-page-watcher")

    async def stop(self) -> None:
        for queue in self._subscribers:
            queue.put_nowait(None)
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher

    async def _watch(self) -> None:
        """Tell the page which chats changed and which presses the bot answered."""
        while True:
            for person in list(self.people.values()):
                version = self._version(person)
                if self._versions.get(person.id) != version:
                    self._versions[person.id] = version
                    self.publish("chat", {"person": person.id})
            for record in list(self.emu.callbacks.values()):
                if record.answer is not None and record.id not in self._answered:
                    self._answered.add(record.id)
                    if record.user.id in self.people and record.text:
                        self.publish(
                            "answer",
                            {
                                "person": record.user.id,
                                "text": record.text,
                                "show_alert": record.show_alert,
                            },
                        )
            await self.emu.changed.wait(1.0)

    @staticmethod
    def _version(person: Person) -> tuple[int, ...]:
        chat = person.chat
        return (len(chat.events), len(chat.timeline), id(chat.reply_keyboard))

    def publish(self, event: str, data: Any) -> None:
        message = f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
        for queue in self._subscribers:
            queue.put_nowait(message)

    async def events(self, request: Request) -> Response:
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._subscribers.add(queue)

        async def stream() -> AsyncIterator[str]:
            try:
                yield ": connected\n\n"
                while True:
                    try:
                        message = await asyncio.wait_for(queue.get(), PING_SECONDS)
                    except TimeoutError:
                        message = ": ping\n\n"
                    if message is None:
                        return
                    yield message
            finally:
                self._subscribers.discard(queue)

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)

    # -- reading ------------------------------------------------------------------------------
    async def page(self, request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    def clock_json(self) -> dict[str, str]:
        now = self.world.now()
        local = now.astimezone(self.world.zone)
        return {
            "now": now.isoformat(),
            "local": local.strftime("%Y-%m-%d %H:%M"),
            "weekday": local.strftime("%a"),
            "zone": str(self.world.zone),
        }

    def person_json(self, person: Person) -> dict[str, Any]:
        shown = self._shown(person)
        last = shown[-1] if shown else None
        read_upto = self.world.read_upto.get(person.id, 0)
        return {
            "id": person.id,
            "name": person.name,
            "language": person.user.language_code or "",
            "about": self.world.about.get(person.id, ""),
            "unread": sum(1 for m in shown if m.from_bot and m.message_id > read_upto),
            "last": _preview(last) if last else "",
            "last_date": last.date if last else None,
        }

    async def state(self, request: Request) -> Response:
        return JSONResponse(
            {
                "bot": {"name": self.emu.bot.first_name, "username": self.emu.bot.username},
                "address": self.world.address,
                "loopback_only": is_loopback(urlparse(self.world.address).hostname or ""),
                "clock": self.clock_json(),
                "people": [self.person_json(p) for p in self.people.values()],
                "map": self._map(),
                "log": list(self.log.lines),
            }
        )

    def _map(self) -> dict[str, Any]:
        places = self.world.places
        lats = [p.latitude for p in places] or [0.0]
        lons = [p.longitude for p in places] or [0.0]
        margin = max(max(lats) - min(lats), max(lons) - min(lons), 0.01) * 0.15
        return {
            "south": round(min(lats) - margin, 5),
            "west": round(min(lons) - margin, 5),
            "north": round(max(lats) + margin, 5),
            "east": round(max(lons) + margin, 5),
            "places": [
                {"name": p.name, "latitude": p.latitude, "longitude": p.longitude} for p in places
            ],
        }

    async def chat(self, request: Request) -> Response:
        person = self._person(request)
        keyboard = person.chat.reply_keyboard
        return JSONResponse(
            {
                "person": self.person_json(person),
                "messages": [self.message_json(m) for m in self._shown(person)],
                "reply_keyboard": _reply_keyboard(keyboard) if keyboard else None,
                "commands": self.emu.visible_commands(person),
            }
        )

    @staticmethod
    def _shown(person: Person) -> list[ChatMessage]:
        return [m for m in person.chat.ordered() if not m.deleted]

    def message_json(self, msg: ChatMessage) -> dict[str, Any]:
        if msg.text is not None:
            text, entities = msg.text, msg.entities
        else:
            text, entities = msg.caption or "", msg.caption_entities
        photo = document = None
        if msg.photo:
            photo = {"url": f"/api/files/{msg.photo.file_id}", "qr": self._qr(msg.photo)}
        if msg.document:
            document = {
                "url": f"/api/files/{msg.document.file_id}",
                "name": msg.document.file_name or "file",
                "size": len(msg.document.data),
            }
        contact = None
        if msg.contact:
            name = " ".join(
                filter(None, [msg.contact.get("first_name"), msg.contact.get("last_name")])
            )
            contact = {"name": name, "phone": msg.contact["phone_number"]}
        location = None
        if msg.location:
            location = {k: msg.location[k] for k in ("latitude", "longitude")}
        return {
            "id": msg.message_id,
            "from_bot": msg.from_bot,
            "date": msg.date,
            "time": datetime.fromtimestamp(msg.date, self.world.zone).strftime("%H:%M"),
            "html": to_html(text, _with_links(text, entities)),
            "photo": photo,
            "document": document,
            "location": location,
            "contact": contact,
            "buttons": [[_inline_button(b) for b in row] for row in msg.inline_keyboard],
            "edited": msg.edited,
        }

    def _qr(self, record: FileRecord) -> str | None:
        """The link a QR code in this picture encodes (decoded once per picture)."""
        if record.file_id not in self._qr_cache:
            self._qr_cache[record.file_id] = _first_code(record.data)
        return self._qr_cache[record.file_id]

    async def codes(self, request: Request) -> Response:
        found = [
            {"id": f"poster:{p.code}", "title": p.title, "image": f"/api/posters/{p.code}.png"}
            for p in self.world.posters
        ]
        for person in self.people.values():
            for msg in self._shown(person):
                if msg.photo and self._qr(msg.photo):
                    found.append(
                        {
                            "id": f"file:{msg.photo.file_id}",
                            "title": f"{person.name}: {_preview(msg)}",
                            "image": f"/api/files/{msg.photo.file_id}",
                        }
                    )
        return JSONResponse(found)

    async def file(self, request: Request) -> Response:
        record = self.emu.files.get(request.path_params["file_id"])
        if record is None:
            return _error(404, "There is no such file in the sandbox.")
        headers = {}
        if record.kind == "document":
            name = record.file_name or "file"
            headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
        media_type = record.mime_type or (
            "image/png" if record.data.startswith(b"\x89PNG") else "application/octet-stream"
        )
        return Response(record.data, media_type=media_type, headers=headers)

    async def poster(self, request: Request) -> Response:
        poster = self._poster(request.path_params["code"])
        return Response(poster.png, media_type="image/png")

    # -- acting -------------------------------------------------------------------------------
    async def add_person(self, request: Request) -> Response:
        body = await _body(request)
        person = self.new_person(body.get("name", ""), body.get("language", ""))
        return JSONResponse(self.person_json(person))

    async def clock(self, request: Request) -> Response:
        target = self._clock_target(await _body(request))
        await self.world.move_clock(target)
        clock = self.clock_json()
        self.publish("clock", clock)
        return JSONResponse(clock)

    def _clock_target(self, body: dict[str, Any]) -> datetime:
        now = self.world.now()
        if "advance" in body:
            seconds = body["advance"]
            if not isinstance(seconds, int | float) or not 0 < seconds <= MAX_JUMP.total_seconds():
                raise Refused("Move the clock forward by a positive number of seconds.")
            return now + timedelta(seconds=seconds)
        text = str(body.get("to", "")).strip().replace("T", " ")
        try:
            target = datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=self.world.zone)
        except ValueError:
            raise Refused(
                f"Type the time as YYYY-MM-DD HH:MM, for example "
                f"{(now + timedelta(days=1)).astimezone(self.world.zone):%Y-%m-%d %H:%M}."
            ) from None
        if target <= now:
            raise Refused(
                "The clock only moves forward: choose a time after "
                f"{now.astimezone(self.world.zone):%Y-%m-%d %H:%M}."
            )
        if target - now > MAX_JUMP:
            raise Refused("That is more than two years ahead; choose a nearer time.")
        return target

    async def act(self, request: Request) -> Response:
        person = self._person(request)
        actions: dict[str, Callable[[Person, dict[str, Any]], Awaitable[None]]] = {
            "send": self._send,
            "press": self._press,
            "tap": self._tap,
            "contact": self._contact,
            "location": self._location,
            "scan": self._scan,
            "open": self._open_link,
            "read": self._read,
        }
        action = actions.get(request.path_params["action"])
        if action is None:
            return _error(404, "The sandbox does not know that action.")
        await action(person, await _body(request))
        return JSONResponse({"ok": True})

    async def _send(self, person: Person, body: dict[str, Any]) -> None:
        text = str(body.get("text", "")).strip()
        if not text:
            raise Refused("Type a message first.")
        if len(text) > MAX_TEXT:
            raise Refused(f"A message can be at most {MAX_TEXT} characters; this one is longer.")
        await person.send(text)

    async def _press(self, person: Person, body: dict[str, Any]) -> None:
        msg = person.chat.live_message(_int(body, "message_id"))
        if msg is None or not msg.from_bot:
            raise Refused("That message is gone; scroll down to the latest one.")
        button = _cell(msg.inline_keyboard, body)
        if "callback_data" in button:
            person.press_button(msg, button)
        elif "url" in button:
            await self._open(person, button["url"])
        else:
            raise Refused("The sandbox cannot press this kind of button.")

    async def _tap(self, person: Person, body: dict[str, Any]) -> None:
        keyboard = person.chat.reply_keyboard
        if keyboard is None:
            raise Refused("There is no keyboard to tap any more.")
        button = _cell(keyboard["keyboard"], body)
        location = None
        if isinstance(button, dict) and button.get("request_location"):
            location = _coordinates(body)
        await person.tap(button_label(button), location=location)

    async def _contact(self, person: Person, body: dict[str, Any]) -> None:
        user = person.user
        await person.share_contact(user.phone or "", user.first_name, user.last_name, user.id)

    async def _location(self, person: Person, body: dict[str, Any]) -> None:
        await person.share_location(*_coordinates(body))

    async def _scan(self, person: Person, body: dict[str, Any]) -> None:
        code = str(body.get("code", ""))
        kind, _, key = code.partition(":")
        if kind == "poster":
            link = _first_code(self._poster(key).png)
        elif kind == "file" and key in self.emu.files:
            link = self._qr(self.emu.files[key])
        else:
            raise Refused("There is no such QR code in the sandbox.")
        if link is None:
            raise Refused("The camera finds no QR code in that picture.")
        await self._open(person, link)

    async def _open_link(self, person: Person, body: dict[str, Any]) -> None:
        await self._open(person, str(body.get("link", "")))

    async def _open(self, person: Person, link: str) -> None:
        """What tapping a t.me link does: this bot's chat opens and sends /start <payload>."""
        url = urlparse(link)
        bot = (self.emu.bot.username or "").lower()
        if url.hostname != "t.me" or url.path.strip("/").lower() != bot:
            raise Refused(f"This link leads outside the sandbox ({link}).")
        payload = parse_qs(url.query).get("start", [""])[0]
        await person.send(f"/start {payload}" if payload else "/start")

    async def _read(self, person: Person, body: dict[str, Any]) -> None:
        shown = self._shown(person)
        if shown:
            self.world.read_upto[person.id] = shown[-1].message_id
            self.publish("people", {})

    # -- lookups ------------------------------------------------------------------------------
    def _person(self, request: Request) -> Person:
        person = self.people.get(request.path_params["person_id"])
        if person is None:
            raise _NotFound("There is no such person in the sandbox.")
        return person

    def _poster(self, code: str) -> Poster:
        for poster in self.world.posters:
            if poster.code == code:
                return poster
        raise _NotFound("There is no such poster in the sandbox.")


class _NotFound(Exception):
    pass


async def _not_found(request: Request, exc: Exception) -> Response:
    return _error(404, str(exc))


async def _refused(request: Request, exc: Exception) -> Response:
    return _error(400, str(exc))


def _error(status: int, text: str) -> Response:
    return JSONResponse({"error": text}, status_code=status)


async def _body(request: Request) -> dict[str, Any]:
    raw = await read_body(request, MAX_BODY)
    if raw is None:
        raise Refused(f"The page sent more than the sandbox reads ({MAX_BODY // 1024} KB).")
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, RecursionError):  # RecursionError: [[[[… nested too deep
        raise Refused("The page sent something that is not JSON; reload it.") from None
    if not isinstance(body, dict):
        raise Refused("The page sent something that is not a JSON object; reload it.")
    return body


def _int(body: dict[str, Any], key: str) -> int:
    value = body.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise Refused(f"{key} must be a whole number.")
    return value


def _cell(rows: list[list[Any]], body: dict[str, Any]) -> Any:
    row, column = _int(body, "row"), _int(body, "column")
    if not (0 <= row < len(rows) and 0 <= column < len(rows[row])):
        raise Refused("That button is not there any more.")
    return rows[row][column]


def _coordinates(body: dict[str, Any]) -> tuple[float, float]:
    try:
        latitude, longitude = float(body["latitude"]), float(body["longitude"])
    except (KeyError, TypeError, ValueError):
        raise Refused(
            "Give a latitude and a longitude as numbers, e.g. 21.2404, 110.4135."
        ) from None
    if not (math.isfinite(latitude) and -90 <= latitude <= 90):
        raise Refused("The latitude must be between -90 and 90 degrees.")
    if not (math.isfinite(longitude) and -180 <= longitude <= 180):
        raise Refused("The longitude must be between -180 and 180 degrees.")
    return latitude, longitude


def _first_code(picture: bytes) -> str | None:
    """What the first QR code in a picture says, as a phone camera reads it."""
    from .qr import decode_qr

    try:
        texts = decode_qr(picture)
    except Exception:  # not a picture zxing can read: no code in it
        texts = []
    return texts[0] if texts else None


def _with_links(text: str, entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a Telegram client makes of bare links and /commands: they can be pressed."""
    taken = [(e["offset"], e["offset"] + e["length"]) for e in entities]
    found = [
        e
        for e in auto_entities(text)
        if e["type"] in ("url", "bot_command")
        and not any(start < e["offset"] + e["length"] and e["offset"] < end for start, end in taken)
    ]
    return [*entities, *found]


def _inline_button(button: dict[str, Any]) -> dict[str, Any]:
    if "callback_data" in button:
        return {"text": button["text"], "kind": "callback"}
    if "url" in button:
        return {"text": button["text"], "kind": "url", "url": button["url"]}
    return {"text": button["text"], "kind": "other"}


def _reply_keyboard(markup: dict[str, Any]) -> dict[str, Any]:
    def kind(button: Any) -> str:
        if isinstance(button, dict) and button.get("request_contact"):
            return "contact"
        if isinstance(button, dict) and button.get("request_location"):
            return "location"
        return "text"

    return {
        "rows": [
            [{"text": button_label(b), "kind": kind(b)} for b in row] for row in markup["keyboard"]
        ],
        "placeholder": markup.get("input_field_placeholder"),
    }


def _preview(msg: ChatMessage) -> str:
    if msg.photo:
        prefix = "🖼 "
    elif msg.document:
        prefix = f"📎 {msg.document.file_name or ''} "
    elif msg.location:
        prefix = "📍 "
    elif msg.contact:
        prefix = "👤 "
    else:
        prefix = ""
    text = re.sub(r"\s+", " ", msg.content).strip()
    return (prefix + text)[:80].strip()
