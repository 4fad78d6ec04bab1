"""SHA-256 of a file, read in blocks: the one checksum of the project (the generator's
manifest, the delivery record, released files and the release review all use it)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from wse_impact.settings import landing_dir


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def landing_file_size(relative_path: str) -> int:
    """The size of a landing file (path relative to the landing folder): the delivery record's."""
    return (landing_dir() / relative_path).stat().st_size


def landing_file_sha256(relative_path: str) -> str:
    """The SHA-256 of a landing file (path relative to the landing folder): the delivery record's."""
    return sha256_of(landing_dir() / relative_path)
