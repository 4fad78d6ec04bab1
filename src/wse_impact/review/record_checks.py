"""Checks of the release service's record against what lies outside its database: the
release log and person sets its release entries vouch for, the release folders and the
files each holds, and the staged files of a request against their SHA256SUMS."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from wse_impact.landing.checksums import sha256_of
from wse_impact.release.export import CHECKSUMS
from wse_impact.review.states import AuditEvent

RELEASE_RECORD = "release_record.json"  # in each release folder: its audit entry's number and MAC


def release_log_problems(entries: list[dict], release_rows: dict) -> list[str]:
    """Release-log rows removed, changed or added, against the release entries that vouch for them."""
    releases = {e["seq"]: e for e in entries if e["event"] == AuditEvent.RELEASE}
    problems = []
    for seq, entry in releases.items():
        row = release_rows.get(seq)
        if row is None:
            problems.append(f"release of {entry['request']} ({entry['folder']}): its release-log entry was removed")
        elif hashlib.sha256(row["entry"].encode()).hexdigest() != entry["release_log_sha256"]:
            problems.append(f"release of {entry['request']} ({entry['folder']}): its release-log entry was changed")
    problems += [f"release-log entry {seq} ({row['folder']}) has no release in the audit log (added)"
                 for seq, row in release_rows.items() if seq not in releases]
    return problems


def record_of(folder: Path) -> dict | None:
    try:
        return json.loads((folder / RELEASE_RECORD).read_text())
    except (OSError, ValueError):
        return None


def release_folder_problems(folder: Path, entry: dict, purged: bool) -> list[str]:
    where = f"release of {entry['request']} ({entry['folder']})"
    if not folder.exists():
        return [] if purged else [f"{where}: the folder is missing, not purged"]
    record = record_of(folder)
    problems = []
    if record is None or (record.get("audit_seq"), record.get("audit_mac")) != (entry["seq"], entry["mac"]):
        problems.append(f"{where}: its {RELEASE_RECORD} does not name its audit entry {entry['seq']}")
    now = {p.name: sha256_of(p) for p in sorted(folder.iterdir()) if p.name != RELEASE_RECORD}
    for name in sorted(set(now) | set(entry["files"])):
        if now.get(name) != entry["files"].get(name):
            problems.append(f"{where}: {name} " + ("added" if name not in entry["files"]
                                                   else "missing" if name not in now else "changed"))
    return problems


def checksum_problems(folder: Path) -> list[str]:
    """Files of a staged release that differ from its SHA256SUMS, are missing, or were added."""
    sums_path = folder / CHECKSUMS
    if not sums_path.is_file():
        return [f"{CHECKSUMS} missing"]
    listed = dict(reversed(line.split("  ", 1)) for line in sums_path.read_text().splitlines())
    problems = [f"{name} changed" for name, digest in listed.items()
                if not (folder / name).is_file() or sha256_of(folder / name) != digest]
    problems += [f"{p.name} added" for p in sorted(folder.iterdir()) if p.name not in listed and p.name != CHECKSUMS]
    return problems
