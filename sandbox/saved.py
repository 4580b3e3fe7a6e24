"""The emulator's world on disk, so that a sandbox keeps its people and chats between runs.

The bot's database remembers update ids and message ids; the emulator must go on from the
same numbers, or the bot would take new updates for repeats and edit the wrong messages.
Pickle, because the state is this package's own dataclasses, written and read only by
the sandbox, in its own data folder.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .emulator import Emulator

FORMAT = 1  # raise when the saved shape changes; older files are then refused, not misread
_KEPT = (
    "users",
    "chats",
    "files",
    "command_sets",
    "default_menu_button",
    "updates",
    "_next_user_id",
    "_next_group_id",
    "_next_update_id",
    "_next_file",
    "_seq",
)


class UnreadableWorld(Exception):
    pass


def save_world(emu: Emulator, path: Path, extra: dict[str, Any]) -> None:
    """Write atomically: a crash leaves the previous file, never half of one."""
    state = {name: getattr(emu, name) for name in _KEPT}
    data = pickle.dumps({"format": FORMAT, "emulator": state, "extra": extra})
    partial = path.with_suffix(".partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def load_world(emu: Emulator, path: Path) -> dict[str, Any]:
    """Restore what save_world wrote into a new emulator; the `extra` it was given."""
    try:
        saved = pickle.loads(path.read_bytes())  # our own file, see above
        if saved.get("format") != FORMAT:
            raise ValueError(f"format {saved.get('format')}")
        state = saved["emulator"]
        for name in _KEPT:
            setattr(emu, name, state[name])
        return dict(saved["extra"])
    except Exception as exc:
        raise UnreadableWorld(f"{path} cannot be read ({exc})") from exc
