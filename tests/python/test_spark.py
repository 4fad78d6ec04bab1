"""The same pipeline on Apache Spark: one real Spark build (local[2] session, dbt-spark) of
the same small landing and key as a DuckDB build, compared with it. The landing is the
session's generated one with damaged lines planted (a quoted line break, wrong field
counts, an unbalanced quote, bytes not UTF-8: fixture `damaged_build`, whose DuckDB build
test_deliveries checks), so the quarantine compared is not empty.

The Spark build is what a data manager runs, `make dbt-build ENGINE=spark`: `dbt build`
with every dbt test of the project (contracts, class bounds, reconciliation, INSZ leak, the
codes-in-the-seeds test that replaces the ENUMs) and the lineage docs; its success is the
first assertion. The tables a Spark build writes are parquet files under the warehouse;
they are compared here with DuckDB (wse_impact.engines.spark.research_connection), so the
comparison needs no second JVM. The Great Expectations suites run on Spark itself
(`make validate ENGINE=spark`, and planted violations), each in its own JVM.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from conftest import BIN_DIR, PROJECT_DIR, TEST_KEY, Pipeline, dbt_env
from spark_compare import MARTS, OUTPUTS, RESTRICTED, assert_same, assert_same_exports, open_both
from wse_impact.engines.spark import RESEARCH_SCHEMAS, RESTRICTED_SCHEMAS, research_connection, spark_root


@pytest.fixture(scope="session")
def duckdb_pipeline(damaged_build) -> Pipeline:
    return damaged_build[0]


@pytest.fixture(scope="session")
def spark_pipeline(tmp_path_factory, damaged_build) -> Pipeline:
    landing_dir = damaged_build[3]
    if shutil.which("java") is None:
        pytest.fail("java is missing: `make test` installs openjdk-17-jre-headless (make test-deps)")
    root = tmp_path_factory.mktemp("spark")
    warehouse_dir = root / "warehouse"
    env = dbt_env(landing_dir, warehouse_dir, DBT_LOG_PATH=str(root / "logs"), DBT_TARGET_PATH=str(root / "target"),
                  SPARK_LOCAL_IP="127.0.0.1", WSE_SPARK_DRIVER_MEMORY="2g")
    # what a data manager runs: make's Spark build (landing check, registration, dbt build
    # with every test, lineage docs) of a delivery with its own key
    proc = subprocess.run(["make", "dbt-build", "ENGINE=spark"], cwd=PROJECT_DIR, env=env,
                          capture_output=True, text=True)
    (root / "spark-build.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise AssertionError(f"Spark build failed:\n{proc.stdout[-8000:]}\n{proc.stderr[-3000:]}")
    assert (root / "target" / "static_index.html").is_file(), "no lineage docs of the Spark build"
    return Pipeline(landing_dir, warehouse_dir, root / "target", env)


@pytest.fixture(scope="session")
def both(duckdb_pipeline, spark_pipeline, tmp_path_factory):
    duck, spark, spark_all = open_both(duckdb_pipeline, spark_pipeline.warehouse_dir,
                                       tmp_path_factory.mktemp("spark_view"))
    yield duck, spark, spark_all
    duck.close()
    spark.close()


@pytest.mark.parametrize("mart", MARTS)
def test_marts_equal_on_spark_and_duckdb(both, mart):
    """Same rows, same pseudonyms (person_id), same classes; floats within 1e-9."""
    duck, spark, _ = both
    assert_same(duck, spark, f"wse_impact.marts.{mart}")


@pytest.mark.parametrize("output", OUTPUTS)
def test_outputs_equal_on_spark_and_duckdb(both, output):
    duck, spark, _ = both
    assert_same(duck, spark, f"wse_impact.outputs.{output}")


@pytest.mark.parametrize("relation", RESTRICTED)
def test_quarantine_reconciliation_and_pseudonyms_equal(both, relation):
    """The quarantine with the same files, true line numbers and reasons; the same
    reconciliation and delivery record; the same INSZ -> person_id link for the same key."""
    duck, _, spark_all = both
    assert_same(duck, spark_all, f"intermediate.{relation}")


def test_spark_quarantine_holds_the_damaged_lines_and_reconciles(both, damaged_build):
    _, _, spark_all = both
    planted = damaged_build[1]
    rows = {(f, n): (r, raw) for f, n, r, raw in spark_all.execute(
        "select source_file, source_line_number, reasons, raw_line from intermediate.quarantine").fetchall()}
    for (file, line), (reason, raw, _insz) in planted.items():
        assert (file, line) in rows, f"{file} line {line} ({reason}) is not in the Spark quarantine"
        assert reason in rows[(file, line)][0] and rows[(file, line)][1] == raw
    assert spark_all.execute("select bool_and(is_reconciled) from intermediate.reconciliation").fetchone()[0]


def test_research_schemas_hold_no_insz_and_restricted_tables_stay_apart(spark_pipeline):
    warehouse = spark_root(spark_pipeline.warehouse_dir) / "warehouse"
    research = research_connection(spark_pipeline.warehouse_dir)
    tables = research.execute("select table_schema, table_name from information_schema.tables "
                              "where table_catalog = 'wse_impact'").fetchall()
    assert {s for s, _ in tables} == set(RESEARCH_SCHEMAS)
    for schema, table in tables:
        columns = [r[0] for r in research.execute(f"describe wse_impact.{schema}.{table}").fetchall()]
        assert "insz" not in columns, f"{schema}.{table} holds an INSZ column"
    # the link INSZ -> person_id and the quarantine live in restricted schemas only
    assert (warehouse / "intermediate.db" / "int_persons_pseudonymised").is_dir()
    assert (warehouse / "intermediate.db" / "quarantine").is_dir()
    assert not any((warehouse / f"{s}.db" / "int_persons_pseudonymised").exists() for s in RESEARCH_SCHEMAS)
    assert set(RESEARCH_SCHEMAS).isdisjoint(RESTRICTED_SCHEMAS)


def test_key_never_in_spark_sql_logs_plans_or_metastore(spark_pipeline):
    """The key is read by the UDF inside the Python workers: not in compiled SQL, dbt's logs,
    the build's output or any file of the Spark warehouse and Derby metastore."""
    root = spark_pipeline.warehouse_dir.parent
    needle = TEST_KEY.encode()
    checked = 0
    for path in root.rglob("*"):
        if path.is_file():
            checked += 1
            assert needle not in path.read_bytes(), f"the pseudonymisation key appears in {path}"
    assert checked > 50


def test_export_of_either_engine_gives_the_same_files(duckdb_pipeline, spark_pipeline, tmp_path):
    """The disclosure gate on the outputs each engine built (read from the Spark build's
    parquet files through DuckDB) writes byte-identical CSVs."""
    assert_same_exports(duckdb_pipeline.warehouse_dir, spark_pipeline.warehouse_dir, tmp_path)


def test_great_expectations_suites_pass_on_the_spark_build(duckdb_pipeline, spark_pipeline, tmp_path):
    """`make validate ENGINE=spark`: every suite of every group, the staging views included,
    computed by Spark (GX's Spark engine on DataFrames of a session on the build's
    metastore): the same suites and expectations as on the DuckDB build, all passing."""
    from wse_impact.quality import Declarations, Warehouse, build_suites

    proc = subprocess.run(["make", "validate", "ENGINE=spark", f"GX_DOCS_DIR={tmp_path / 'gx'}"],
                          cwd=PROJECT_DIR, env=spark_pipeline.env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    wh = Warehouse(duckdb_pipeline.warehouse_dir)
    try:
        suites = build_suites(wh, declarations=Declarations.load(duckdb_pipeline.target_dir / "manifest.json"))
    finally:
        wh.close()
    n_expectations = sum(len(suite.expectations) for suite in suites)
    assert f"{len(suites)} suites, {n_expectations} expectations, 0 failed" in proc.stdout, proc.stdout[-4000:]
    assert any(suite.group == "staging" for suite in suites)
    assert (tmp_path / "gx" / "index.html").is_file()


# Run in its own process (one JVM per Derby metastore; a stopped session in the test process
# would keep the metastore booted): plants violations in session views over the Spark
# build's tables, points the project's own suites at them, and prints the failures.
PLANT_ON_SPARK = """
import json, sys
from pathlib import Path
from pyspark.sql import functions as F
from wse_impact.quality import Declarations, SparkSource, build_suites, run_suites

source = SparkSource(Path(sys.argv[1]))
try:
    spark = source.spark
    base = spark.table("marts.control_base")
    first, last = base.agg(F.min("person_id"), F.max("person_id")).first()
    at = (F.col("person_id") == first) & (F.col("snapshot_quarter") == "2019Q4")
    planted = (base.withColumn("age_class", F.when(at, F.lit("99-104")).otherwise(F.col("age_class")))
               .withColumn("nationality_code", F.when(at, F.lit("7")).otherwise(F.col("nationality_code"))))
    planted = planted.unionByName(planted.where((F.col("person_id") == last) & (F.col("snapshot_quarter") == "2022Q4")))
    planted.createOrReplaceTempView("planted_control_base")
    panel = spark.table("intermediate.int_person_quarters_classed")
    row = panel.where("gross_quarterly_wage_eur >= 1000").orderBy("person_id", "snapshot_quarter").first()
    wrong = (F.col("person_id") == row.person_id) & (F.col("snapshot_quarter") == row.snapshot_quarter)
    panel.withColumn("gross_quarterly_wage_eur", F.when(wrong, F.lit(0.5)).otherwise(F.col("gross_quarterly_wage_eur"))
                     ).createOrReplaceTempView("planted_panel")
    wh = source.warehouse()
    suites = build_suites(wh, ("intermediate", "marts"), Declarations.load(sys.argv[2]))
    for suite in suites:
        suite.sql = (suite.sql.replace("wse_impact.marts.control_base", "planted_control_base")
                     .replace("intermediate.int_person_quarters_classed", "planted_panel"))
    report = run_suites(suites, source)
    print(json.dumps({"n_rows": base.count(), "failures": [str(f) for f in report.failures]}))
finally:
    source.close()
"""


def test_planted_violations_are_caught_by_spark_for_the_right_reason(spark_pipeline, tmp_path):
    """A class label outside its scheme, a code not in its seed, a key duplicate and a value
    outside its class, planted in views of the Spark build: each is reported by the suites
    computed on Spark, with table, column, expectation and the planted values."""
    import json

    # a file: run with `python -c`, it ended with exit 0 and no output (pyspark printed
    # "Skipping doctests")
    script = tmp_path / "plant_on_spark.py"
    script.write_text(PLANT_ON_SPARK)
    proc = subprocess.run([str(BIN_DIR / "python"), str(script), str(spark_pipeline.warehouse_dir),
                           str(spark_pipeline.target_dir / "manifest.json")],
                          cwd=PROJECT_DIR, env=spark_pipeline.env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    expected = {
        "marts.control_base | column age_class | expect_column_values_to_be_in_set": "examples '99-104'",
        "marts.control_base | column nationality_code | expect_column_values_to_be_in_set": "examples '7'",
        "marts.control_base | column person_id, snapshot_quarter | expect_compound_columns_to_be_unique": "'2022Q4')",
        "marts.control_base | column (table) | expect_table_row_count_to_equal": f"observed {result['n_rows'] + 1}",
        "intermediate.int_person_quarters_classed | column gross_quarterly_wage_eur, gross_quarterly_wage_class_lower"
        " | expect_column_pair_values_a_to_be_greater_than_b": "examples (0.5, ",
    }
    found = {failure.rsplit(" | ", 1)[0]: failure for failure in result["failures"]}
    assert set(found) == set(expected), "\n".join(result["failures"])
    for key, example in expected.items():
        assert example in found[key], found[key]
        assert "raised:" not in found[key]


def test_a_request_reads_the_output_models_of_a_spark_build(spark_pipeline, tmp_path):
    """The release review starts the same way on a Spark build: the release service (its
    engine a setting of its own) reads the output models from the parquet files and runs the gate."""
    from conftest import release_service

    warehouse = tmp_path / "warehouse"
    shutil.copytree(spark_pipeline.warehouse_dir / "spark" / "warehouse", warehouse / "spark" / "warehouse")
    me = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
    with release_service(tmp_path / "service", warehouse, [me], [], engine="spark") as (service, socket_path):
        proc = subprocess.run(
            [str(BIN_DIR / "wse-impact"), "request", "--output", "socio_economic_position_by_quarter"],
            cwd=PROJECT_DIR, env={**spark_pipeline.env, "WSE_RELEASE_SOCKET": socket_path}, capture_output=True,
            text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    staged = service.state_dir / "requests" / "R0001" / "staged"
    assert (staged / "socio_economic_position_by_quarter.csv").is_file()
