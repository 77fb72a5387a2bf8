"""Telegram adapter (aiogram 3): routers per audience, typed callback data, middlewares."""
