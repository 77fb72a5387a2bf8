"""Reading Bot API call parameters the way Telegram accepts them.

Clients send parameters in the query string, as a JSON body, urlencoded, or multipart
(aiogram uses the last two). Nested objects such as `reply_markup` then arrive as JSON
strings, and uploads as file parts referenced by `attach://<name>` or by the field itself.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import default as default_policy
from typing import Any

from aiohttp import BodyPartReader, MultipartReader, web

from .errors import bad_request


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes
    content_type: str


class Params:
    """Typed access to one call's parameters; raises Bot API 400s on bad values."""

    def __init__(self, values: dict[str, Any], uploads: dict[str, Upload]) -> None:
        self.values = values
        self.uploads = uploads

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "")

    def get_str(self, name: str, default: str | None = None) -> str | None:
        value = self.values.get(name)
        if value is None:
            return default
        return value if isinstance(value, str) else json.dumps(value)

    def get_int(self, name: str, default: int | None = None) -> int | None:
        value = self.values.get(name)
        if value in (None, ""):
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def required_int(self, name: str) -> int:
        value = self.get_int(name)
        if value is None:
            raise bad_request(f"{name} is empty")
        return value

    def get_bool(self, name: str, default: bool = False) -> bool:
        value = self.values.get(name)
        if value is None:
            return default
        if isinstance(value, str):
            return value.lower() in ("true", "1")
        return bool(value)

    def get_json(self, name: str) -> Any:
        """A JSON-typed field: already decoded (JSON body) or a JSON string (form data)."""
        value = self.values.get(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(f"can't parse {name} JSON object") from None
        return value

    def upload(self, name: str) -> Upload | None:
        """The file sent for `name`, directly or via an `attach://` reference."""
        value = self.values.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            return self.uploads.get(value.removeprefix("attach://"))
        return self.uploads.get(name)

    def loggable(self) -> dict[str, Any]:
        """Parameters for the call log: JSON strings decoded, file bytes summarized."""
        out: dict[str, Any] = {}
        for key, value in self.values.items():
            if isinstance(value, str) and value[:1] in ("{", "["):
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
            out[key] = value
        for key, upload in self.uploads.items():
            out.setdefault(key, {"upload": upload.filename, "size": len(upload.data)})
        for key, value in list(out.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                found = self.uploads.get(value.removeprefix("attach://"))
                if found is not None:
                    out[key] = {"upload": found.filename, "size": len(found.data)}
        return out


async def read_params(request: web.Request) -> Params:
    values: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    ctype = request.content_type
    if request.method == "POST" and request.can_read_body:
        if ctype == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise bad_request("can't parse JSON body") from None
            if isinstance(body, dict):
                values.update(body)
        elif ctype == "multipart/form-data":
            await _read_multipart(await request.multipart(), values, uploads)
        else:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, str):
                    values[key] = value
    return Params(values, uploads)


async def _read_multipart(
    reader: MultipartReader, values: dict[str, Any], uploads: dict[str, Upload]
) -> None:
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or part.name is None:
            continue
        data = bytes(await part.read())
        if part.filename is not None:
            ctype = part.headers.get("Content-Type", "application/octet-stream")
            uploads[part.name] = Upload(part.filename, data, ctype)
        else:
            values[part.name] = data.decode("utf-8")


def read_webhook_reply(content_type: str, body: bytes) -> tuple[str, Params] | None:
    """A Bot API call carried in a webhook's response body ("method" plus parameters, as
    JSON or multipart form data); Telegram executes it without reporting the result."""
    values: dict[str, Any] = {}
    uploads: dict[str, Upload] = {}
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype == "application/json":
        with contextlib.suppress(ValueError):
            data = json.loads(body or b"{}")
            if isinstance(data, dict):
                values.update(data)
    elif ctype == "multipart/form-data":
        head = f"Content-Type: {content_type}\r\n\r\n".encode()
        message = BytesParser(policy=default_policy).parsebytes(head + body)
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if not isinstance(name, str) or not isinstance(payload, bytes):
                continue
            filename = part.get_filename()
            if filename:
                uploads[name] = Upload(filename, payload, part.get_content_type())
            else:
                values[name] = payload.decode("utf-8")
    method = values.pop("method", None)
    if not isinstance(method, str) or not method:
        return None
    return method, Params(values, uploads)
