"""Identity, chats, files and bot settings: the calls a bot makes around messaging."""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import bad_request
from .files import file_json
from .objects import bot_me_json, chat_full_info_json
from .params import Params
from .registry import chat_id_of, method
from .state import SandboxState

_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")


@method("getMe")
async def get_me(state: SandboxState, params: Params) -> Any:
    return bot_me_json(state.bot)


@method("getChat")
async def get_chat(state: SandboxState, params: Params) -> Any:
    chat = state.chat_for_bot(chat_id_of(params), sending=False)
    return chat_full_info_json(chat.user)


@method("getFile")
async def get_file(state: SandboxState, params: Params) -> Any:
    record = state.files.get(params.get_str("file_id") or "")
    if record is None:
        raise bad_request("invalid file_id")
    return file_json(record)


def _commands_key(params: Params) -> str:
    scope = params.get_json("scope") or {"type": "default"}
    return json.dumps([scope, params.get_str("language_code") or ""], sort_keys=True)


@method("setMyCommands")
async def set_my_commands(state: SandboxState, params: Params) -> Any:
    commands = params.get_json("commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("BOT_COMMANDS_TOO_MUCH" if isinstance(commands, list) else "commands")
    for item in commands:
        if not isinstance(item, dict) or not _COMMAND.match(str(item.get("command", ""))):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(item.get("description", ""))) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    state.commands[_commands_key(params)] = [
        {"command": c["command"], "description": c["description"]} for c in commands
    ]
    return True


@method("getMyCommands")
async def get_my_commands(state: SandboxState, params: Params) -> Any:
    return state.commands.get(_commands_key(params), [])


@method("deleteMyCommands")
async def delete_my_commands(state: SandboxState, params: Params) -> Any:
    state.commands.pop(_commands_key(params), None)
    return True


@method(
    "close",
    "logOut",
    "setMyDescription",
    "setMyShortDescription",
    "setMyName",
    "setChatMenuButton",
    "setMyDefaultAdministratorRights",
)
async def accept(state: SandboxState, params: Params) -> Any:
    """Settings with no visible effect in a private-chat sandbox."""
    return True
