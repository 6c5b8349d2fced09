"""Stopping a real lenabot process a test started, as an operator's SIGTERM would."""

from __future__ import annotations

import signal
import subprocess


def terminate(proc: subprocess.Popen[bytes] | subprocess.Popen[str], within: float = 20) -> None:
    """SIGTERM, then wait up to ``within`` seconds for a clean exit; kill it past that."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=within)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
