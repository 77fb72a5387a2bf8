"""A fake Telegram Bot API over real HTTP for tests, the demo and local runs.

Imports nothing from the rest of agreemint: it stands in for Telegram, not for our code.
"""

from .client import Button, ChatMessage, SandboxClient, SandboxError
from .server import DEFAULT_TOKEN, FakeBotAPI
from .webhook import WebhookPolicy

__all__ = [
    "DEFAULT_TOKEN",
    "Button",
    "ChatMessage",
    "FakeBotAPI",
    "SandboxClient",
    "SandboxError",
    "WebhookPolicy",
]
