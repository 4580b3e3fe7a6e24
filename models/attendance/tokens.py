"""The signed, short-lived tokens in the rotating QR codes of check-in screens.

A token names one activity, what it is for (checking in or out) and when it expires,
signed with HMAC-SHA256 under the secret from the configuration (`[checkin] secret`).
It travels as a /start deep-link payload, so it is short and of A-Za-z0-9_- only:
"qi_<activity>_<expires, unix seconds>_<16 characters of signature>" ("qo_" for
check-out). Nobody without the secret can make one, or change what one says; a
screenshot of one stops working when it expires.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from models.attendance.tables import ScreenPurpose
from models.errors import InvalidInput, InvalidState

PREFIXES = {ScreenPurpose.check_in: "qi_", ScreenPurpose.check_out: "qo_"}
TOKEN_PREFIX = "q"  # what every token payload starts with (handlers dispatch on it)
_SHAPE = re.compile(r"^(q[io])_([0-9]{1,18})_([0-9]{1,12})_([A-Za-z0-9_-]{16})$")
SECRET_MIN_LENGTH = 16
# A press of the confirmation button is accepted this long after the scanned token expired.
CONFIRM_GRACE = timedelta(minutes=2)


@dataclass(frozen=True)
class Token:
    activity_id: int
    purpose: ScreenPurpose
    expires_at: datetime
    signature: str

    @property
    def payload(self) -> str:
        expires = int(self.expires_at.timestamp())
        return f"{PREFIXES[self.purpose]}{self.activity_id}_{expires}_{self.signature}"


def _signature(secret: str, purpose: ScreenPurpose, activity_id: int, expires: int) -> str:
    message = f"{purpose.value}:{activity_id}:{expires}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode()  # 16 characters, no padding


def make_token(
    secret: str, activity_id: int, purpose: ScreenPurpose, expires_at: datetime
) -> Token:
    expires = int(expires_at.timestamp())
    return Token(
        activity_id,
        purpose,
        datetime.fromtimestamp(expires, UTC),
        _signature(secret, purpose, activity_id, expires),
    )


def signed_token(
    secret: str, activity_id: int, purpose: ScreenPurpose, expires: int, signature: str
) -> Token:
    """A token from its parts (a confirmation button carries them), if the signature is
    right; InvalidInput checkin.token_invalid otherwise."""
    expected = _signature(secret, purpose, activity_id, expires)
    if not hmac.compare_digest(expected, signature):
        raise InvalidInput("token", "checkin.token_invalid", detail="bad signature")
    return Token(activity_id, purpose, datetime.fromtimestamp(expires, UTC), signature)


def read_token(secret: str, payload: str) -> Token:
    """The token in a deep-link payload, signature checked (not yet its expiry: see
    check_fresh). InvalidInput checkin.token_invalid for anything malformed or forged."""
    match = _SHAPE.match(payload)
    if match is None:
        raise InvalidInput("token", "checkin.token_invalid", detail="malformed")
    prefix, activity_id, expires, signature = match.groups()
    purpose = next(p for p, start in PREFIXES.items() if start == f"{prefix}_")
    return signed_token(secret, int(activity_id), purpose, int(expires), signature)


def check_fresh(token: Token, now: datetime, grace: timedelta = timedelta()) -> None:
    """InvalidState checkin.token_expired once the token (plus `grace`) has expired."""
    if now > token.expires_at + grace:
        raise InvalidState("checkin.token_expired", f"expired at {token.expires_at}")
