"""Great Expectations suites on the tables dbt built.

- On the session's pipeline (small generated data) every suite passes: a violated
  expectation fails `make test`, naming table, column, expectation and example values.
- On a copy of a small hand-made build, violations are planted one per kind; each is caught
  by the expectation meant for it, with the planted value among the examples, and by no
  exception inside GX (the wrong-reason failure STYLE.md warns about for GX's SQL engine).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from conftest import BIN_DIR, build_pipeline
from handmade_landing import write_clean_landing
from wse_impact import quality
from wse_impact.quality import PERSON_CLASSES, classed_measure_schemes, measure_catalog, validate


@pytest.fixture(scope="module")
def handmade_build(tmp_path_factory):
    root = tmp_path_factory.mktemp("quality_build")
    landing = write_clean_landing(root / "landing")
    return build_pipeline(root, landing)


def _key(failure) -> tuple[str, str, str]:
    return (failure.relation, failure.columns, failure.expectation)


def test_suites_pass_on_the_pipeline(pipeline, tmp_path):
    docs = tmp_path / "gx"
    report = validate(pipeline.warehouse_dir, docs_dir=docs)
    assert report.success, "Great Expectations suites failed:\n" + report.summary()
    assert report.n_expectations > 200
    assert (docs / "index.html").exists()
    assert all(not quality.raised_exception(r) for v in report.results.values() for r in v.results)


def test_metrics_are_computed_on_the_real_rows(handmade_build):
    """The batch GX validated is the built table: its element count is the table's row count
    (GX's SQL engine on DuckDB returned empty metrics, and every expectation failed)."""
    report = validate(handmade_build.warehouse_dir, groups=("marts",), docs_dir=None)
    con = handmade_build.research()
    try:
        for table in ("beneficiary_base", "control_base", "beneficiary_measures"):
            n_rows = con.execute(f"select count(*) from marts.{table}").fetchone()[0]
            assert n_rows > 0
            assert report.element_counts[f"marts.{table}"] == n_rows
    finally:
        con.close()
    for validation in report.results.values():
        for result in validation.results:
            assert not quality.raised_exception(result), quality.raised_exception(result)
            if "element_count" in (result.result or {}):
                assert result.result["element_count"] > 0


def materialise(con, schema: str, name: str) -> None:
    """Turn a view into a table holding its rows (to plant a value in it)."""
    kind = con.execute("select table_type from information_schema.tables where table_schema = ? and table_name = ?",
                       [schema, name]).fetchone()[0]
    if kind == "VIEW":
        con.execute(f"create table {schema}.{name}__rows as select * from {schema}.{name}")
        con.execute(f"drop view {schema}.{name}")
        con.execute(f"alter table {schema}.{name}__rows rename to {name}")


def plant(warehouse: Path) -> None:
    research = duckdb.connect(str(warehouse / "wse_impact.duckdb"))
    try:
        research.execute("""
            update marts.beneficiary_base set part_time_pct = 250
            where person_id = (select min(person_id) from marts.beneficiary_base) and snapshot_quarter = '2016Q1'
        """)
        # a label outside the scheme cannot even be stored: the column is the scheme's ENUM type
        with pytest.raises(duckdb.ConversionException, match="99-104"):
            research.execute("update marts.control_base set age_class = '99-104'")
        research.execute("""
            update marts.control_base set age_class = null
            where person_id = (select min(person_id) from marts.control_base) and snapshot_quarter = '2019Q4'
        """)
        research.execute("""
            delete from marts.control_base
            where person_id = (select max(person_id) from marts.control_base) and snapshot_quarter = '2022Q4'
        """)
        research.execute("""
            update reference.class_bounds set lower_bound = 4100
            where class_scheme = 'amount_aanwervingsincentive_total_eur' and class_order = 4
        """)
    finally:
        research.close()
    restricted = duckdb.connect(str(warehouse / "restricted.duckdb"))
    try:
        restricted.execute(f"attach '{warehouse / 'wse_impact.duckdb'}' as wse_impact")
        materialise(restricted, "intermediate", "int_person_quarters_classed")
        restricted.execute("""
            update intermediate.int_person_quarters_classed set gross_quarterly_wage_eur = 123.45
            where snapshot_quarter = '2020Q2' and gross_quarterly_wage_class = '7500-<10000'
              and person_id = (select min(person_id) from intermediate.int_person_quarters_classed
                               where snapshot_quarter = '2020Q2' and gross_quarterly_wage_class = '7500-<10000')
        """)
        restricted.execute("update intermediate.reconciliation set rows_quarantined = rows_quarantined + 1 "
                           "where source_name = 'wse.vop'")
    finally:
        restricted.close()


PLANTED = {
    ("marts.beneficiary_base", "part_time_pct", "expect_column_values_to_be_between"): "250.0",
    ("marts.control_base", "age_class", "expect_column_values_to_not_be_null"): "1 of ",
    ("marts.control_base", "(table)", "expect_table_row_count_to_equal"): "observed 107",
    ("intermediate.int_person_quarters_classed", "gross_quarterly_wage_eur, gross_quarterly_wage_class_lower",
     "expect_column_pair_values_a_to_be_greater_than_b"): "(123.45, 7500.0)",
    ("reference.class_bounds", "contiguity_problem", "expect_column_values_to_be_null"):
        "'gap: starts at 4100.0, previous class ends at 4000.0'",
    ("intermediate.reconciliation", "rows_read, rows_accepted_plus_quarantined",
     "expect_column_pair_values_to_be_equal"): "(2.0, 3.0)",
    ("intermediate.reconciliation", "rows_quarantined, rows_in_quarantine",
     "expect_column_pair_values_to_be_equal"): "(1.0, 0.0)",
}


def test_planted_violations_are_caught_for_the_right_reason(handmade_build, tmp_path):
    warehouse = Path(shutil.copytree(handmade_build.warehouse_dir, tmp_path / "warehouse"))
    baseline = validate(warehouse, docs_dir=None)
    plant(warehouse)
    planted = validate(warehouse, docs_dir=tmp_path / "gx")

    before = {_key(f) for f in baseline.failures}
    new = {_key(f): f for f in planted.failures if _key(f) not in before}
    assert set(new) == set(PLANTED), (
        "planted violations not caught exactly:\n" + "\n".join(str(f) for f in new.values()))
    for key, example in PLANTED.items():
        message = str(new[key])
        assert example in message, f"{message!r} does not show {example!r}"
        assert "raised:" not in message
        relation, columns, expectation = key
        assert message.startswith(f"{relation} | column {columns} | {expectation} | ")
    assert (tmp_path / "gx" / "index.html").exists()

    cli = subprocess.run([str(BIN_DIR / "wse-impact"), "validate", "--warehouse-dir", str(warehouse), "--no-docs",
                          "--suites", "marts"], capture_output=True, text=True)
    assert cli.returncode == 1
    assert "FAILED marts.beneficiary_base | column part_time_pct | expect_column_values_to_be_between" in cli.stdout


def test_every_class_column_of_the_marts_is_checked(handmade_build):
    measure_class_columns = {raw.removesuffix("_eur") + "_class" for raw in classed_measure_schemes(measure_catalog())}
    con = handmade_build.research()
    try:
        for table in ("beneficiary_base", "control_base", "beneficiary_measures"):
            columns = [r[0] for r in con.execute(f"describe marts.{table}").fetchall()]
            unchecked = [c for c in columns if c.endswith("_class") and c not in PERSON_CLASSES
                         and c not in measure_class_columns]
            assert unchecked == [], f"marts.{table}: class columns without a class-bounds expectation: {unchecked}"
    finally:
        con.close()
