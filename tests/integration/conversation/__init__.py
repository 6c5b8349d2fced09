"""A patient's text to its reply, record and alerts, on real databases."""
