"""Secret codes people type: gift-return codes and gift-card codes.

A code is derived from a random nonce and the server's secret key (HMAC), so the database alone
never reveals one, yet a receipt can be printed again and an e-mail re-sent from the outbox. It
is looked up by a keyed digest of its normalised form, never by the code itself.

Alphabet: digits and capitals without the ones people confuse (0/O, 1/I/L, U/V), so a code read
off paper is typed right; 16 characters carry 16 × log2(29) ≈ 77 bits, grouped in fours.
"""

import secrets

from django.utils.crypto import salted_hmac

ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
CODE_LENGTH = 16
GROUP = 4


def new_nonce() -> str:
    return secrets.token_hex(32)


def code_from_nonce(nonce: str, *, purpose: str) -> str:
    """The code a nonce stands for, grouped for print: XXXX-XXXX-XXXX-XXXX."""
    number = int.from_bytes(salted_hmac(f"codes.{purpose}", nonce, algorithm="sha256").digest(), "big")
    chars = []
    for _ in range(CODE_LENGTH):
        number, index = divmod(number, len(ALPHABET))
        chars.append(ALPHABET[index])
    raw = "".join(chars)
    return "-".join(raw[i:i + GROUP] for i in range(0, CODE_LENGTH, GROUP))


def normalise(typed: str) -> str:
    """What a person typed, without spaces, dashes or case."""
    return "".join(ch for ch in str(typed or "").upper() if ch.isalnum())[:64]


def digest(code: str, *, purpose: str) -> str:
    """The keyed digest a code is stored and looked up by."""
    return salted_hmac(f"codes.{purpose}.digest", normalise(code), algorithm="sha256").hexdigest()


def fingerprint(typed: str) -> str:
    """A short, non-reversible tag of an attempted code, for logs and throttling keys."""
    return salted_hmac("codes.fingerprint", normalise(typed), algorithm="sha256").hexdigest()[:16]


def looks_like_code(typed: str) -> bool:
    value = normalise(typed)
    return len(value) == CODE_LENGTH and all(ch in ALPHABET for ch in value)
