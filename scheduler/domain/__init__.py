"""Pure care-plan core: values, calendar, plan, guidance and rules.
Standard library only; `now` is always a parameter."""
