"""The care-team console over real HTTP: sign-in, sessions, CSRF, roles, pages and their actions."""
