"""The care-team console: server-rendered pages for nurses and admins (``routes.py`` lists
them), behind staff accounts (``accounts.py``, ``passwords.py``, ``totp.py``, ``signin.py``)
and server-side sessions (``sessions.py``, ``guard.py``); templates and the stylesheet ship in
``templates/`` and ``static/``."""
