"""Processes and triggers: planner processes and the APScheduler 3.11 jobs.
They only trigger; the outbox is the record of truth."""
