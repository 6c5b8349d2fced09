"""The words: message catalogs per locale, the leaflet as data, rendering, GSM-7, and
understanding what patients write (rules plus a small model trained on messages/corpus)."""
