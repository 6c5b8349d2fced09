"""Planning and sending: the outbox, the dispatcher, the dose-safety invariants."""
