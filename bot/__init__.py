"""The service around the core: the conversation, the channels (SMS, Telegram), the web app,
the CLI, settings, logging and the composition root (bootstrap) that wires it all."""
