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


def test_the_index_finds_what_comparing_every_pair_finds():
    import random

    rng = random.Random(19)
    base = [BitMap(rng.sample(range(400), rng.randint(10, 60))) for _ in range(40)]
    sets = {}
    for i, persons in enumerate(base):
        sets[f"s{i}"] = persons
        for j in range(3):  # nested variants: some persons removed or added, a few at the low end
            variant = BitMap(persons)
            for person in rng.sample(list(persons), rng.randint(0, 12)):
                variant.discard(person)
            variant.update(rng.sample(range(400), rng.randint(0, 3)))
            sets[f"s{i}v{j}"] = variant
    expected = set()
    labels = sorted(sets)
    for a in labels:
        for b in labels:
            small, large = sets[a], sets[b]
            if a != b and 0 < len(large) - len(small) < 10 and small.issubset(large):
                expected.add((a, b))
    found = {(line.split(" ")[0], line.split(" and ")[1].split(" ")[0]) for line in nested_pairs(sets)}
    assert found == expected and expected
    # the same against a store
    _, store = _store()
    half = labels[: len(labels) // 2]
    store.add("R0001", [(label, len(sets[label]), sets[label]) for label in half])
    rest = {label: sets[label] for label in labels[len(labels) // 2:]}
    across = {(a, b) for a, b in expected if (a in rest) != (b in rest)}
    within = {(a, b) for a, b in expected if a in rest and b in rest}
    lines = store.nested_problems(rest)
    found = {tuple(sorted((line.split(" ")[0], line.split(" and ")[1].split(" ")[0]))) for line in lines}
    assert found == {tuple(sorted(pair)) for pair in across | within}


def test_two_cells_of_one_project_output_are_left_to_its_protection_not_an_aggregate():
    from wse_impact.release.export import person_set_problems

    _, store = _store()
    cells = [('socio ["2015Q2"]', 12, BitMap(range(12))), ('socio ["2015Q3"]', 11, BitMap(range(11)))]
    assert person_set_problems(cells, store, 10, project_outputs=["socio"]) == []
    assert len(person_set_problems(cells, store, 10)) == 1, "a researcher's aggregate: the researcher chose the rows"
    # the same cell of a project output in a later release is checked
    store.add("R0001", [('socio ["2015Q2"]', 12, BitMap(range(12)))])
    later = [('socio ["2015Q2"]', 11, BitMap(range(11)))]
    assert len(person_set_problems(later, store, 10, project_outputs=["socio"])) == 1
