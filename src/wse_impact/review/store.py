"""The release service's record: one SQLite database, owned and written by the service alone.

Why SQLite: an embedded, transactional database in one file in the service's own folder
(mode 0700), with no server of its own to secure, run or back up apart; `BEGIN IMMEDIATE`
serialises writers, so concurrent requests and decisions are each recorded exactly once;
Python's standard library reads it. The review writes a few rows per request: nothing here
needs a database server.

Tables:
- `audit`: every request, refusal, decision, release and purge, chained: each entry carries
  the HMAC-SHA256 of its content and of the entry before it (`mac`), keyed by a secret that
  only the service reads (`audit.key`, mode 0600). Anyone who can write the database but not
  read the key cannot append, edit, insert or reorder an entry without `verify` naming it.
- `requests`: what each request would release, the custodian's report and the true counts
  (restricted); the staged files are in `requests/<id>/` next to the database.
- `release_log`: per release the true and published value of every cell, tied to its audit
  entry by the entry's `release_log_sha256`; and `released_person_sets` (`release/person_sets.py`):
  per release the persons behind every published cell, tied to it by `person_sets_sha256`.

Entries cut from the end leave a valid shorter chain; two anchors outside the database catch
it: the head file (`audit.head`: the last entry's number and MAC, written after each commit)
and every release folder, which carries its audit entry's number and MAC (`release_record.json`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from wse_impact.release.person_sets import PersonSetStore

DATABASE = "review.sqlite"
KEY_FILE = "audit.key"
HEAD_FILE = "audit.head"
GENESIS = "0" * 64

SCHEMA = """
create table if not exists audit (
    seq integer primary key,
    at text not null,
    user text not null,
    event text not null,
    request text,
    body text not null,        -- the entry's other details, canonical JSON
    previous text not null,    -- the MAC of the entry before
    mac text not null          -- HMAC-SHA256 of this entry with `previous`
);
create index if not exists audit_request on audit (request);
create table if not exists requests (
    id text primary key,
    requester text not null,
    record text not null,            -- what was asked: outputs, aggregates (SQL, dimensions)
    custodian_report text not null,  -- every suppression with its rule, every audited interval
    log_entry text not null,         -- true and published value of every cell
    person_sets blob not null        -- the persons behind every cell it would publish
);
create table if not exists release_log (
    seq integer primary key references audit (seq),
    request text not null,
    export_date text not null,
    folder text not null,
    entry text not null
);
"""


def canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


class AuditChainBroken(RuntimeError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("the audit log is broken; nothing is decided or released until it is restored: "
                         + "; ".join(problems))


class Store:
    """The database and the key, in the service's state folder."""

    def __init__(self, state_dir: str | Path):
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / DATABASE
        self.head_path = self.state_dir / HEAD_FILE
        self._key = (self.state_dir / KEY_FILE).read_bytes()
        # one writer at a time in this process, and no reader between a commit and its head
        # file: the log and its head are read and written as one (SQLite serialises processes)
        self.lock = threading.RLock()

    @staticmethod
    def initialise(state_dir: Path) -> None:
        """Create the key (once) and the tables, readable by the service account only."""
        state_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(state_dir, 0o700)
        key_path = state_dir / KEY_FILE
        if not key_path.exists():
            fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(secrets.token_bytes(32))
        with sqlite3.connect(state_dir / DATABASE) as con:
            con.execute("pragma journal_mode = wal")
            con.executescript(SCHEMA)
            PersonSetStore(con).create_schema()  # the persons behind every published cell
        os.chmod(state_dir / DATABASE, 0o600)

    # --- connections and transactions

    def connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        con.row_factory = sqlite3.Row
        con.execute("pragma busy_timeout = 60000")
        return con

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: `BEGIN IMMEDIATE` takes the write lock at once, so two
        writers never both read the same last entry; the head file follows the commit."""
        with self.lock:
            con = self.connect()
            try:
                con.execute("begin immediate")
                try:
                    yield con
                except BaseException:
                    con.execute("rollback")
                    raise
                con.execute("commit")
                self._write_head(con)
            finally:
                con.close()

    def token(self, text: str) -> str:
        """A value only the service can compute for `text` (the pages' form tokens)."""
        return hmac.new(self._key, f"token:{text}".encode("utf-8"), hashlib.sha256).hexdigest()

    # --- the chained audit log

    def _mac(self, entry: dict) -> str:
        body = {k: v for k, v in entry.items() if k != "mac"}
        return hmac.new(self._key, canonical(body).encode("utf-8"), hashlib.sha256).hexdigest()

    def append(self, con: sqlite3.Connection, event: str, user: str, request: str | None = None, **details) -> dict:
        """Append one entry inside the caller's transaction, after checking the chain it extends."""
        entries, problems = self.read(con)
        if problems:
            raise AuditChainBroken(problems)
        entry = {"seq": len(entries) + 1, "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                 "user": user, "event": str(event), "request": request, **details,
                 "previous": entries[-1]["mac"] if entries else GENESIS}
        entry["mac"] = self._mac(entry)
        body = {k: v for k, v in entry.items() if k not in ("seq", "at", "user", "event", "request", "previous", "mac")}
        con.execute("insert into audit values (?, ?, ?, ?, ?, ?, ?, ?)",
                    (entry["seq"], entry["at"], user, str(event), request, canonical(body), entry["previous"],
                     entry["mac"]))
        return entry

    def read(self, con: sqlite3.Connection | None = None) -> tuple[list[dict], list[str]]:
        """Every entry, oldest first, and every break of the chain (one line each)."""
        with self.lock:
            own = con is None
            con = con or self.connect()
            try:
                rows = con.execute("select * from audit order by seq").fetchall()
            finally:
                if own:
                    con.close()
            head = self._read_head()
        entries, problems, previous = [], [], GENESIS
        for number, row in enumerate(rows, start=1):
            entry = {"seq": row["seq"], "at": row["at"], "user": row["user"], "event": row["event"],
                     "request": row["request"], **json.loads(row["body"]), "previous": row["previous"],
                     "mac": row["mac"]}
            if row["seq"] != number:
                problems.append(f"audit entry {number} is missing (the next is numbered {row['seq']})")
            if not hmac.compare_digest(entry["mac"], self._mac(entry)):
                problems.append(f"audit entry {row['seq']} was edited or written without the service's key "
                                "(its MAC does not match its content)")
            if entry["previous"] != previous:
                problems.append(f"audit entry {row['seq']} does not follow the entry before it "
                                "(an entry was removed, inserted or reordered)")
            previous = entry["mac"]
            entries.append(entry)
        problems += self._head_problems(entries, head)
        return entries, problems

    def entries(self) -> list[dict]:
        """The entries of a whole log; raises `AuditChainBroken` otherwise."""
        entries, problems = self.read()
        if problems:
            raise AuditChainBroken(problems)
        return entries

    def _write_head(self, con: sqlite3.Connection) -> None:
        row = con.execute("select seq, mac from audit order by seq desc limit 1").fetchone()
        if row is None:
            return
        head = {"seq": row["seq"], "mac": row["mac"]}
        head["head_mac"] = self._mac(head)
        partial = self.head_path.with_suffix(".partial")
        partial.write_text(canonical(head) + "\n", encoding="utf-8")
        os.replace(partial, self.head_path)

    def _read_head(self) -> dict | None:
        return json.loads(self.head_path.read_text(encoding="utf-8")) if self.head_path.exists() else None

    def _head_problems(self, entries: list[dict], head: dict | None) -> list[str]:
        if head is None:
            return ["the head file is missing, but the log has entries"] if entries else []
        if not hmac.compare_digest(head.get("head_mac", ""), self._mac({"seq": head.get("seq"), "mac": head.get("mac")})):
            return ["the head file was written without the service's key"]
        last = entries[-1] if entries else None
        if last is None or head["seq"] > last["seq"]:
            return [f"entries were cut from the end of the audit log: the head file records entry {head['seq']}, "
                    f"the log ends at {last['seq'] if last else 0}"]
        if (head["seq"], head["mac"]) != (last["seq"], last["mac"]) and head["seq"] == last["seq"]:
            return [f"the last audit entry ({last['seq']}) is not the one the head file records"]
        if head["seq"] < last["seq"]:
            return [f"the head file records entry {head['seq']} but the log ends at {last['seq']}: entries were "
                    "added after the service last wrote"]
        return []

    # --- requests and the release log

    def insert_request(self, con, request_id: str, requester: str, record: dict, custodian: dict, log_entry: dict,
                       person_sets: bytes):
        con.execute("insert into requests values (?, ?, ?, ?, ?, ?)",
                    (request_id, requester, canonical(record), canonical(custodian), canonical(log_entry), person_sets))

    def request_row(self, request_id: str) -> sqlite3.Row | None:
        con = self.connect()
        try:
            return con.execute("select * from requests where id = ?", (request_id,)).fetchone()
        finally:
            con.close()

    def request_ids(self, con) -> list[str]:
        taken = [r[0] for r in con.execute("select id from requests")]
        taken += [r[0] for r in con.execute("select request from audit where request is not null")]
        return taken

    def release_log(self, con: sqlite3.Connection | None = None) -> list[dict]:
        """Every release's cells, oldest first (the entries differencing is checked against)."""
        own = con is None
        con = con or self.connect()
        try:
            rows = con.execute("select * from release_log order by seq").fetchall()
        finally:
            if own:
                con.close()
        return [{**json.loads(r["entry"]), "seq": r["seq"], "request": r["request"], "export_date": r["export_date"],
                 "folder": r["folder"]} for r in rows]

    def release_rows(self) -> dict[int, sqlite3.Row]:
        con = self.connect()
        try:
            return {r["seq"]: r for r in con.execute("select * from release_log")}
        finally:
            con.close()

    @staticmethod
    def person_sets_digest(con: sqlite3.Connection, release_id: str) -> str:
        """One hash over the persons recorded behind a release's published cells."""
        digest = hashlib.sha256()
        for label, count, persons in con.execute(
                f"select label, n_persons, persons from {PersonSetStore.TABLE} where release_id = ? order by label",
                (release_id,)):
            digest.update(canonical([label, count]).encode() + hashlib.sha256(persons).digest())
        return digest.hexdigest()

    @staticmethod
    def person_set_releases(con: sqlite3.Connection) -> list[str]:
        return [r[0] for r in con.execute(f"select distinct release_id from {PersonSetStore.TABLE}")]

    def insert_release(self, con, seq: int, request_id: str, export_date: str, folder: str, entry_json: str):
        con.execute("insert into release_log values (?, ?, ?, ?, ?)", (seq, request_id, export_date, folder, entry_json))
