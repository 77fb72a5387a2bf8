"""Import limits, in one place so the README, the CLI and the bot quote the same numbers.

Read them as `limits.NAME` at call time (tests lower them to exercise the checks cheaply).
"""

from __future__ import annotations

# Items per campaign: one campaign is stored in a single transaction.
MAX_ITEMS = 100_000
# CSV, JSONL and Label Studio JSON are read whole, so they are capped well below memory.
MAX_TEXT_FILE_BYTES = 50 * 1024 * 1024
# A ZIP of images as uploaded, and what it may expand to (a guard against ZIP bombs).
MAX_ZIP_BYTES = 500 * 1024 * 1024
MAX_ZIP_UNPACKED_BYTES = 2 * 1024 * 1024 * 1024
# Telegram refuses photos above 10 MB (sendPhoto).
MAX_IMAGE_BYTES = 10 * 1024 * 1024
# Leaves room in Telegram's 4096 characters for the task's header.
MAX_TEXT = 3500
# Problems listed in one error message; the rest are counted.
MAX_PROBLEMS_SHOWN = 50

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
