"""Differencing on person sets: the persons behind every released count, kept on the
restricted side as compressed bitmaps (pyroaring), so that no two published cells, of any
output or aggregate, under any name, in one release or in two, count nested sets of persons
that differ by 1 to threshold-1 persons.

Why nesting. Two published counts whose person sets are nested (one contains the other)
publish their difference, a small group, by subtraction: the same aggregate asked twice
under two names, the second `where person_id <> ...`, gives away that person's sex and
region in the cells that differ by one. Sets that overlap without nesting (the same
population a quarter later, some in and some out) publish only a net difference, which no
subtraction turns into the persons of one group; those are left to the custodians (README,
"Differencing on person sets"). A pair where either cell is suppressed does not count: only
published cells are ever stored or compared. Identical sets (the same population asked
again) differ by nobody and pass.

Only pairs whose counts differ by 1..threshold-1 can qualify, so the store is indexed by the
count and a candidate of n persons reads only the stored cells of n-(t-1)..n+(t-1) persons.

`PersonSetStore` works on an open `sqlite3.Connection` the caller owns: it never commits, so
the caller can record a release's sets and its audit entry in one transaction.
"""

from __future__ import annotations

import sqlite3
import struct
from collections import defaultdict
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
from pyroaring import BitMap

__all__ = ["PersonCell", "PersonSetStore", "nested_pairs", "dump_cells", "load_cells", "bitmap_of",
           "open_file_store", "PERSON_SET_FILE"]

PERSON_SET_FILE = "person_sets.sqlite"
DEFAULT_THRESHOLD = 10

# (label, count, persons): a published cell, named e.g. 'beneficiaries_by_profile ["vop", "M", ...]'
PersonCell = tuple[str, int, BitMap]
# which pairs of labels are left to the table's own protection (check_release: two different
# cells of one project output model); None: every pair is checked
Exempt = Callable[[str, str], bool] | None


def bitmap_of(person_ids: Iterable[int]) -> BitMap:
    """The persons as a bitmap; person_ids are the base files' sequence numbers (< 2**32)."""
    if isinstance(person_ids, np.ndarray):
        if len(person_ids) and (person_ids.min() < 0 or person_ids.max() >= 2**32):
            raise ValueError("a person_id does not fit a 32-bit sequence number")
        return BitMap(person_ids.astype(np.uint32, copy=False))
    try:
        return BitMap(person_ids)
    except OverflowError as err:  # a sequence number beyond 32 bits is not a base-file person_id
        raise ValueError("a person_id does not fit a 32-bit sequence number") from err


def _pair_problem(label: str, persons: BitMap, other_label: str, other: BitMap, where: str, threshold: int) -> str | None:
    small, large = (persons, other) if len(persons) <= len(other) else (other, persons)
    difference = len(large) - len(small)
    if not 0 < difference < threshold or not small.issubset(large):
        return None
    return (f"{label} ({len(persons)} persons) and {other_label} ({len(other)} persons, {where}) count nested sets "
            f"of persons differing by {difference} (< {threshold}): their difference would publish a small group")


def nested_pairs(candidates: dict[str, BitMap], threshold: int = DEFAULT_THRESHOLD, exempt: Exempt = None) -> list[str]:
    """Pairs of `candidates` (one release's published cells) whose sets are nested and differ
    by 1..threshold-1 persons; each pair named once."""
    by_count: dict[int, list[str]] = defaultdict(list)
    for label, persons in candidates.items():
        by_count[len(persons)].append(label)
    problems = []
    for count in sorted(by_count):
        for larger in range(count + 1, count + threshold):
            for label in by_count[count]:
                for other in by_count.get(larger, ()):
                    if exempt is not None and exempt(label, other):
                        continue
                    problem = _pair_problem(label, candidates[label], other, candidates[other], "same request",
                                            threshold)
                    if problem:
                        problems.append(problem)
    return problems


class PersonSetStore:
    """The person sets of every published count cell, in a SQLite database the caller owns.

    >>> store = PersonSetStore(sqlite3.connect(":memory:")); store.create_schema()
    >>> store.add("R0001", [("a", 12, BitMap(range(12)))])
    1
    >>> store.nested_problems({"b": BitMap(range(11))})[0].startswith("b (11 persons) and a (12 persons")
    True
    """

    TABLE = "released_person_sets"

    def __init__(self, connection: sqlite3.Connection):
        self.connection = connection

    def create_schema(self) -> None:
        self.connection.execute(
            f"create table if not exists {self.TABLE} ("
            " release_id text not null,"
            " label text not null,"
            " n_persons integer not null,"
            " persons blob not null,"
            " primary key (release_id, label))")
        self.connection.execute(f"create index if not exists {self.TABLE}_by_count on {self.TABLE} (n_persons)")

    def add(self, release_id: str, cells: Iterable[PersonCell]) -> int:
        """Record a release's published cells; returns how many. Does not commit."""
        rows = []
        for label, count, persons in cells:
            if count != len(persons):
                raise ValueError(f"{label}: count {count} but {len(persons)} persons in its set")
            persons = BitMap(persons)
            persons.run_optimize()
            rows.append((release_id, label, count, persons.serialize()))
        self.connection.executemany(
            f"insert into {self.TABLE} (release_id, label, n_persons, persons) values (?, ?, ?, ?)", rows)
        return len(rows)

    def near(self, count: int, within: int) -> Iterator[tuple[str, str, int, bytes]]:
        """Stored cells whose count differs from `count` by 1..within."""
        yield from self.connection.execute(
            f"select release_id, label, n_persons, persons from {self.TABLE} "
            "where n_persons between ? and ? and n_persons <> ?", (count - within, count + within, count))

    def nested_problems(self, candidates: dict[str, BitMap], threshold: int = DEFAULT_THRESHOLD,
                        exempt: Exempt = None) -> list[str]:
        """One line per pair of nested sets differing by 1..threshold-1 persons: a candidate
        (a cell the request would publish) with a stored (published) cell, or two candidates.
        `exempt(label, other)`: pairs left to the table's own protection (none by default)."""
        problems = nested_pairs(candidates, threshold, exempt)
        by_count: dict[int, list[str]] = defaultdict(list)
        for label, persons in candidates.items():
            by_count[len(persons)].append(label)
        counts = sorted(by_count)
        if not counts:
            return problems
        # one pass over the stored cells whose counts come near some candidate's
        rows = self.connection.execute(
            f"select release_id, label, n_persons, persons from {self.TABLE} where n_persons between ? and ?",
            (counts[0] - threshold + 1, counts[-1] + threshold - 1))
        for release_id, label, n, blob in rows:
            near = [c for c in range(n - threshold + 1, n + threshold) if c != n and c in by_count]
            if not near:
                continue
            stored = BitMap.deserialize(blob)
            for count in near:
                for candidate in by_count[count]:
                    if exempt is not None and exempt(candidate, label):
                        continue
                    problem = _pair_problem(candidate, candidates[candidate], label, stored,
                                            f"released in {release_id}", threshold)
                    if problem:
                        problems.append(problem)
        return problems

    def size(self) -> tuple[int, int]:
        """(cells stored, bytes of their serialized sets)."""
        n, size = self.connection.execute(
            f"select count(*), coalesce(sum(length(persons)), 0) from {self.TABLE}").fetchone()
        return int(n), int(size)


def open_file_store(restricted_dir: str | Path) -> tuple[sqlite3.Connection, PersonSetStore]:
    """The file-based review's store: `person_sets.sqlite` on the restricted side (until the
    release service owns the state)."""
    restricted_dir = Path(restricted_dir)
    restricted_dir.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(restricted_dir / PERSON_SET_FILE)
    store = PersonSetStore(connection)
    store.create_schema()
    connection.commit()
    return connection, store


# --- a request's cells in one file (kept with the request until it is released) -------------

_HEADER = b"WSEPS1\n"


def dump_cells(cells: Iterable[PersonCell]) -> bytes:
    parts = [_HEADER]
    for label, count, persons in cells:
        name, blob = label.encode("utf-8"), BitMap(persons).serialize()
        parts.append(struct.pack("<IQI", len(name), count, len(blob)) + name + blob)
    return b"".join(parts)


def load_cells(data: bytes) -> list[PersonCell]:
    if not data.startswith(_HEADER):
        raise ValueError("not a person-set file")
    cells, at = [], len(_HEADER)
    while at < len(data):
        n_name, count, n_blob = struct.unpack_from("<IQI", data, at)
        at += struct.calcsize("<IQI")
        label = data[at:at + n_name].decode("utf-8")
        at += n_name
        cells.append((label, count, BitMap.deserialize(data[at:at + n_blob])))
        at += n_blob
    return cells
