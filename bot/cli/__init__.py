"""The `lenabot` command: `main` builds the group from one module per command family.
Nothing imports `main` but the entry point."""
