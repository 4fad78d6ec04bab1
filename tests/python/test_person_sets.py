"""The person-set store: nested sets differing by 1-9 persons are found, across releases and
within one; identical or overlapping-but-not-nested sets pass; the caller owns transactions."""

from __future__ import annotations

import sqlite3

from pyroaring import BitMap

from wse_impact.release.person_sets import PersonSetStore, dump_cells, load_cells, nested_pairs


def _store() -> tuple[sqlite3.Connection, PersonSetStore]:
    connection = sqlite3.connect(":memory:")
    store = PersonSetStore(connection)
    store.create_schema()
    return connection, store


def test_nested_sets_differing_by_one_to_nine_are_refused_under_any_name():
    _, store = _store()
    store.add("R0001", [("sex_by_region [\"M\"]", 50, BitMap(range(50)))])
    problems = store.nested_problems({"mine_again [\"M\"]": BitMap(range(1, 50))})
    assert len(problems) == 1
    assert "mine_again" in problems[0] and "sex_by_region" in problems[0] and "differing by 1" in problems[0]
    assert "released in R0001" in problems[0]
    # a superset by 9 is refused too, by 10 it is not
    assert store.nested_problems({"more": BitMap(range(59))})
    assert not store.nested_problems({"more": BitMap(range(60))})


def test_identical_and_overlapping_sets_pass():
    _, store = _store()
    store.add("R0001", [("a", 50, BitMap(range(50)))])
    assert not store.nested_problems({"same persons, other name": BitMap(range(50))})
    # a quarter later: one out, one in (51 persons, not nested)
    assert not store.nested_problems({"later": BitMap(range(1, 52))})


def test_pairs_within_one_request():
    assert nested_pairs({"a": BitMap(range(30)), "b": BitMap(range(29)), "c": BitMap(range(100, 130))})
    problems = nested_pairs({"a": BitMap(range(30)), "b": BitMap(range(29))})
    assert len(problems) == 1 and problems[0].startswith("b (29 persons) and a (30 persons, same request)")
    _, store = _store()
    assert store.nested_problems({"a": BitMap(range(30)), "b": BitMap(range(25))})


def test_the_caller_owns_the_transaction(tmp_path):
    path = tmp_path / "sets.sqlite"
    connection = sqlite3.connect(path)
    store = PersonSetStore(connection)
    store.create_schema()
    connection.commit()
    store.add("R0001", [("a", 12, BitMap(range(12)))])
    connection.rollback()
    assert store.size() == (0, 0)
    with connection:
        store.add("R0001", [("a", 12, BitMap(range(12)))])
    other = PersonSetStore(sqlite3.connect(path))
    assert other.size()[0] == 1
    assert other.nested_problems({"b": BitMap(range(11))})


def test_cells_round_trip_through_a_file():
    cells = [("a ✓", 3, BitMap([1, 5, 9])), ("b", 0, BitMap())]
    again = load_cells(dump_cells(cells))
    assert [(label, count, list(persons)) for label, count, persons in again] == [
        ("a ✓", 3, [1, 5, 9]), ("b", 0, [])]
