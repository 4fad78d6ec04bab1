"""An append-only audit log whose entries are chained by hash.

Each line is one JSON entry: its sequence number, time, operating-system user, event and
details, the hash of the entry before it (`previous`) and its own hash (`hash`, the SHA-256
of the entry's canonical JSON without `hash`). Editing, removing, inserting or reordering a
line breaks the chain at that line, which `verify` names. Removing the *last* lines leaves a
valid shorter chain; that is caught by the head file written next to the log (the hash and
number of the last entry) and by every release folder, which carries the hash of its own
release entry (`wse-impact audit` checks both).

What this protects against: a mistaken or hidden change to the record of requests, decisions
and releases by someone who edits the file afterwards. What it does not: someone who can
rewrite the whole log, its head and every release folder consistently (the restricted
folder's file permissions are the protection there), or the clock of the machine.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

GENESIS = "0" * 64
HEAD_SUFFIX = ".head"


def _digest(entry: dict) -> str:
    body = {key: value for key, value in entry.items() if key != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class AuditLog:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.head_path = self.path.with_name(self.path.name + HEAD_SUFFIX)

    def read(self) -> tuple[list[dict], list[str]]:
        """The entries, and every break of the chain (one line each; [] when the log is
        whole), in one pass over the file."""
        entries: list[dict] = []
        problems: list[str] = []
        if not self.path.exists():
            if self.head_path.exists():
                problems.append(f"{self.path.name}: missing, but its head file records entries")
            return entries, problems
        previous = GENESIS
        for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                problems.append(f"{self.path.name} line {number}: not a JSON entry")
                previous = None
                continue
            if entry.get("hash") != _digest(entry):
                problems.append(f"{self.path.name} line {number}: entry {entry.get('seq')} was edited (its hash does not match its content)")
            if previous is not None and entry.get("previous") != previous:
                problems.append(f"{self.path.name} line {number}: entry {entry.get('seq')} does not follow the entry before it "
                                "(an entry was removed, inserted or reordered)")
            if entry.get("seq") != number:
                problems.append(f"{self.path.name} line {number}: entry numbered {entry.get('seq')}")
            previous = entry.get("hash")
            entries.append(entry)
        if self.head_path.exists():
            head = json.loads(self.head_path.read_text(encoding="utf-8"))
            last = entries[-1] if entries else None
            if last is None or (head.get("seq"), head.get("hash")) != (last.get("seq"), last.get("hash")):
                problems.append(f"{self.path.name}: its last entry is not the one its head file records "
                                f"(entry {head.get('seq')}): entries were removed from the end")
        return entries, problems

    def entries(self) -> list[dict]:
        return self.read()[0]

    def verify(self) -> list[str]:
        """Every break of the chain, one line each; [] when the log is whole."""
        return self.read()[1]

    def append(self, event: str, user: str, **details) -> dict:
        """Append one entry, after checking the chain it extends (a broken log is not extended)."""
        entries, problems = self.read()
        if problems:
            raise AuditLogBroken(self.path, problems)
        entry = {
            "seq": len(entries) + 1,
            "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "user": user,
            "event": event,
            **details,
            "previous": entries[-1]["hash"] if entries else GENESIS,
        }
        entry["hash"] = _digest(entry)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, sort_keys=True, ensure_ascii=False, default=str) + "\n")
        self.head_path.write_text(json.dumps({"seq": entry["seq"], "hash": entry["hash"]}) + "\n", encoding="utf-8")
        return entry


class AuditLogBroken(RuntimeError):
    def __init__(self, path: Path, problems: list[str]):
        self.problems = problems
        super().__init__(f"the audit log {path} is broken; nothing was appended:\n" + "\n".join(f"  - {p}" for p in problems))
