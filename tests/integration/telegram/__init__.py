"""Telegram through real python-telegram-bot against the fake Bot API."""
