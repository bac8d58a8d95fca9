"""The receipt's lookup code (查询码): 8 characters an applicant types to see their case.

The code is derived (HMAC-SHA256 under the deployment's audit key) from a random nonce kept
on the case, so a receipt re-rendered later prints the same code and gives the same bytes;
the database alone (without the key) reveals nothing of it. What a lookup checks is the
code's scrypt hash, also on the case.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

# Crockford's base32: no I, L, O or U, so nothing reads as another character. 32 symbols,
# 5 bits each: 8 characters are exactly 40 bits of the MAC, with no modulo bias.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 8
_LABEL = b"tongban-lookup-code\x00"


def new_nonce() -> str:
    return secrets.token_hex(16)


def derive_code(secret: bytes, case_no: str, nonce: str) -> str:
    mac = hmac.new(secret, _LABEL + f"{case_no}\x00{nonce}".encode(), hashlib.sha256).digest()
    bits = int.from_bytes(mac[:5], "big")
    return "".join(ALPHABET[(bits >> (5 * (LENGTH - 1 - i))) & 31] for i in range(LENGTH))


def hash_code(case_no: str, code: str) -> str:
    """scrypt (n=2^14, r=8, p=1) of the code, salted with the case number: trying every
    code of one case costs about 2^40 scrypt runs."""
    digest = hashlib.scrypt(
        normalize(code).encode(), salt=case_no.encode(), n=2**14, r=8, p=1, dklen=32
    )
    return digest.hex()


def normalize(code: str) -> str:
    """As a person types it: spaces and dashes dropped, upper case, O read as 0, I and L as 1."""
    text = code.strip().upper().replace("-", "").replace(" ", "")
    return text.translate(str.maketrans("OIL", "011"))


def code_matches(case_no: str, code: str, stored_hash: str | None) -> bool:
    if not stored_hash:
        return False
    return hmac.compare_digest(hash_code(case_no, code), stored_hash)


def printed(code: str) -> str:
    """As printed: two groups of four."""
    return f"{code[:4]}-{code[4:]}"
