"""The Starlette app: health, readiness, metrics and the provider webhooks."""
