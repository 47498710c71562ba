"""RMA numbers: random, unique, and easy to read aloud over the phone (RMA-7K2M-9QXD)."""

import secrets

# Crockford's base32 without the letters people misread (I, L, O, U) — 32 symbols.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_rma_number() -> str:
    symbols = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"RMA-{symbols[:4]}-{symbols[4:]}"
