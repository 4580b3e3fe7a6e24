"""A local emulator of the Telegram Bot API for end-to-end tests. See README.md."""

from .emulator import Emulator, Violation
from .faults import Faults, Stats
from .person import Person
from .qr import decode_qr
from .state import CallbackRecord, Chat, ChatEvent, ChatMessage, User

BotMessage = ChatMessage

__all__ = [
    "BotMessage",
    "CallbackRecord",
    "Chat",
    "ChatEvent",
    "ChatMessage",
    "Emulator",
    "Faults",
    "Person",
    "Stats",
    "User",
    "Violation",
    "decode_qr",
]
