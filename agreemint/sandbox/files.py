"""Uploaded files: ids like Telegram's (opaque, distinct file_id and file_unique_id),
PhotoSize lists and getFile paths, so a bot can cache file_ids and download exports."""

from __future__ import annotations

import hashlib
import struct
from typing import Any

from . import errors as E
from .errors import bad_request
from .params import Params, Upload
from .state import FileRecord, SandboxState


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) read from a PNG or JPEG header; a plausible default otherwise."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                break
            marker, length = data[i + 1], struct.unpack(">H", data[i + 2 : i + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(width), int(height)
            i += 2 + length
    return 800, 600


def store(
    state: SandboxState,
    data: bytes,
    kind: str,
    file_name: str | None = None,
    mime_type: str | None = None,
) -> FileRecord:
    n = len(state.files) + 1
    digest = hashlib.sha256(data + str(n).encode()).hexdigest()
    # Prefixes make ids from different kinds distinguishable when debugging.
    file_id = f"{'AgAC' if kind == 'photo' else 'BQAC'}{digest[:40]}"
    unique = f"AQAD{digest[40:56]}"
    folder = "photos" if kind == "photo" else "documents"
    if kind == "photo" or not file_name:
        path = f"{folder}/file_{n}{'.jpg' if kind == 'photo' else ''}"
    else:
        path = f"{folder}/{n}_{file_name}"
    record = FileRecord(file_id, unique, data, path, kind, file_name, mime_type)
    state.files[file_id] = record
    return record


def file_json(record: FileRecord) -> dict[str, Any]:
    return {
        "file_id": record.file_id,
        "file_unique_id": record.file_unique_id,
        "file_size": len(record.data),
        "file_path": record.path,
    }


def photo_sizes(state: SandboxState, record: FileRecord) -> list[dict[str, Any]]:
    """Telegram returns several sizes; a thumbnail and the original, both downloadable."""
    width, height = image_size(record.data)
    scale = min(1.0, 90 / max(width, height, 1))
    thumb_id = record.file_id + "_s"
    if thumb_id not in state.files:
        state.files[thumb_id] = FileRecord(
            thumb_id, record.file_unique_id + "s", record.data, record.path, "photo"
        )
    return [
        {
            "file_id": thumb_id,
            "file_unique_id": record.file_unique_id + "s",
            "file_size": len(record.data),
            "width": max(1, int(width * scale)),
            "height": max(1, int(height * scale)),
        },
        {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "file_size": len(record.data),
            "width": width,
            "height": height,
        },
    ]


def document_json(record: FileRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "file_id": record.file_id,
        "file_unique_id": record.file_unique_id,
        "file_size": len(record.data),
    }
    if record.file_name:
        out["file_name"] = record.file_name
    if record.mime_type:
        out["mime_type"] = record.mime_type
    return out


def resolve_input(state: SandboxState, params: Params, field: str, kind: str) -> FileRecord:
    """An InputFile field: a multipart upload, an existing file_id, or an http(s) URL
    (accepted without fetching; the sandbox is offline)."""
    upload: Upload | None = params.upload(field)
    if upload is not None:
        mime = upload.content_type if kind == "document" else None
        return store(state, upload.data, kind, upload.filename, mime)
    ref = params.get_str(field)
    if not ref:
        raise bad_request(f"there is no {field} in the request")
    if ref in state.files:
        return state.files[ref]
    if ref.startswith(("http://", "https://")):
        name = ref.rstrip("/").rsplit("/", 1)[-1] or None
        return store(state, b"", kind, name if kind == "document" else None)
    raise bad_request(E.WRONG_FILE_ID)
