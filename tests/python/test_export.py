"""The export gate on real DuckDB files: what passes is written with its report, checksums and
plot; what may not leave is refused with its reason and nothing is written."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import wse_impact.release.export as export_module
from releases import export_outputs, purge_exports
from wse_impact.release.export import (
    RELEASE_LOG,
    ExportRefused,
    passes_insz_check,
)

from wse_impact.project import retain_until as configured_retain_until

from conftest import release_service  # noqa: E402

BIN_DIR = Path(sys.executable).parent
PROJECT_DIR = Path(__file__).resolve().parents[2]
TODAY = date(2026, 6, 1)  # well inside the retention period


def insz(nine: str, born_2000: bool = False) -> str:
    base = int(("2" if born_2000 else "") + nine)
    return f"{nine}{97 - base % 97:02d}"


def standard_outputs(small_cell: bool = True, vop_total: int = 60) -> dict[str, pd.DataFrame]:
    """Hand-made standard outputs: a small cell (amif's M), a dominated mean (amif's controls
    at quarter 1), everything else publishable."""
    dims = ("sex_code", "age_class", "province_code", "education_level_code")

    def profile_rows(measure, by_sex):
        rows = [{"measure_code": measure, **{d: "Total" for d in dims}, "n_persons": sum(by_sex.values())}]
        for sex, n in by_sex.items():
            rows.append({"measure_code": measure, **{d: "Total" for d in dims}, "sex_code": sex, "n_persons": n})
        return rows

    amif_m = 6 if small_cell else 16
    profile = pd.DataFrame(profile_rows("vop", {"M": vop_total - 25, "F": 25})
                           + profile_rows("amif", {"M": amif_m, "F": 30})
                           + profile_rows("Total", {"M": vop_total - 25 + amif_m, "F": 55}))
    positions = pd.DataFrame([
        {"population_group": g, "snapshot_quarter": q, "socio_economic_position_code": c, "n_persons": n}
        for g in ("beneficiaries", "controls") for q in ("2019Q4", "2020Q1")
        for c, n in (("1.1", 150), ("2.1", 40), ("0.0", 20), ("Total", 210))
    ])
    window = []
    for measure, n_b in (("vop", vop_total), ("amif", 36 if small_cell else 46), ("Total", 70)):
        for group, n in (("beneficiaries", n_b), ("controls", 200)):
            for k in range(-4, 9):
                share = 0.5 + (0.25 if group == "beneficiaries" and k >= 0 else 0.0)
                total = 30.0 * n
                top1, top2 = 85.0, 85.0
                if measure == "amif" and group == "controls" and k == 1:
                    total, top1, top2 = 200.0, 120.0, 60.0  # two contributors hold 90 %
                window.append({"measure_code": measure, "population_group": group, "relative_quarter": k,
                               "n_persons": n, "share_employed": share, "mean_days_worked": total / n,
                               "dc_days_worked_total": total, "dc_days_worked_top1": top1,
                               "dc_days_worked_top2": top2})
    return {"beneficiaries_by_profile": profile, "socio_economic_position_by_quarter": positions,
            "employment_around_measure": pd.DataFrame(window)}


def keys_in(value) -> set[str]:
    """Every key of every object in a JSON document."""
    if isinstance(value, dict):
        return set(value) | set().union(*(keys_in(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(keys_in(v) for v in value)) if value else set()
    return set()


def write_research_db(warehouse: Path, outputs: dict[str, pd.DataFrame]) -> Path:
    warehouse.mkdir(parents=True, exist_ok=True)
    path = warehouse / "wse_impact.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists outputs")
        for name, table in outputs.items():
            con.register("frame", table)
            con.execute(f"create or replace table outputs.{name} as select * from frame")
            con.unregister("frame")
    return path


@pytest.fixture
def warehouse(tmp_path) -> Path:
    write_research_db(tmp_path / "warehouse", standard_outputs())
    return tmp_path / "warehouse"


def assert_nothing_written(export_dir: Path) -> None:
    assert not export_dir.exists() or not any(export_dir.iterdir()), list(export_dir.rglob("*"))


def test_clean_export_writes_checked_outputs_report_checksums_plot(warehouse, tmp_path):
    export_dir = tmp_path / "exports"
    result = export_outputs(warehouse, export_dir, today=TODAY)
    folder = export_dir / "2026-06-01"
    assert result.folder == folder
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(["beneficiaries_by_profile.csv", "socio_economic_position_by_quarter.csv",
                            "employment_around_measure.csv", "employment_around_measure.png",
                            "checking_report.json", "retention.yml", "SHA256SUMS"])
    assert (folder / "retention.yml").read_text() == "retain_until: 2026-12-31\n"
    # every file but the checksum file itself is listed, with its true SHA-256
    sums = dict(line.split("  ")[::-1] for line in (folder / "SHA256SUMS").read_text().splitlines())
    assert set(sums) == set(names) - {"SHA256SUMS"}
    for name, digest in sums.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest

    report = json.loads((folder / "checking_report.json").read_text())
    assert report["status"] == "passed" and report["retain_until"] == "2026-12-31"
    assert report["disclosure_rules"]["min_persons"] == 10
    assert "Fischetti" in report["disclosure_rules"]["method"]
    assert report["protection_audit"]["status"] == "passed"
    assert report["protection_audit"]["smallest_interval_width"] >= 10
    # the released report names no cell: no rule or reason per cell, no notes on cells
    assert not keys_in(report) & {"suppressions", "suppressions_by_rule", "cell", "reason", "notes", "intervals"}
    assert "amif" not in (folder / "checking_report.json").read_text()  # no cell is named

    # the custodian's report, on the restricted side next to the restricted database
    custodian_path = warehouse / "disclosure" / "checking_reports" / "2026-06-01.json"
    assert result.custodian_report == custodian_path
    custodian = json.loads(custodian_path.read_text())
    profile = custodian["outputs"]["beneficiaries_by_profile"]
    by_cell = {(s["cell"]["measure_code"], s["cell"]["sex_code"]): s for s in profile["suppressions"]}
    # the small cell, and its complement (else 36 - 30 gives it back)
    assert by_cell[("amif", "M")]["rule"] == "min_persons"
    assert by_cell[("amif", "F")]["rule"] == "secondary"
    assert all(s["reason"] for s in profile["suppressions"])
    [amif_m] = [i for i in custodian["audit"]["intervals"] if "'amif'" in i["expression"] and "'M'" in i["expression"]]
    assert amif_m["upper"] >= 10 and amif_m["upper"] - amif_m["lower"] >= 10
    window = custodian["outputs"]["employment_around_measure"]
    [dominated] = [s for s in window["suppressions"] if s["column"] == "mean_days_worked"]
    assert dominated["rule"] == "dominance"
    assert dominated["cell"] == {"measure_code": "amif", "population_group": "controls", "relative_quarter": 1}

    # the CSVs: no small cell, no contributor column, suppressed cells empty
    for csv in folder.glob("*.csv"):
        table = pd.read_csv(csv)
        assert not any(c.startswith("dc_") for c in table.columns)
        assert (table["n_persons"].dropna() >= 10).all(), csv.name
    profile_csv = pd.read_csv(folder / "beneficiaries_by_profile.csv", dtype=str)
    amif = profile_csv[profile_csv["measure_code"] == "amif"].set_index("sex_code")["n_persons"]
    assert amif.isna().to_dict() == {"Total": False, "M": True, "F": True}
    assert (folder / "employment_around_measure.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # the release log, with the true count behind every released cell, is restricted too
    assert not (export_dir / RELEASE_LOG).exists()
    log = [json.loads(line) for line in (warehouse / "disclosure" / RELEASE_LOG).read_text().splitlines()]
    assert [e["event"] for e in log] == ["export"] and log[0]["export_date"] == "2026-06-01"
    amif_m_key = json.dumps(["amif", "M", "Total", "Total", "Total"])
    assert log[0]["cells"]["beneficiaries_by_profile"][amif_m_key] == [6, None]


def test_float_noise_of_the_build_does_not_reach_the_published_files(tmp_path):
    # the same outputs, once with shares and means off in their last bits, as two builds
    # that summed in another order give
    exact = standard_outputs()
    noisy = {name: table.copy() for name, table in exact.items()}
    window = noisy["employment_around_measure"]
    window["share_employed"] = window["share_employed"] * (1 + 3e-15)
    window["mean_days_worked"] = window["mean_days_worked"] * (1 - 3e-15)
    assert not window["share_employed"].equals(exact["employment_around_measure"]["share_employed"])
    folders = []
    for label, outputs in (("exact", exact), ("noisy", noisy)):
        warehouse = tmp_path / label / "warehouse"
        write_research_db(warehouse, outputs)
        folders.append(export_outputs(warehouse, tmp_path / label / "exports", today=TODAY).folder)
    for name in ("employment_around_measure.csv", "beneficiaries_by_profile.csv"):
        assert (folders[0] / name).read_bytes() == (folders[1] / name).read_bytes(), name
    published = pd.read_csv(folders[0] / "employment_around_measure.csv")
    assert published["mean_days_worked"].dropna().map(lambda v: len(f"{v:g}".replace(".", ""))).max() <= 6
    # counts are never rounded
    assert (published["n_persons"].dropna() == published["n_persons"].dropna().round()).all()


def test_a_release_is_never_overwritten(warehouse, tmp_path):
    result = export_outputs(warehouse, tmp_path / "exports", today=TODAY)
    before = (result.folder / "checking_report.json").read_bytes()
    with pytest.raises(ExportRefused, match="already exists"):
        export_outputs(warehouse, tmp_path / "exports", today=TODAY)
    assert (result.folder / "checking_report.json").read_bytes() == before


@pytest.mark.parametrize(
    ("name", "table", "expected"),
    [
        ("persons", pd.DataFrame({"person_id": [1, 2, 3], "sex_code": ["M", "F", "M"], "n_persons": [1, 1, 1]}),
         "column 'person_id' identifies persons"),
        ("microdata", pd.DataFrame({"sex_code": ["M", "F", "M", "F"], "age_class": ["20-24"] * 4,
                                    "n_persons": [1, 1, 1, 40]}),
         "person-level rows"),
        ("no_count", pd.DataFrame({"sex_code": ["M", "F"], "age_class": ["20-24", "25-29"]}),
         "not an aggregate"),
        ("insz", pd.DataFrame({"group_code": [insz("850315021"), "x"], "n_persons": [20, 30]}),
         "INSZ-like"),
        ("insz_2000_as_number", pd.DataFrame({"group_code": [int(insz("050315021", born_2000=True))],
                                              "n_persons": [20]}),
         "INSZ-like"),
        ("amounts", pd.DataFrame({"measure_code": ["vop"], "n_persons": [20], "subsidy_total_eur": [123456.78]}),
         "exact amounts in euro"),
        ("unclassed", pd.DataFrame({"measure_code": ["vop"], "n_persons": [20], "subsidy": [123456.78]}),
         "not a count, share, mean or class"),
        ("dates", pd.DataFrame({"measure_code": ["vop"], "n_persons": [20], "first_day": ["2019-03-14"]}),
         "exact dates"),
        ("typed_dates", pd.DataFrame({"measure_code": ["vop"], "n_persons": [20],
                                      "started": pd.to_datetime(["2019-03-14"])}),
         "exact dates"),
    ],
)
def test_gate_refuses_what_may_never_leave_and_writes_nothing(tmp_path, name, table, expected):
    outputs = {**standard_outputs(), name: table}
    write_research_db(tmp_path / "warehouse", outputs)
    export_dir = tmp_path / "exports"
    with pytest.raises(ExportRefused) as refused:
        export_outputs(tmp_path / "warehouse", export_dir, today=TODAY)
    assert any(expected in p and p.startswith(f"{name}:") for p in refused.value.problems), refused.value.problems
    assert_nothing_written(export_dir)


def test_insz_check_number_rule():
    assert passes_insz_check(insz("850315021"))
    assert passes_insz_check(insz("050315021", born_2000=True))
    assert not passes_insz_check("85031502100")
    assert not passes_insz_check("8503150210")


def test_differencing_with_an_earlier_release_is_refused(tmp_path):
    warehouse, export_dir = tmp_path / "warehouse", tmp_path / "exports"
    write_research_db(warehouse, standard_outputs(vop_total=60))
    export_outputs(warehouse, export_dir, today=TODAY)
    # three more vop beneficiaries a day later: the difference is a cell of 3 persons
    write_research_db(warehouse, standard_outputs(vop_total=63))
    with pytest.raises(ExportRefused, match="differencing") as refused:
        export_outputs(warehouse, export_dir, today=date(2026, 6, 2))
    assert any('["vop", "Total", "Total", "Total", "Total"]' in p and "by 3 persons" in p
               for p in refused.value.problems), refused.value.problems
    assert not (export_dir / "2026-06-02").exists()
    assert len((warehouse / "disclosure" / RELEASE_LOG).read_text().splitlines()) == 1
    # ten more is a group of ten, but of them 5 (share 0.5) or 7.5 / 2.5 (share 0.75) employed:
    # the difference of the two releases' shares would be a small cell
    write_research_db(warehouse, standard_outputs(vop_total=70))
    with pytest.raises(ExportRefused, match="differencing") as refused:
        export_outputs(warehouse, export_dir, today=date(2026, 6, 2))
    assert all("share_employed" in p for p in refused.value.problems), refused.value.problems
    # forty more: 20 / 20 and 30 / 10 employed / not employed, each a publishable group
    write_research_db(warehouse, standard_outputs(vop_total=100))
    export_outputs(warehouse, export_dir, today=date(2026, 6, 2))
    assert (export_dir / "2026-06-02").is_dir()


def test_expired_retention_refuses_and_near_end_warns(warehouse, tmp_path):
    export_dir = tmp_path / "exports"
    with pytest.raises(ExportRefused, match="retention period passed") as refused:
        export_outputs(warehouse, export_dir, today=date(2027, 1, 1))
    assert "ended on 2026-12-31" in refused.value.problems[0]
    assert_nothing_written(export_dir)

    with pytest.warns(UserWarning, match="only 30 days of retention remain"):
        result = export_outputs(warehouse, export_dir, today=date(2026, 12, 1))
    assert result.report["retention"]["status"] == "warning"
    assert result.report["warnings"] == ["only 30 days of retention remain (retain until 2026-12-31)"]


def test_purge_deletes_exports_once_the_configured_date_has_passed(warehouse, tmp_path):
    export_dir = tmp_path / "exports"
    first = export_outputs(warehouse, export_dir, today=TODAY).folder
    second = export_outputs(warehouse, export_dir, today=date(2026, 6, 2)).folder
    (export_dir / "not-a-release").mkdir()
    restricted = warehouse / "disclosure"
    assert purge_exports(export_dir, today=date(2026, 12, 31), restricted_dir=restricted) == []  # the last day counts
    assert purge_exports(export_dir, today=date(2027, 1, 1), restricted_dir=restricted) == [first, second]
    assert not first.exists() and not second.exists() and (export_dir / "not-a-release").exists()
    events = [json.loads(line)["event"] for line in (restricted / RELEASE_LOG).read_text().splitlines()]
    assert events == ["export", "export", "purge", "purge"]


def copy_of_project(tmp_path: Path, retain_until: str) -> Path:
    """The project's dbt_project.yml and models, with one line changed: the retention date."""
    project = tmp_path / "project"
    shutil.copytree(PROJECT_DIR / "models", project / "models")
    text = (PROJECT_DIR / "dbt_project.yml").read_text()
    assert text.count('retain_until: "2026-12-31"') == 1  # declared once, with the §24 default
    (project / "dbt_project.yml").write_text(text.replace('retain_until: "2026-12-31"', f'retain_until: "{retain_until}"'))
    return project


def test_retention_date_is_project_configuration_read_by_export_and_purge(warehouse, tmp_path):
    assert configured_retain_until() == date(2026, 12, 31)
    assert "RETAIN_UNTIL" not in vars(export_module)
    # a prolongation to mid-2027 is one changed line in dbt_project.yml
    project = copy_of_project(tmp_path, "2027-06-30")
    assert configured_retain_until(project) == date(2027, 6, 30)
    export_dir = tmp_path / "exports"
    with pytest.raises(ExportRefused, match="retention period passed"):
        export_outputs(warehouse, export_dir, today=date(2027, 1, 2))
    result = export_outputs(warehouse, export_dir, today=date(2027, 1, 2), project=project)
    assert (result.folder / "retention.yml").read_text() == "retain_until: 2027-06-30\n"
    restricted = warehouse / "disclosure"
    assert purge_exports(export_dir, today=date(2027, 1, 3), restricted_dir=restricted) == [result.folder]
    result = export_outputs(warehouse, export_dir, today=date(2027, 1, 4), project=project)
    assert purge_exports(export_dir, today=date(2027, 6, 30), project=project, restricted_dir=restricted) == []
    assert purge_exports(export_dir, today=date(2027, 7, 1), project=project, restricted_dir=restricted) == [result.folder]
    # the release service reads it there too, once, when its policy is seeded: a request after
    # the configured date is refused, within the prolonged one accepted
    me = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
    request = [str(BIN_DIR / "wse-impact"), "request", "--output", "socio_economic_position_by_quarter",
               "--output", "beneficiaries_by_profile", "--output", "employment_around_measure"]
    # all three outputs: they are linked, and earlier exports released them together
    for seeded_from, expected in ((None, 2), (project, 0)):
        with release_service(tmp_path / f"service-{expected}", warehouse, [me], [], today="2027-03-01",
                             project=seeded_from) as (service, socket_path):
            asked = subprocess.run(request, capture_output=True, text=True,
                                   env={**os.environ, "WSE_RELEASE_SOCKET": socket_path})
        assert asked.returncode == expected, asked.stderr
        if expected:
            assert "retention period passed" in asked.stderr


def test_purge_through_the_service(warehouse, tmp_path):
    me = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
    with release_service(tmp_path / "service", warehouse, [me], [me], approvals_required=1) as (service, socket_path):
        env = {**os.environ, "WSE_RELEASE_SOCKET": socket_path}
        cli = [str(BIN_DIR / "wse-impact")]
        request_id = service.create_request(me, {"socio_economic_position_by_quarter":
                                                 standard_outputs()["socio_economic_position_by_quarter"]})
        service.policy = dataclasses.replace(service.policy, custodians=frozenset({me, "carol"}))
        service.decide("carol", request_id, approve=True, comment="fine")
        folder = service.release_request(me, request_id)
        service.policy = dataclasses.replace(service.policy, today=date(2026, 12, 31))
        kept = subprocess.run([*cli, "purge"], capture_output=True, text=True, env=env)
        assert kept.returncode == 2 and "retention period runs until 2026-12-31" in kept.stderr and folder.exists()
        service.policy = dataclasses.replace(service.policy, today=date(2027, 1, 1))
        purged = subprocess.run([*cli, "purge"], capture_output=True, text=True, env=env)
        assert purged.returncode == 0 and "purged 2026-06-01" in purged.stdout
        assert not folder.exists()


def test_end_to_end_export_of_the_real_outputs(request, tmp_path):
    """The outputs dbt built from the generated data pass the gate; nothing small leaves."""
    pytest.importorskip("wse_impact.generate", reason="the landing-data generator is not there yet")
    pipeline = request.getfixturevalue("pipeline")
    with pipeline.research() as con:
        tables = {r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'outputs'").fetchall()}
    assert {"beneficiaries_by_profile", "socio_economic_position_by_quarter",
            "employment_around_measure"} <= tables
    export_dir = tmp_path / "exports"
    result = export_outputs(pipeline.warehouse_dir, export_dir, today=TODAY, restricted_dir=tmp_path / "restricted")
    report = json.loads((result.folder / "checking_report.json").read_text())
    assert report["status"] == "passed"
    # the export passed its own audit: every suppressed small count keeps its interval
    assert report["protection_audit"]["status"] == "passed"
    assert report["protection_audit"]["smallest_interval_width"] >= 10
    assert not keys_in(report) & {"suppressions", "cell", "reason", "intervals"}
    custodian = json.loads(result.custodian_report.read_text())
    assert result.custodian_report.is_relative_to(tmp_path / "restricted")
    below = sum(o["counts_below_threshold"] for o in custodian["outputs"].values())
    suppressed = sum(o["counts_suppressed"] for o in custodian["outputs"].values())
    assert 0 < below <= suppressed
    assert all(i["passed"] and i["upper"] >= 10 and i["upper"] - i["lower"] >= 10
               for i in custodian["audit"]["intervals"])
    assert custodian["audit"]["intervals"]  # one per class: cells equal by declaration share one
    assert all(s["rule"] and s["reason"] for o in custodian["outputs"].values() for s in o["suppressions"])
    written = list(result.folder.glob("*.csv"))
    assert written
    for csv in written:
        table = pd.read_csv(csv)
        assert "person_id" not in table.columns
        assert (table["n_persons"].dropna() >= 10).all(), csv.name
    assert (result.folder / "employment_around_measure.png").stat().st_size > 10_000
