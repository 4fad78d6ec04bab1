"""Structural problems of the landing files stop the build, naming the file and the problem.

Each case starts from a small, complete, valid hand-made landing set and breaks one thing.
The checker is tested directly for every case (fast), then the real `dbt build` is run on a
set broken in several ways at once (it must stop before building anything and name every
file and problem), and on the clean set (it must pass the hook and build staging).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from conftest import BIN_DIR, PROJECT_DIR, dbt_env, run_dbt
from handmade_landing import PERSONS, declared_sources, write_clean_landing, write_snapshot
from wse_impact.landing.check import check_sources, sources_from_yaml


@pytest.fixture(scope="module")
def clean_landing(tmp_path_factory) -> Path:
    return write_clean_landing(tmp_path_factory.mktemp("clean_landing"))


@pytest.fixture
def landing(clean_landing, tmp_path) -> Path:
    """A private copy of the clean set, to break."""
    return Path(shutil.copytree(clean_landing, tmp_path / "landing"))


def problems_of(landing: Path) -> list[str]:
    return check_sources(sources_from_yaml(PROJECT_DIR, str(landing)))


def rewrite_lines(path: Path, edit) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(edit(lines)) + "\n", encoding="utf-8")


def test_clean_set_has_no_problem(clean_landing):
    assert problems_of(clean_landing) == []


def test_every_declared_source_is_checked(clean_landing):
    checked = {s.name for s in sources_from_yaml(PROJECT_DIR, str(clean_landing))}
    assert checked == set(declared_sources()), "a declared source escapes the structural check"


# --- one problem at a time: (break the set) -> the one expected message


def _missing_file(l):
    (l / "measures" / "maatwerk.csv").unlink()


def _missing_column(l):
    rewrite_lines(l / "measures" / "vop.csv",
                  lambda ls: [";".join(f for i, f in enumerate(x.split(";")) if i != 3) for x in ls])


def _renamed_column(l):
    rewrite_lines(l / "measures" / "vop.csv", lambda ls: [ls[0].replace("totaal_bedrag", "bedrag"), *ls[1:]])


def _wrong_delimiter(l):
    rewrite_lines(l / "measures" / "amif.csv", lambda ls: [x.replace(";", ",") for x in ls])


def _wrong_delimiter_in_data(l):
    rewrite_lines(l / "measures" / "amif.csv", lambda ls: [ls[0], *(x.replace(";", ",") for x in ls[1:])])


def _windows_1252(l):
    path = l / "measures" / "transitiepremie.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].rsplit(";", 1)[0] + ";Coöperatieve vennootschap"
    path.write_bytes(("\n".join(lines) + "\n").encode("cp1252"))


def _empty_file(l):
    (l / "measures" / "duaal_leren.csv").write_bytes(b"")


def _header_only(l):
    rewrite_lines(l / "measures" / "opleidingscheques.csv", lambda ls: ls[:1])


def _extra_column(l):
    rewrite_lines(l / "measures" / "vop.csv", lambda ls: [ls[0] + ";rijksregister_naam", *(x + ";Jansens" for x in ls[1:])])


def _control_sample_missing(l):
    (l / "dwh" / "control_sample.csv").unlink()


def _snapshot_column_missing(l):
    write_snapshot(l, "2019Q2", PERSONS, drop=("dagloon",))


def _snapshot_column_other_type(l):
    write_snapshot(l, "2017Q4", PERSONS, overrides={"brutoloon_kwartaal": "cast('9001.00' as varchar)"})


def _snapshot_integer_width(l):
    write_snapshot(l, "2015Q1", PERSONS, overrides={"dagen_tewerkstelling": "cast(62 as bigint)"})


def _snapshot_not_parquet(l):
    (l / "dwh" / "snapshots" / "quarter=2020Q1" / "part-0.parquet").write_text("insz;quarter\n", encoding="utf-8")


def _snapshot_partition_empty(l):
    for f in (l / "dwh" / "snapshots" / "quarter=2021Q3").iterdir():
        f.unlink()


def _no_snapshots(l):
    shutil.rmtree(l / "dwh" / "snapshots")


CASES = {
    "missing file": (_missing_file, "measures/maatwerk.csv: file missing"),
    "missing column": (_missing_column, "measures/vop.csv: column 'totaal_bedrag' missing"),
    "renamed column": (_renamed_column, "measures/vop.csv: column 'totaal_bedrag' missing (found 'bedrag')"),
    "wrong delimiter": (_wrong_delimiter, "measures/amif.csv: one column found: wrong delimiter? expected ';', the header seems to use ','"),
    "wrong delimiter in data lines": (_wrong_delimiter_in_data, "measures/amif.csv: 2 of 2 data lines damaged (more than 10%: not the declared layout): line 2 has 1 field, expected 6, line 3 has 1 field, expected 6 (wrong delimiter in the data lines? expected ';')"),
    "Windows-1252": (_windows_1252, "measures/transitiepremie.csv: not valid UTF-8 at line 3 (Windows-1252? byte 0xf6 would be 'ö' there)"),
    "empty file": (_empty_file, "measures/duaal_leren.csv: empty file (0 rows, no header)"),
    "header only": (_header_only, "measures/opleidingscheques.csv: empty file (a header but no data rows)"),
    "undeclared column": (_extra_column, "measures/vop.csv: unexpected column 'rijksregister_naam'"),
    "control sample missing": (_control_sample_missing, "dwh/control_sample.csv: file missing"),
    "snapshot column missing": (_snapshot_column_missing, "dwh/snapshots/quarter=2019Q2/part-0.parquet: column 'dagloon' missing"),
    "snapshot column of another type": (_snapshot_column_other_type, "dwh/snapshots/quarter=2017Q4/part-0.parquet: column 'brutoloon_kwartaal' is VARCHAR, declared DECIMAL(12,2)"),
    "snapshot integer width": (_snapshot_integer_width, "dwh/snapshots/quarter=2015Q1/part-0.parquet: column 'dagen_tewerkstelling' is BIGINT, declared INTEGER"),
    "snapshot not parquet": (_snapshot_not_parquet, "dwh/snapshots/quarter=2020Q1/part-0.parquet: not a readable Parquet file"),
    "snapshot partition empty": (_snapshot_partition_empty, "dwh/snapshots/quarter=2021Q3: partition folder holds no file matching '*.parquet'"),
    "no snapshots at all": (_no_snapshots, "dwh/snapshots/quarter=*/*.parquet: no file matches"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_checker_names_file_and_problem(landing, case):
    breaker, expected = CASES[case]
    breaker(landing)
    problems = problems_of(landing)
    assert len(problems) == 1, f"{case}: expected exactly one problem, got {problems}"
    assert problems[0].startswith(expected), f"{case}: {problems[0]!r} does not start with {expected!r}"


def test_all_problems_listed_at_once(landing):
    for case in ("missing file", "renamed column", "Windows-1252", "snapshot column of another type"):
        CASES[case][0](landing)
    problems = problems_of(landing)
    assert len(problems) == 4, problems


def test_utf8_byte_order_mark_is_accepted(landing):
    path = landing / "measures" / "vop.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert problems_of(landing) == []
    # and DuckDB reads it the same way the check assumed: the first column is `insz`
    con = duckdb.connect()
    cols = [r[0] for r in con.execute(f"describe select * from read_csv('{path}', delim=';', header=true, all_varchar=true)").fetchall()]
    assert cols[0] == "insz"


def test_cli_check_landing(landing):
    cli = [str(BIN_DIR / "wse-impact"), "check-landing", "--project-dir", str(PROJECT_DIR), "--landing-dir", str(landing)]
    ok = subprocess.run(cli, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    _renamed_column(landing)
    broken = subprocess.run(cli, capture_output=True, text=True)
    assert broken.returncode == 1
    assert "measures/vop.csv: column 'totaal_bedrag' missing (found 'bedrag')" in broken.stderr


# --- the real dbt build


def test_dbt_build_stops_naming_every_file_and_problem(landing, tmp_path):
    breakers = ["missing file", "renamed column", "wrong delimiter", "Windows-1252", "empty file",
                "snapshot column missing", "snapshot column of another type"]
    for case in breakers:
        CASES[case][0](landing)
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    proc = run_dbt(["build"], dbt_env(landing, warehouse), tmp_path / "target", check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, "dbt build passed on a structurally broken landing set"
    assert f"Landing files are structurally broken ({len(breakers)} problems)" in output, output[-4000:]
    for case in breakers:
        assert CASES[case][1] in output, f"{case}: {CASES[case][1]!r} not in dbt's output:\n{output[-4000:]}"
    # nothing was built: the hook runs before any seed or model
    con = duckdb.connect(str(warehouse / "restricted.duckdb"), read_only=True)
    try:
        built = con.execute("select table_schema, table_name from information_schema.tables "
                            "where table_schema not in ('information_schema', 'main')").fetchall()
    finally:
        con.close()
    assert built == []


def test_dbt_passes_the_check_on_a_clean_set(clean_landing, tmp_path):
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    proc = run_dbt(["run", "--select", "staging"], dbt_env(clean_landing, warehouse), tmp_path / "target", check=False)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert f"Landing files: {len(declared_sources())} declared sources checked, no structural problem." in proc.stdout
    con = duckdb.connect(str(warehouse / "restricted.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*) from staging.stg_wse__vop").fetchone()[0] == 2
    finally:
        con.close()
