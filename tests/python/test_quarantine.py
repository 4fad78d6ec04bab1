"""Row problems never stop the build and never vanish (issue 4).

One small hand-made landing set holds one bad row per case of the issue, next to valid
rows; the real `dbt build` must pass, every bad row must land in `intermediate.quarantine`
(restricted database) with its source, file, line, INSZ as received and every reason that
applies, and per source rows read = rows accepted + rows quarantined.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import build_pipeline
from handmade_landing import (BENEFICIARIES, CONTROLS, declared_sources, insz, measure_row, write_clean_landing,
                              write_control_sample, write_measure, write_snapshot)

VOP = "vop"
GOOD_VOP = [BENEFICIARIES[0], BENEFICIARIES[1]]  # lines 2 and 3 of the clean vop.csv

# line in measures/vop.csv -> (INSZ as received, changes to a valid row, reasons expected)
VOP_CASES = {
    "INSZ malformed": ("1234567890", {}, ["INSZ malformed"]),
    "INSZ failing its checksum": (insz("820101", 11)[:-2] + "00", {}, ["checksum"]),
    "quarter malformed": (insz("820101", 13), {"kwartaal_eerste_toekenning": "2019-3"}, ["malformed", "2019-3"]),
    "quarter out of range": (insz("820101", 15), {"kwartaal_eerste_toekenning": "2013Q4"}, ["2013Q4"]),
    "end before start": (insz("820101", 17), {"kwartaal_eerste_toekenning": "2020Q3", "kwartaal_laatste_toekenning": "2018Q2"},
                         ["before start"]),
    "negative amount": (insz("820101", 19), {"totaal_bedrag": "-5.00"}, ["negative"]),
    "non-numeric amount": (insz("820101", 23), {"totaal_bedrag": "12,5O"}, ["totaal_bedrag"]),
    "unknown code": (insz("820101", 25), {"type_toelage": "XX"}, ["unknown", "XX"]),
    "several problems at once": (insz("820101", 27), {"totaal_bedrag": "-1.00", "dossiertype": "ZZZ"},
                                 ["negative", "ZZZ"]),
    # an older use of a person whose most recent use (line 2) is valid: kept line 2
    "person twice in one extract": (BENEFICIARIES[0], {"kwartaal_eerste_toekenning": "2015Q1",
                                                       "kwartaal_laatste_toekenning": "2016Q2"}, ["twice"]),
}
UNKNOWN_CONTROL = insz("770707", 31)  # valid INSZ, no warehouse record
DOUBLE_SNAPSHOT_QUARTER = "2018Q1"


@pytest.fixture(scope="module")
def quarantine_build(tmp_path_factory):
    root = tmp_path_factory.mktemp("quarantine_build")
    landing = write_clean_landing(root / "landing")
    columns = declared_sources()[f"wse.{VOP}"]
    rows = [measure_row(VOP, columns, person, i) for i, person in enumerate(GOOD_VOP)]
    for case, (person, changes, _reasons) in VOP_CASES.items():
        rows.append({**measure_row(VOP, columns, person), "insz": person, **changes})
    write_measure(landing, VOP, rows, [c["name"] for c in columns])
    # the same person twice in one snapshot quarter (a second file of the partition)
    write_snapshot(landing, DOUBLE_SNAPSHOT_QUARTER, [CONTROLS[0]], file_name="part-1.parquet")
    write_control_sample(landing, [*CONTROLS, UNKNOWN_CONTROL])
    return build_pipeline(root, landing)  # raises if the build stops


def vop_line(case: str) -> int:
    return 2 + len(GOOD_VOP) + list(VOP_CASES).index(case)


def quarantine_rows(pipeline) -> list[dict]:
    con = pipeline.restricted()
    try:
        cur = con.execute("select * from intermediate.quarantine")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]
    finally:
        con.close()


@pytest.mark.parametrize("case", list(VOP_CASES))
def test_bad_measure_row_is_quarantined_with_its_reasons(quarantine_build, case):
    person, _changes, reasons = VOP_CASES[case]
    line = vop_line(case)
    rows = [r for r in quarantine_rows(quarantine_build)
            if r["source_name"] == f"wse.{VOP}" and r["source_line_number"] == line]
    assert len(rows) == 1, f"{case}: line {line} of measures/vop.csv not in quarantine exactly once: {rows}"
    row = rows[0]
    assert Path(row["source_file"]).as_posix().endswith("measures/vop.csv")
    assert row["insz"] == person, "the INSZ must be kept as received"
    for reason in reasons:
        assert reason.lower() in row["reasons"].lower(), f"{case}: {reason!r} not in {row['reasons']!r}"
    if case == "several problems at once":
        assert "; " in row["reasons"], "every reason that applies, '; '-joined"


def test_valid_rows_are_not_quarantined(quarantine_build):
    lines = {r["source_line_number"] for r in quarantine_rows(quarantine_build) if r["source_name"] == f"wse.{VOP}"}
    assert not lines & {2, 3}, "the valid vop rows (and the most recent use of the duplicated person) are kept"
    assert not [r for r in quarantine_rows(quarantine_build) if r["source_name"] != f"wse.{VOP}"
                and r["source_name"] not in ("dwh.snapshots", "dwh.control_sample")]


def test_person_twice_in_one_snapshot_quarter(quarantine_build):
    rows = [r for r in quarantine_rows(quarantine_build)
            if r["source_name"] == "dwh.snapshots" and r["insz"] == CONTROLS[0]]
    assert len(rows) == 1, rows
    assert "twice" in rows[0]["reasons"] and DOUBLE_SNAPSHOT_QUARTER in rows[0]["reasons"]
    assert f"quarter={DOUBLE_SNAPSHOT_QUARTER}" in rows[0]["source_file"]
    assert rows[0]["source_line_number"] is not None


def test_control_insz_without_warehouse_record(quarantine_build):
    rows = [r for r in quarantine_rows(quarantine_build) if r["source_name"] == "dwh.control_sample"]
    assert [r["insz"] for r in rows] == [UNKNOWN_CONTROL]
    assert "no warehouse record" in rows[0]["reasons"]
    assert rows[0]["source_line_number"] == len(CONTROLS) + 2


def test_rows_read_equal_accepted_plus_quarantined(quarantine_build):
    con = quarantine_build.restricted()
    try:
        rec = {r[0]: r[1:] for r in con.execute(
            "select source_name, rows_read, rows_accepted, rows_quarantined from intermediate.reconciliation").fetchall()}
        staged = con.execute(f"select count(*) from staging.stg_wse__{VOP}").fetchone()[0]
    finally:
        con.close()
    assert set(rec) == set(declared_sources()), "one reconciliation row per declared source"
    for source, (read, accepted, quarantined) in rec.items():
        assert read == accepted + quarantined, f"{source}: {read} read != {accepted} accepted + {quarantined} quarantined"
    assert rec[f"wse.{VOP}"] == (staged, len(GOOD_VOP), len(VOP_CASES))
    assert rec["dwh.control_sample"][2] == 1
