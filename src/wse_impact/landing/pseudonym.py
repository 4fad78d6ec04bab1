"""The pseudonymisation key and the keyed hash (HMAC-SHA256) that orders person_ids.

`person_id` is a sequence number 1..N assigned in the order of HMAC(key, INSZ): without the
key the order is unpredictable, so the number carries no information about the INSZ, the
birth date or the sex. The key comes from WSE_PSEUDONYM_KEY; for the synthetic demo
`ensure_demo_key` writes a random key to a local file that git ignores.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

KEY_ENV = "WSE_PSEUDONYM_KEY"
DEMO_KEY_FILE = Path(".secrets/pseudonym.key")
MIN_KEY_LENGTH = 16


class MissingKeyError(RuntimeError):
    pass


def pseudonym_key() -> bytes:
    key = os.environ.get(KEY_ENV, "")
    if not key:
        raise MissingKeyError(
            f"{KEY_ENV} is not set: the pseudonymisation key is required to assign person_id. "
            f"Set it to the key of this delivery (for the synthetic demo, `make build` creates "
            f"{DEMO_KEY_FILE} and exports it)."
        )
    if len(key) < MIN_KEY_LENGTH:
        raise MissingKeyError(f"{KEY_ENV} is shorter than {MIN_KEY_LENGTH} characters: use a random key.")
    return key.encode()


def keyed_hash(value: str, key: bytes) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def keyed_hash_udf(value: str | None) -> str | None:
    if value is None:
        return None
    return keyed_hash(value, pseudonym_key())


def ensure_demo_key(path: Path = DEMO_KEY_FILE) -> str:
    """Return the demo key, creating a random one (mode 600) on first use."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key
