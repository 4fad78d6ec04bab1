"""Real deliveries are safe (issue 10).

- `make build` on a folder holding a delivery builds that delivery as it is: every file's
  SHA-256 is unchanged afterwards, nothing is added or removed, and the base files hold the
  delivery's persons (not synthetic data of another scale).
- The generator refuses, touching nothing, a folder it did not write, a folder whose listed
  files changed, and a manifest that points outside its folder; in its own folder it removes
  only what its manifest lists.
- Damaged lines (too many or too few fields, an unbalanced quote, text after a closing quote,
  bytes that are not UTF-8) are quarantined with their true line number (also after a quoted
  field holding a line break), their reason and the line as read; the rest is built and
  everything reconciles.
- The delivery record: per file its path, size, SHA-256 and rows; the same delivery gives
  the same id in two builds, another delivery another id; the research database holds only
  the id.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from conftest import BIN_DIR, PROJECT_DIR, TEST_KEY, build_pipeline
from test_quarantine import quarantine_rows
from wse_impact.generate import MANIFEST, LandingFolderRefused, generate_landing


def file_states(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file under the folder: relative path -> (SHA-256, modification time)."""
    return {p.relative_to(folder).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def delivery_copy(landing_dir: Path, to: Path) -> Path:
    """A delivery as a data manager receives it: the files, no generator manifest."""
    shutil.copytree(landing_dir, to)
    (to / MANIFEST).unlink()
    return to


def query(db: Path, sql: str):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def valid_insz_of(csv_files: list[Path]) -> set[str]:
    from wse_impact.landing.insz import is_valid_insz

    found = set()
    for path in csv_files:
        for line in path.read_text(encoding="utf-8").splitlines()[1:]:
            insz = line.split(";")[0]
            if is_valid_insz(insz):
                found.add(insz)
    return found


# ----------------------------------------------------------------------------- make build on a delivery


def test_make_build_builds_a_delivery_as_it_is(landing_dir, tmp_path):
    delivery = delivery_copy(landing_dir, tmp_path / "delivery")
    before = file_states(delivery)
    warehouse = tmp_path / "warehouse"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WSE_", "MAKE", "MFLAGS"))}
    env.update(WSE_LANDING_DIR=str(delivery), WSE_WAREHOUSE_DIR=str(warehouse), WSE_PSEUDONYM_KEY=TEST_KEY,
               DBT_TARGET_PATH=str(tmp_path / "target"), DBT_LOG_PATH=str(tmp_path / "logs"))
    # the README's command, with make's default SCALE (1.0): a generator run would be visible
    proc = subprocess.run(["make", "build"], cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "as it is" in proc.stdout

    assert file_states(delivery) == before, "make build changed, added or removed a file of the delivery"
    research = warehouse / "wse_impact.duckdb"
    beneficiaries = query(research, "select count(distinct person_id) from marts.beneficiary_base")[0][0]
    controls = query(research, "select count(distinct person_id) from marts.control_base")[0][0]
    assert beneficiaries == len(valid_insz_of(sorted((delivery / "measures").glob("*.csv"))))
    assert controls == len(valid_insz_of([delivery / "dwh" / "control_sample.csv"]))
    recorded = dict(query(warehouse / "restricted.duckdb", "select file_path, file_sha256 from intermediate.delivery_files"))
    assert recorded == {name: sha for name, (sha, _mtime) in before.items()}, "the delivery record names every file read"


def test_make_build_of_a_delivery_needs_its_own_key(landing_dir, tmp_path):
    delivery = delivery_copy(landing_dir, tmp_path / "delivery")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WSE_", "MAKE", "MFLAGS"))}
    env.update(WSE_LANDING_DIR=str(delivery), WSE_WAREHOUSE_DIR=str(tmp_path / "warehouse"),
               DBT_TARGET_PATH=str(tmp_path / "target"), DBT_LOG_PATH=str(tmp_path / "logs"))
    proc = subprocess.run(["make", "dbt-build"], cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "WSE_PSEUDONYM_KEY is not set" in proc.stdout + proc.stderr, "a delivery must not be built with the demo key"


# ----------------------------------------------------------------------------- the generator


def test_generator_refuses_a_delivery_touching_nothing(landing_dir, tmp_path):
    delivery = delivery_copy(landing_dir, tmp_path / "delivery")
    before = file_states(delivery)
    with pytest.raises(LandingFolderRefused, match="looks like a delivery"):
        generate_landing(out=delivery, scale=0.005, seed=1, if_missing=True, progress=False)
    cli = subprocess.run([str(BIN_DIR / "wse-impact"), "generate", "--scale", "0.005", "--out", str(delivery), "--quiet"],
                         capture_output=True, text=True)
    assert cli.returncode == 2
    assert "refusing to write into" in cli.stderr and "Nothing was changed" in cli.stderr
    assert file_states(delivery) == before


def test_generator_refuses_a_non_empty_folder_of_any_kind(tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "README.txt").write_text("mine\n")
    with pytest.raises(LandingFolderRefused):
        generate_landing(out=folder, scale=0.005, seed=1, progress=False)
    assert [p.name for p in folder.iterdir()] == ["README.txt"]
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    with pytest.raises(LandingFolderRefused, match="not a folder"):
        generate_landing(out=a_file, scale=0.005, seed=1, progress=False)


@pytest.fixture
def generated(tmp_path) -> Path:
    out = tmp_path / "synthetic"
    generate_landing(out=out, scale=0.005, seed=1, progress=False)
    return out


def test_generator_refuses_when_a_listed_file_changed(generated):
    vop = generated / "measures" / "vop.csv"
    vop.write_bytes(vop.read_bytes() + b"85073100328;2020Q1;2020Q2;1.00;1;N;ZS;NIEUW\n")  # a delivery's line
    before = file_states(generated)
    with pytest.raises(LandingFolderRefused, match="changed since they were generated.*measures/vop.csv"):
        generate_landing(out=generated, scale=0.005, seed=2, if_missing=True, progress=False)
    assert file_states(generated) == before


def test_generator_refuses_a_manifest_pointing_outside(generated, tmp_path):
    outside = tmp_path / "precious.csv"
    outside.write_text("do not delete\n")
    manifest = json.loads((generated / MANIFEST).read_text())
    manifest["checksums"]["../precious.csv"] = {"bytes": outside.stat().st_size,
                                                "sha256": hashlib.sha256(outside.read_bytes()).hexdigest()}
    (generated / MANIFEST).write_text(json.dumps(manifest))
    before = file_states(generated)
    with pytest.raises(LandingFolderRefused, match="not inside the folder"):
        generate_landing(out=generated, scale=0.005, seed=2, progress=False)
    assert outside.read_text() == "do not delete\n" and file_states(generated) == before


def test_generator_refuses_a_listed_file_replaced_by_a_link(generated, tmp_path):
    """A listed file swapped for a symbolic link to a file elsewhere: neither is removed."""
    precious = tmp_path / "precious.csv"
    precious.write_text("a delivery's extract\n")
    vop = generated / "measures" / "vop.csv"
    vop.unlink()
    vop.symlink_to(precious)
    with pytest.raises(LandingFolderRefused, match="changed since they were generated.*measures/vop.csv"):
        generate_landing(out=generated, scale=0.005, seed=2, progress=False)
    assert vop.is_symlink() and precious.read_text() == "a delivery's extract\n"


def test_generator_replaces_only_its_own_files(generated):
    mine = generated / "measures" / "notes_of_the_data_manager.txt"
    mine.write_text("kept\n")
    first = json.loads((generated / MANIFEST).read_text())
    generate_landing(out=generated, scale=0.005, seed=2, if_missing=True, progress=False)
    second = json.loads((generated / MANIFEST).read_text())
    assert (first["seed"], second["seed"]) == (1, 2)
    assert mine.read_text() == "kept\n", "a file the generator did not write was removed"
    assert set(second["checksums"]) == set(second["files"])
    for name, entry in second["checksums"].items():
        assert hashlib.sha256((generated / name).read_bytes()).hexdigest() == entry["sha256"]
    # a file the new manifest does not list (a planted snapshot) would be a clash: refused, not overwritten
    generate_landing(out=generated, scale=0.005, seed=2, if_missing=True, progress=False)  # current: nothing to do
    assert file_states(generated)["measures/notes_of_the_data_manager.txt"][0] == hashlib.sha256(b"kept\n").hexdigest()


def test_generator_never_overwrites_a_file_it_did_not_list(tmp_path):
    out = tmp_path / "half"
    (out / "measures").mkdir(parents=True)
    (out / "measures" / "vop.csv").write_text("insz\nnot yours\n")
    (out / MANIFEST).write_text(json.dumps({"generator_version": "2", "scale": 1.0, "seed": 1, "checksums": {}}))
    with pytest.raises(LandingFolderRefused, match="already holds files.*measures/vop.csv"):
        generate_landing(out=out, scale=0.005, seed=1, progress=False)
    assert (out / "measures" / "vop.csv").read_text() == "insz\nnot yours\n"
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "measures"], "the work folder is cleaned up"


# ----------------------------------------------------------------------------- damaged lines are rows


# the damaged landing and its DuckDB build: fixture `damaged_build` in conftest.py (shared with the
# Spark end-to-end test, which builds the same landing on Spark)


def test_each_damaged_line_is_quarantined_with_its_line_and_reason(damaged_build):
    pipeline, planted, _start, _landing = damaged_build
    rows = {(r["source_file"], r["source_line_number"]): r for r in quarantine_rows(pipeline)}
    for (file, line), (reason, raw, _insz) in planted.items():
        assert (file, line) in rows, f"{file} line {line} ({reason}) is not in the quarantine"
        row = rows[(file, line)]
        assert row["reasons"] == f"damaged line: {row['reasons'][len('damaged line: '):]}" and reason in row["reasons"], row
        assert row["raw_line"] == raw, "the damaged line is kept as read"


def test_a_quoted_line_break_is_one_record_on_its_first_line(damaged_build):
    pipeline, _planted, (start, _insz), _landing = damaged_build
    con = pipeline.restricted()
    try:
        records = con.execute("select source_line_number, line_problem, first_grant_quarter "
                              "from staging.stg_wse__doelgroepvermindering where source_line_number between ? and ?",
                              [start - 1, start + 2]).fetchall()
    finally:
        con.close()
    assert [r[0] for r in records] == [start - 1, start, start + 2], "one record for the two lines of the quoted field"
    assert records[1][1] is None and "\n" in records[1][2], "read as a record, the line break inside its field"


def test_nothing_else_is_lost(damaged_build):
    pipeline, planted, (start, multi_line_insz), _landing = damaged_build
    damaged_persons = {insz for (_f, _l), (_r, _raw, insz) in planted.items()} | {multi_line_insz}
    unexpected = []
    for row in quarantine_rows(pipeline):
        key = (row["source_file"], row["source_line_number"])
        if key in planted or key == ("measures/doelgroepvermindering.csv", start):
            continue  # planted; the quoted line break put a line break in a quarter: quarantined for it
        if row["source_name"] == "dwh.snapshots" and row["insz"] in damaged_persons \
                and row["reasons"].startswith("person not in the study population"):
            continue  # the warehouse rows of a person whose only line was damaged
        unexpected.append(row)
    assert unexpected == []


def test_damaged_lines_reconcile_file_by_file(damaged_build):
    pipeline, planted, _start, landing = damaged_build
    con = pipeline.restricted()
    try:
        assert con.execute("select count(*) from intermediate.reconciliation where not is_reconciled").fetchone()[0] == 0
        files = {r[0]: r[1:] for r in con.execute(
            "select file_path, rows_read, rows_accepted, rows_quarantined, file_sha256 from intermediate.delivery_files").fetchall()}
    finally:
        con.close()
    for name, (read, accepted, quarantined, sha) in files.items():
        assert read == accepted + quarantined, name
        assert sha == hashlib.sha256((landing / name).read_bytes()).hexdigest(), name
    # every non-blank line after the header is a row read
    for name in ("measures/doelgroepvermindering.csv", "measures/maatwerk.csv", "dwh/control_sample.csv"):
        lines = (landing / name).read_bytes().split(b"\n")[1:-1]
        expected = len(lines) - (1 if name.endswith("doelgroepvermindering.csv") else 0)  # one record on two lines
        assert files[name][0] == expected, name


def test_a_file_mostly_damaged_still_stops_the_build(landing_dir, tmp_path):
    from wse_impact.landing.check import check_sources, sources_from_yaml

    landing = Path(shutil.copytree(landing_dir, tmp_path / "landing"))
    amif = landing / "measures" / "amif.csv"
    lines = amif.read_text(encoding="utf-8").splitlines()
    amif.write_text("\n".join([lines[0], *(line + ";x" for line in lines[1:])]) + "\n", encoding="utf-8")
    problems = check_sources(sources_from_yaml(PROJECT_DIR, str(landing)))
    assert len(problems) == 1 and problems[0].startswith(
        f"measures/amif.csv: {len(lines) - 1} of {len(lines) - 1} data lines damaged (more than 10%"), problems


# ----------------------------------------------------------------------------- the delivery record


def _delivery(pipeline) -> tuple[str, str]:
    restricted = query(pipeline.restricted_db, "select delivery_id, n_files from intermediate.delivery")
    research = query(pipeline.research_db, "select delivery_id from marts.base_file_delivery")
    assert len(restricted) == 1 and research == [(restricted[0][0],)], "the research db carries the delivery's id"
    return restricted[0]


def test_the_same_delivery_gives_the_same_id(pipeline, landing_dir, tmp_path, damaged_build):
    first_id, n_files = _delivery(pipeline)
    again = build_pipeline(tmp_path / "again", landing_dir)
    assert _delivery(again)[0] == first_id
    expected = hashlib.sha256("\n".join(
        f"{name} {(landing_dir / name).stat().st_size} {sha}"
        for name, (sha, _m) in sorted(file_states(landing_dir).items()) if name != MANIFEST).encode()).hexdigest()
    assert first_id == expected, "the id is the SHA-256 of the record of the files read"
    assert n_files == len(file_states(landing_dir)) - 1
    assert _delivery(damaged_build[0])[0] != first_id, "another delivery, another id"


def test_the_research_database_holds_no_path_of_the_delivery(pipeline):
    assert query(pipeline.research_db, "select column_name from information_schema.columns "
                                       "where table_name = 'base_file_delivery' order by ordinal_position") \
        == [("delivery_id",)]
    raw = pipeline.research_db.read_bytes()
    for needle in (str(pipeline.landing_dir), "control_sample.csv", "measures/"):
        assert needle.encode() not in raw, f"{needle!r} is stored in the research database"
