"""getUpdates long polling and the webhook settings, with Telegram's offset rules."""

from __future__ import annotations

import re
from typing import Any

from . import errors as E
from .errors import bad_request, conflict
from .params import Params
from .registry import method
from .state import DEFAULT_UPDATE_TYPES, SandboxState, WebhookConfig

_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
MAX_POLL_TIMEOUT = 50  # seconds; Telegram caps long polls too


@method("getUpdates")
async def get_updates(state: SandboxState, params: Params) -> Any:
    if state.webhook is not None:
        raise conflict(E.WEBHOOK_ACTIVE)
    offset = params.get_int("offset")
    limit = min(100, max(1, params.get_int("limit", 100) or 100))
    timeout = min(MAX_POLL_TIMEOUT, max(0, params.get_int("timeout", 0) or 0))
    state.set_allowed_updates(params.get_json("allowed_updates"))
    state.poll_generation += 1
    mine = state.poll_generation
    state.confirm(offset)
    await state.wait_until(
        lambda: bool(state.pending) or state.poll_generation != mine or state.webhook is not None,
        timeout,
    )
    if state.poll_generation != mine:
        raise conflict(
            "terminated by other getUpdates request; "
            "make sure that only one bot instance is running"
        )
    if state.webhook is not None:
        return []
    batch = state.pending[:limit]
    for update in batch:
        update.served = True
    return [update.payload for update in batch]


@method("setWebhook")
async def set_webhook(state: SandboxState, params: Params) -> Any:
    url = params.get_str("url") or ""
    secret = params.get_str("secret_token")
    if secret is not None and not _SECRET.match(secret):
        raise bad_request("secret token contains unallowed characters")
    # Real Telegram demands HTTPS on ports 443/80/88/8443; loopback http is the point here.
    if url and not url.startswith(("http://", "https://")):
        raise bad_request("bad webhook: Wrong HTTP URL specified")
    if params.get_bool("drop_pending_updates"):
        state.pending.clear()
    state.set_allowed_updates(params.get_json("allowed_updates"))
    if not url:
        state.webhook = None
    else:
        max_connections = min(100, max(1, params.get_int("max_connections", 40) or 40))
        state.webhook = WebhookConfig(url, secret, max_connections)
    state.changed()
    return True


@method("deleteWebhook")
async def delete_webhook(state: SandboxState, params: Params) -> Any:
    if params.get_bool("drop_pending_updates"):
        state.pending.clear()
    state.webhook = None
    state.changed()
    return True


@method("getWebhookInfo")
async def get_webhook_info(state: SandboxState, params: Params) -> Any:
    hook = state.webhook
    info: dict[str, Any] = {
        "url": hook.url if hook else "",
        "has_custom_certificate": False,
        "pending_update_count": len(state.pending),
    }
    if hook is not None:
        info["max_connections"] = hook.max_connections
        info["ip_address"] = "127.0.0.1"
        if hook.last_error_date is not None:
            info["last_error_date"] = hook.last_error_date
            info["last_error_message"] = hook.last_error_message
    if state.allowed_updates != DEFAULT_UPDATE_TYPES:
        info["allowed_updates"] = sorted(state.allowed_updates)
    return info
