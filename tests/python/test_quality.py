"""Great Expectations suites on the tables dbt built, computed in DuckDB.

- On the session's pipeline (small generated data) every suite passes: a violated
  expectation fails `make test`, naming table, column, expectation and example values.
- GX's stock SQL data source on DuckDB fails every expectation for the wrong reason (empty
  metrics); the project's DuckDB data source computes the same expectation correctly.
- On a copy of a small hand-made build, violations are planted one per kind (a value outside
  its class, a label not in its scheme, a code not in its seed, a duplicated key, ...); each
  is caught by the expectation meant for it, with the planted value among the examples.
- The rules come from the column declarations in the models' yml: a class column and a code
  column added to a copy of the project by yml and model edits alone are checked.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from conftest import BIN_DIR, PROJECT_DIR, build_pipeline, dbt_env
from handmade_landing import write_clean_landing
from wse_impact import quality
from wse_impact.quality import Declarations, classed_measure_schemes, measure_catalog, validate


@pytest.fixture(scope="module")
def handmade_build(tmp_path_factory):
    root = tmp_path_factory.mktemp("quality_build")
    landing = write_clean_landing(root / "landing")
    return build_pipeline(root, landing)


def _key(failure) -> tuple[str, str, str]:
    return (failure.relation, failure.columns, failure.expectation)


def test_suites_pass_on_the_pipeline(pipeline, tmp_path):
    docs = tmp_path / "gx"
    report = validate(pipeline.warehouse_dir, docs_dir=docs, manifest=pipeline.target_dir / "manifest.json")
    assert report.success, "Great Expectations suites failed:\n" + report.summary()
    assert report.n_expectations > 200
    assert (docs / "index.html").exists()
    assert all(not quality.raised_exception(r) for v in report.results.values() for r in v.results)


def test_metrics_are_computed_on_the_real_rows(handmade_build):
    """The batch GX validated is the built table: its element count is the table's row count
    (GX's SQL engine on DuckDB returned empty metrics, and every expectation failed)."""
    report = validate(handmade_build.warehouse_dir, groups=("marts",), docs_dir=None,
                      manifest=handmade_build.target_dir / "manifest.json", result_format="BASIC")
    con = handmade_build.research()
    try:
        for table in ("beneficiary_base", "control_base", "beneficiary_measures"):
            n_rows = con.execute(f"select count(*) from marts.{table}").fetchone()[0]
            assert n_rows > 0
            assert report.element_counts[f"marts.{table}"] == n_rows
    finally:
        con.close()
    for suite, validation in report.results.items():
        for result in validation.results:
            assert not quality.raised_exception(result), quality.raised_exception(result)
            if "element_count" in (result.result or {}):
                # a key suite's rows are those whose key hash repeats: none in a sound build
                # (the planted duplicate below shows they are found when there are)
                if suite.endswith(".keys"):
                    assert result.result["element_count"] == 0, suite
                else:
                    assert result.result["element_count"] > 0, suite


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
        # a label outside the scheme cannot be stored in the scheme's ENUM type; a copy of the
        # base file whose class and code columns lost their types can hold one
        with pytest.raises(duckdb.ConversionException, match="99-104"):
            research.execute("update marts.control_base set age_class = '99-104'")
        research.execute("alter table marts.control_base alter age_class type varchar")
        research.execute("alter table marts.control_base alter nationality_code type varchar")
        research.execute("""
            update marts.control_base set age_class = '99-104', nationality_code = '7'
            where person_id = (select min(person_id) from marts.control_base) and snapshot_quarter = '2019Q4'
        """)
        research.execute("""
            update marts.control_base set age_class = null
            where person_id = (select min(person_id) from marts.control_base) and snapshot_quarter = '2019Q3'
        """)
        # the duplicated row that crashed the reporter (compound-key examples are dicts)
        research.execute("""
            insert into marts.control_base
            select * from marts.control_base
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
    # a value outside its declared range
    ("marts.beneficiary_base", "part_time_pct", "expect_column_values_to_be_between"): "examples 250.0",
    # a class label not in its scheme
    ("marts.control_base", "age_class", "expect_column_values_to_be_in_set"): "examples '99-104'",
    ("marts.control_base", "age_class", "expect_column_values_to_not_be_null"): "1 of ",
    # a code not in its seed
    ("marts.control_base", "nationality_code", "expect_column_values_to_be_in_set"): "examples '7'",
    # a key duplicate: the duplicated rows' keys are the examples
    ("marts.control_base", "person_id, snapshot_quarter", "expect_compound_columns_to_be_unique"): "'2022Q4')",
    ("marts.control_base", "(table)", "expect_table_row_count_to_equal"): "observed 109",
    # a value outside its class
    ("intermediate.int_person_quarters_classed", "gross_quarterly_wage_eur, gross_quarterly_wage_class_lower",
     "expect_column_pair_values_a_to_be_greater_than_b"): "examples (123.45, 7500.0)",
    ("reference.class_bounds", "contiguity_problem", "expect_column_values_to_be_null"):
        "'gap: starts at 4100.0, previous class ends at 4000.0'",
    ("intermediate.reconciliation", "rows_read, rows_accepted_plus_quarantined",
     "expect_column_pair_values_to_be_equal"): "(2, 3)",
    ("intermediate.reconciliation", "rows_quarantined, rows_in_quarantine",
     "expect_column_pair_values_to_be_equal"): "(1, 0)",
}


def test_planted_violations_are_caught_for_the_right_reason(handmade_build, tmp_path):
    manifest = handmade_build.target_dir / "manifest.json"
    warehouse = Path(shutil.copytree(handmade_build.warehouse_dir, tmp_path / "warehouse"))
    baseline = validate(warehouse, docs_dir=None, manifest=manifest)
    plant(warehouse)
    planted = validate(warehouse, docs_dir=tmp_path / "gx", manifest=manifest)

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
                          "--suites", "marts", "--manifest", str(manifest)], capture_output=True, text=True)
    assert cli.returncode == 1, cli.stderr[-3000:]
    assert "Traceback" not in cli.stderr
    assert "FAILED marts.beneficiary_base | column part_time_pct | expect_column_values_to_be_between" in cli.stdout
    assert ("FAILED marts.control_base | column person_id, snapshot_quarter | expect_compound_columns_to_be_unique"
            in cli.stdout)


def test_stock_gx_sql_source_fails_for_the_wrong_reason_the_duckdb_source_for_the_right_one(tmp_path):
    """Why gx_duckdb exists, kept as evidence: on GX's stock SQL data source the expectation
    'fails' with an exception and no metrics (rows fetched after the connection closed); on
    the DuckDB data source it fails because of the one planted value, and passes without it."""
    import great_expectations as gx

    from wse_impact.quality.gx_duckdb import add_duckdb_datasource

    db = tmp_path / "toy.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create table t as select range as n, case when range = 7 then 'x' else 'y' end as code "
                    "from range(1000)")
    expectation = gx.expectations.ExpectColumnValuesToBeInSet(column="code", value_set=["y"])
    context = gx.get_context(mode="ephemeral")

    stock = context.data_sources.add_sql("stock", connection_string=f"duckdb:///{db}?access_mode=read_only")
    batch = stock.add_table_asset("t", table_name="t").add_batch_definition_whole_table("all").get_batch()
    wrong = batch.validate(expectation, result_format="BASIC")
    assert not wrong.success and quality.raised_exception(wrong), wrong
    assert "unexpected_count" not in (wrong.result or {})

    # the same rows in a second file: DuckDB refuses a second connection to a file opened
    # with other settings in this process, and the stock source keeps its pool open
    ours = add_duckdb_datasource(context, "ours", str(shutil.copy(db, tmp_path / "same_rows.duckdb")))
    asset = ours.add_query_asset("t", query="select code from t")
    batch = asset.add_batch_definition_whole_table("all").get_batch()
    right = batch.validate(expectation, result_format="BASIC")
    assert not right.success and not quality.raised_exception(right)
    assert right.result["element_count"] == 1000
    assert right.result["unexpected_count"] == 1
    assert right.result["partial_unexpected_list"] == ["x"]
    clean = batch.validate(gx.expectations.ExpectColumnValuesToBeInSet(column="code", value_set=["x", "y"]))
    assert clean.success


def test_every_class_and_code_column_of_the_marts_is_declared(handmade_build):
    declarations = Declarations.load(handmade_build.target_dir / "manifest.json")
    measure_class_columns = {raw.removesuffix("_eur") + "_class" for raw in classed_measure_schemes(measure_catalog())}
    con = handmade_build.research()
    try:
        for table in ("beneficiary_base", "control_base", "beneficiary_measures"):
            columns = [r[0] for r in con.execute(f"describe marts.{table}").fetchall()]
            declared = {c.column for c in declarations.classes(table, columns)}
            unchecked = [c for c in columns if c.endswith("_class") and c not in declared
                         and c not in measure_class_columns]
            assert unchecked == [], f"marts.{table}: class columns without a declaration: {unchecked}"
            # every ENUM-typed column (a code list) declares its seed
            enums = [r[0] for r in con.execute(
                "select column_name from information_schema.columns where table_schema = 'marts' "
                "and table_name = ? and data_type like 'ENUM%'", [table]).fetchall()]
            codes = {c.column for c in declarations.codes(table, columns)}
            assert [c for c in enums if c not in codes and c not in declared] == []
    finally:
        con.close()


def test_contract_types_equal_the_declarations(pipeline):
    """A base file's contract names each code and class column's ENUM type a second time;
    it must be the type the declaration implies (the seed column's enum_type, or the
    scheme's `<scheme>_class`)."""
    declarations = Declarations.load(pipeline.target_dir / "manifest.json")
    checked = 0
    for table in ("beneficiary_base", "control_base"):
        for code in declarations.codes(table):
            enum_type = declarations.seed_enum_type(code.seed, code.seed_column)
            assert declarations.contract_type(table, code.column) == f"wse_impact.reference.{enum_type}", code
            checked += 1
        for cls in declarations.classes(table):
            assert declarations.contract_type(table, cls.column) == f"wse_impact.reference.{cls.scheme}_class", cls
            checked += 1
    assert checked >= 2 * 28


def _copy_project(dest: Path) -> Path:
    ignore = shutil.ignore_patterns(".venv", ".git", "target", "logs", "warehouse*", "reports", "data", "exports",
                                    "__pycache__", ".pytest_cache", "*.egg-info", ".secrets")
    return Path(shutil.copytree(PROJECT_DIR, dest, ignore=ignore))


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, (path, old)
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_a_new_class_and_code_column_are_checked_without_editing_python(tmp_path, handmade_build):
    """Add a class column (part_time_class, of part_time_pct in scheme incapacity_pct) and a
    code column (work_region_code, seed regions) to the base files of a copy of the project:
    yml declarations, the base files' column list and the panel's one new select line. The
    rebuilt copy's suites check both, from its manifest."""
    project = _copy_project(tmp_path / "project")
    models = project / "models"
    panel_yml = models / "intermediate" / "_intermediate__models.yml"
    _edit(panel_yml, "      - name: incapacity_days_class\n", """      - name: part_time_class
        description: "Part-time percentage, classed."
        config:
          meta:
            classes: {value: part_time_pct, scheme: incapacity_pct}
      - name: work_region_code
        description: "Region of the workplace."
        config:
          meta:
            codes: regions.region_code
      - name: incapacity_days_class
""")
    _edit(models / "intermediate" / "int_person_quarters_classed.sql",
          "        geography.region_code,\n", "        geography.region_code,\n        geography.region_code as work_region_code,\n")
    _edit(project / "macros" / "base_file_columns.sql", "'incapacity_days_class',", "'incapacity_days_class', 'part_time_class', 'work_region_code',")
    marts_yml = models / "marts" / "_marts__models.yml"
    text = marts_yml.read_text(encoding="utf-8")
    added = """  - name: part_time_class
    data_type: wse_impact.reference.incapacity_pct_class
    description: 'Part-time percentage, classed.'
  - name: work_region_code
    data_type: wse_impact.reference.region_code
    description: 'Region of the workplace.'
  data_tests:
  - unique_combination:"""
    text = text.replace("  data_tests:\n  - unique_combination:", added, 2)  # both base files come first
    marts_yml.write_text(text, encoding="utf-8")

    warehouse, target = tmp_path / "warehouse", tmp_path / "target"
    warehouse.mkdir()
    env = dbt_env(handmade_build.landing_dir, warehouse, DBT_LOG_PATH=str(tmp_path / "logs"))
    proc = subprocess.run([str(BIN_DIR / "dbt"), "build", "--project-dir", str(project), "--target-path", str(target),
                           "--exclude", "resource_type:unit_test"], cwd=project, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-5000:]

    report = validate(warehouse, groups=("intermediate", "marts"), docs_dir=None, manifest=target / "manifest.json")
    assert report.success, report.summary()
    checked = {(name, r.expectation_config.type, quality._columns_of(r.expectation_config))
               for name, v in report.results.items() for r in v.results}
    for base in ("beneficiary_base", "control_base"):
        assert (f"marts.{base}", "expect_column_values_to_be_in_set", "part_time_class") in checked
        assert (f"marts.{base}", "expect_column_values_to_be_in_set", "work_region_code") in checked
    assert ("intermediate.person_quarters_classed.part_time_class", "expect_column_pair_values_a_to_be_greater_than_b",
            "part_time_pct, part_time_class_lower") in checked
    in_set = {r.expectation_config.kwargs["column"]: r.expectation_config.kwargs["value_set"]
              for r in report.results["marts.control_base"].results
              if r.expectation_config.type == "expect_column_values_to_be_in_set"}
    assert in_set["part_time_class"][-1] == "unknown" and len(in_set["part_time_class"]) == 6
    assert sorted(in_set["work_region_code"]) == ["02000", "03000", "04000"]


def test_the_unit_test_declarations_equal_the_yml(pipeline):
    """The panel's unit test renders without dbt's graph and so gives the declarations it
    uses as macro overrides: they must be the yml's."""
    import yaml

    tests = yaml.safe_load((PROJECT_DIR / "models" / "intermediate" / "_intermediate__unit_tests.yml").read_text())
    unit_test = next(t for t in tests["unit_tests"] if t["model"] == quality.PANEL)
    overrides = unit_test["overrides"]["macros"]
    declarations = Declarations.load(pipeline.target_dir / "manifest.json")
    code_types = {c.column: declarations.seed_enum_type(c.seed, c.seed_column) for c in declarations.codes(quality.PANEL)}
    assert overrides["declared_code_types"].items() <= code_types.items()
    assert overrides["declared_class_columns"] == [
        {"column": c.column, "value": c.value_column, "scheme": c.scheme} for c in declarations.classes(quality.PANEL)]


def test_memory_limits_are_a_share_of_the_machine_or_an_amount(monkeypatch):
    """Both settings (dbt's and the suites') read "40%" as a share of the machine's memory and
    pass an amount on as it is; DuckDB takes what they give."""
    from wse_impact import settings as memory
    from wse_impact.settings import duckdb_memory_limit as dbt_memory_limit

    monkeypatch.setattr(memory, "machine_memory_bytes", lambda: 10 * 2**30)
    assert memory.memory_limit("40%") == "4096MiB" and memory.memory_limit(" 6GB ") == "6GB"
    monkeypatch.setenv("WSE_DUCKDB_MEMORY_LIMIT", "25%")
    assert dbt_memory_limit() == "2560MiB"
    for setting in ("40%", "6GB", "1GB"):
        duckdb.connect(config={"memory_limit": memory.memory_limit(setting)}).close()


def test_dbt_memory_limit_auto_is_sized_to_the_snapshots(monkeypatch, tmp_path):
    """`auto` (the default): 1.5 x the snapshots' bytes, at least 1.25 GB, at most 40 % of the
    machine; other files in the landing folder do not count."""
    from wse_impact import settings

    monkeypatch.delenv("WSE_DUCKDB_MEMORY_LIMIT", raising=False)
    monkeypatch.setenv("WSE_LANDING_DIR", str(tmp_path))
    monkeypatch.setattr(settings, "machine_memory_bytes", lambda: 24 * 2**30)
    assert settings.duckdb_memory_limit() == "1280MiB"  # no snapshots: the floor
    (tmp_path / "measures").mkdir()
    (tmp_path / "measures" / "vop.csv").write_bytes(b"x" * 2**20)
    for quarter in ("2014Q1", "2014Q2"):
        part = tmp_path / "dwh" / "snapshots" / f"quarter={quarter}" / "part-0.parquet"
        part.parent.mkdir(parents=True)
        with open(part, "wb") as f:  # sparse: 1 GiB each without writing it
            f.truncate(2**30)
    assert settings.duckdb_memory_limit() == "3072MiB"
    monkeypatch.setattr(settings, "machine_memory_bytes", lambda: 4 * 2**30)
    assert settings.duckdb_memory_limit() == "1638MiB"  # 40 % of the machine
    monkeypatch.setenv("WSE_DUCKDB_MEMORY_LIMIT", "6GB")
    assert settings.duckdb_memory_limit() == "6GB"
    duckdb.connect(config={"memory_limit": settings.auto_memory_limit(tmp_path)}).close()
