"""Password hashes: Argon2id at OWASP's parameters, and the scrypt hashes of earlier
versions, verified once more and replaced at the next successful sign-in.

OWASP Password Storage Cheat Sheet, Argon2id minimum: m = 19 MiB (19456 KiB), t = 2, p = 1
(about 20 ms here). argon2-cffi's own default is RFC 9106's low-memory profile (64 MiB,
t = 3, p = 4, about 110 ms here); the OWASP figures keep a sign-in cheap enough that the
server's few request threads are not the bottleneck under a guessing attack.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

ARGON2 = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

# A hash of a random password nobody knows, with ARGON2's parameters. Checked against when
# the username is unknown or disabled, so such a sign-in costs one Argon2 verification like
# a wrong password does, and the answer time does not tell which usernames exist.
NOBODY_HASH = (
    "$argon2id$v=19$m=19456,t=2,p=1$d9D9tXmpCB1J1W+fbztU8Q"
    "$cD728ztpl31gFaygYK4Fv7Q1dtKu/9q8PPWGKh0cRnQ"
)

_SCRYPT_R, _SCRYPT_P = 8, 1


@dataclass(frozen=True)
class Verified:
    matches: bool
    # The hash is scrypt or Argon2 with other parameters: store a new one on success.
    needs_rehash: bool = False


def hash_password(password: str) -> str:
    return ARGON2.hash(password)


def _check_scrypt(password: str, stored: str) -> bool:
    try:
        _scheme, n, salt, digest = stored.split("$")
        got = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=_SCRYPT_R, p=_SCRYPT_P
        )
    except ValueError:
        return False
    return hmac.compare_digest(got.hex(), digest)


def verify_password(password: str, stored: str) -> Verified:
    """Whether `password` matches `stored` (Argon2id, or a legacy `scrypt$n$salt$digest`)."""
    if stored.startswith("scrypt$"):
        return Verified(_check_scrypt(password, stored), needs_rehash=True)
    try:
        ARGON2.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return Verified(False)
    return Verified(True, needs_rehash=ARGON2.check_needs_rehash(stored))
