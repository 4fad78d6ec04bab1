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

import hashlib
import sqlite3
import struct
from collections import defaultdict
from itertools import islice
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


def _problem(label: str, n: int, other_label: str, m: int, where: str, difference: int, threshold: int) -> str:
    return (f"{label} ({n} persons) and {other_label} ({m} persons, {where}) count nested sets "
            f"of persons differing by {difference} (< {threshold}): their difference would publish a small group")


class _SetIndex:
    """Distinct sets with their labels, indexed so that a set nested in another differing by
    fewer than `threshold` persons is found without comparing every pair of near counts.

    If S is a subset of L and L has fewer than t persons more, at most t-1 persons of L lie
    below min(S), so min(S) is among the t smallest persons of L. Each set is indexed by its
    minimum and by each of its t smallest persons; only sets meeting in that index, with
    counts 1..t-1 apart, are compared."""

    def __init__(self, threshold: int):
        self.threshold = threshold
        self.by_content: dict[bytes, tuple[BitMap, list]] = {}
        self.by_min: dict[int, list[tuple[BitMap, list]]] = defaultdict(list)
        self.by_smallest: dict[int, list[tuple[BitMap, list]]] = defaultdict(list)

    def add(self, persons: BitMap, label, blob: bytes | None = None) -> None:
        if blob is None:
            persons = BitMap(persons)
            persons.run_optimize()
            blob = persons.serialize()
        entry = self.by_content.get(blob)
        if entry is None:
            entry = self.by_content[blob] = (persons, [])
            if len(persons):  # an empty set is never published (counts below t are suppressed)
                self.by_min[persons.min()].append(entry)
                for person in islice(persons, self.threshold):
                    self.by_smallest[person].append(entry)
        entry[1].append(label)

    def nested_with(self, persons: BitMap) -> Iterator[tuple[BitMap, list, int]]:
        """Indexed sets nested with `persons` (either way), differing by 1..t-1: (set, labels, difference)."""
        if not len(persons):
            return
        n, t = len(persons), self.threshold
        # indexed sets containing `persons`: min(persons) is among their t smallest
        for other, labels in self.by_smallest.get(persons.min(), ()):
            if n < len(other) < n + t and persons.issubset(other):
                yield other, labels, len(other) - n
        # indexed sets inside `persons`: their minimum is among its t smallest
        for person in islice(persons, t):
            for other, labels in self.by_min.get(person, ()):
                if n - t < len(other) < n and other.issubset(persons):
                    yield other, labels, n - len(other)


def nested_pairs(candidates: dict[str, BitMap], threshold: int = DEFAULT_THRESHOLD, exempt: Exempt = None) -> list[str]:
    """Pairs of `candidates` (one release's published cells) whose sets are nested and differ
    by 1..threshold-1 persons; each pair named once."""
    index = _SetIndex(threshold)
    for label, persons in candidates.items():
        index.add(persons, label)
    problems = []
    for persons, labels in index.by_content.values():
        for other, other_labels, difference in index.nested_with(persons):
            if len(other) < len(persons):
                continue  # each pair once, from its smaller set
            problems += [_problem(label, len(persons), other_label, len(other), "same request", difference, threshold)
                         for label in labels for other_label in other_labels
                         if exempt is None or not exempt(label, other_label)]
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
        `exempt(label, other)`: pairs left to the table's own protection (none by default).
        Only stored cells whose counts lie within threshold-1 of a candidate's are read, and
        each distinct set is compared once."""
        problems = nested_pairs(candidates, threshold, exempt)
        index = _SetIndex(threshold)
        for label, persons in candidates.items():
            index.add(persons, label)
        counts = sorted({len(persons) for persons, _labels in index.by_content.values()})
        # the stored cells within threshold-1 of some candidate's count: merged ranges of counts
        ranges: list[list[int]] = []
        for count in counts:
            low, high = count - threshold + 1, count + threshold - 1
            if ranges and low <= ranges[-1][1] + 1:
                ranges[-1][1] = high
            else:
                ranges.append([low, high])
        # streamed: one stored set in memory at a time; a set stored again (the same cell in
        # several releases) is compared once, by its digest
        compared: dict[bytes, tuple[int, list[tuple[BitMap, list, int]]]] = {}
        for low, high in ranges:
            for release_id, label, blob in self.connection.execute(
                    f"select release_id, label, persons from {self.TABLE} where n_persons between ? and ?",
                    (low, high)):
                digest = hashlib.blake2b(blob, digest_size=16).digest()
                if digest not in compared:
                    persons = BitMap.deserialize(blob)
                    compared[digest] = (len(persons), list(index.nested_with(persons)))
                n, nested = compared[digest]
                problems += [_problem(candidate_label, len(candidate), label, n, f"released in {release_id}",
                                      difference, threshold)
                             for candidate, candidate_labels, difference in nested
                             for candidate_label in candidate_labels
                             if exempt is None or not exempt(candidate_label, label)]
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
