"""Persistence and domain operations. Nothing here imports `telegram`."""

from models.account import Account
from models.base import Base
from models.inbox import InboundUpdate

__all__ = ["Account", "Base", "InboundUpdate"]
