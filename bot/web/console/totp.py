"""Time-based one-time codes (RFC 6238, 6 digits every 30 s) for staff sign-in.

A code is accepted for its own 30-second step or the one either side (a phone's clock drifts),
and only for a step later than the last one accepted, so a code seen over a shoulder cannot be
used again. The otpauth URI goes into an authenticator app as a QR code: text blocks for the
terminal, an SVG for the staff page (neither needs Pillow).
"""

from __future__ import annotations

import hmac
import io
import re
from datetime import datetime
from typing import TYPE_CHECKING

import pyotp

if TYPE_CHECKING:  # imported on use: only adding a second factor draws a code (4 MB)
    import qrcode

STEP_SECONDS = 30
ISSUER = "lenabot"


def new_secret() -> str:
    return pyotp.random_base32()


def uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def accepted_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The step ``code`` is right for (now, or one step either side), if it is later than
    ``last_step``; None otherwise."""
    digits = re.sub(r"\s", "", code)
    if not re.fullmatch(r"\d{6}", digits):
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in (current - 1, current, current + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), digits):
            return step
    return None


def code_at(secret: str, now: datetime) -> str:
    """The code an authenticator app shows at ``now`` (for tests and the CLI's check)."""
    return pyotp.TOTP(secret).at(now)


def _qr(data: str) -> qrcode.QRCode:
    import qrcode

    q = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    q.add_data(data)
    q.make(fit=True)
    return q


def terminal_qr(data: str) -> str:
    """The QR code in text blocks, dark on a light terminal or light on a dark one."""
    out = io.StringIO()
    _qr(data).print_ascii(out=out, invert=True)
    return out.getvalue()


def svg_qr(data: str) -> str:
    """The QR code as an inline ``<svg>`` element (paths only: no script, no style)."""
    import qrcode.image.svg

    image = _qr(data).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    text: str = image.to_string(encoding="unicode")
    return text
