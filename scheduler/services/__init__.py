"""Use cases on ports: materialise the plan, dispatch the outbox, the care team's actions.
They take their collaborators as arguments and import no channel."""
