"""Telegram through python-telegram-bot: gateway, channel, limiter, webhook, patient and nurse commands."""
