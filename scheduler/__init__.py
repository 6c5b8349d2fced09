"""The care plan and its delivery: the pure domain, the ports, the services (plan, dispatch,
care actions), the SQLAlchemy store and the runtime (planner processes, jobs). Never imports bot/."""
