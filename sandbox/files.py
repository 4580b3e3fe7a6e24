"""Files and uploads: storing uploaded files, resolving file parameters, and getFile.

Downloads (GET /file/bot<token>/<file_path>) are served by server.py from ``emu.files``.
"""

from __future__ import annotations

import io
import secrets
from typing import Any

from .core import Core
from .request import Ctx
from .schema import ApiError, Upload, bad_request
from .state import FileRecord


class FileMethods(Core):
    """getFile, and the file store that sends, edits and Person uploads go through."""

    def _new_file(self, upload: Upload, kind: str) -> FileRecord:
        n = self._next_file
        self._next_file += 1
        if kind == "photo":
            size = _image_size(upload.data)
            if size is None:
                raise bad_request("IMAGE_PROCESS_FAILED")
            if len(upload.data) > 10 * 1024 * 1024:
                raise bad_request("file is too big")
            path = f"photos/file_{n}.jpg"
        else:
            size = (0, 0)
            if len(upload.data) > 50 * 1024 * 1024:
                raise ApiError(413, "Request Entity Too Large")
            ext = (
                upload.filename.rsplit(".", 1)[1]
                if upload.filename and "." in upload.filename
                else ""
            )
            path = f"documents/file_{n}" + (f".{ext}" if ext else "")
        prefix = "AgACAgIAAxk" if kind == "photo" else "BQACAgIAAxk"
        rec = FileRecord(
            file_id=f"{prefix}{n:06d}{secrets.token_urlsafe(12)}",
            file_unique_id=f"AQAD{n:04d}{secrets.token_hex(3)}",
            kind=kind,  # type: ignore[arg-type]
            data=upload.data,
            file_path=path,
            file_name=upload.filename if kind == "document" else None,
            mime_type=upload.content_type if kind == "document" else "image/jpeg",
            width=size[0],
            height=size[1],
        )
        self.files[rec.file_id] = rec
        return rec

    def _file(self, value: Any, kind: str, files: dict[str, Upload]) -> FileRecord:
        """The file a photo/document parameter names: an upload, attach://, a URL or a file_id."""
        if isinstance(value, str) and value.startswith("attach://"):
            value = files.get(value[len("attach://") :])
            if value is None:
                raise bad_request("wrong file identifier/HTTP URL specified")
        if isinstance(value, Upload):
            if not value.data:
                raise bad_request("file must be non-empty")
            return self._new_file(value, kind)
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            # No internet: stand in an empty file and say so in `unhandled`.
            self.unhandled.append((f"fetch {kind} by URL", {"url": value}))
            return self._new_file(Upload(kind, value.rsplit("/", 1)[-1], None, b""), "document")
        rec = self.files.get(value)
        if rec is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if rec.kind != kind:
            raise bad_request(f"can't use file of type {rec.kind.title()} as {kind.title()}")
        return rec

    async def _m_getfile(self, p: dict[str, Any], ctx: Ctx) -> Any:
        rec = self.files.get(p["file_id"])
        if rec is None:
            raise bad_request("invalid file_id")
        if len(rec.data) > 20 * 1024 * 1024:
            raise bad_request("file is too big")
        return {
            "file_id": rec.file_id,
            "file_unique_id": rec.file_unique_id,
            "file_size": len(rec.data),
            "file_path": rec.file_path,
        }


def _image_size(data: bytes) -> tuple[int, int] | None:
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as img:
            return img.size
    except Exception:
        return None
