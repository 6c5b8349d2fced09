"""The channel-agnostic conversation: what a patient's text means, what to answer, what to record.
Also NEXT, schedule answers, nurse alerts, Telegram link codes and input validation."""
