"""Issue 3 on a real build: two databases, pseudonyms, overlap flag, classing, no leaks."""

from __future__ import annotations

import re
import shutil

import pytest

from conftest import TEST_KEY, build_pipeline, dbt_env, run_dbt
from wse_impact.landing.insz import is_valid_insz

INSZ_LIKE = re.compile(r"(?<!\d)\d{11}(?!\d)")


def landing_insz(landing_dir) -> set[str]:
    text = (landing_dir / "dwh" / "control_sample.csv").read_text()
    return {line.strip() for line in text.splitlines()[1:] if line.strip()}


def research_tables(con) -> list[tuple[str, str]]:
    return con.execute(
        "select table_schema, table_name from information_schema.tables order by all"
    ).fetchall()


def test_research_database_holds_only_marts_outputs_persons_and_reference(pipeline):
    with pipeline.research() as con:
        schemas = {schema for schema, _ in research_tables(con)}
        # the persons behind the outputs' cells: views over the marts, never tables of their own
        persons = set(con.execute("select table_type from information_schema.tables "
                                  "where table_schema = 'persons'").fetchall())
    assert schemas <= {"marts", "outputs", "persons", "reference"}, schemas
    assert "marts" in schemas
    assert persons == {("VIEW",)}


def test_no_identifying_column_or_value_in_the_research_database(pipeline):
    # the reference schema holds public nomenclatures (e.g. the quarters' calendar dates)
    forbidden_column = re.compile(r"(insz|birth_date|_eur$|_km$|_date$|^days_worked$|^days_taken$)")
    leaks = []
    with pipeline.research() as con:
        for schema, table in research_tables(con):
            columns = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ?", [schema, table]
            ).fetchall()
            for column, data_type in columns:
                if schema != "reference" and forbidden_column.search(column):
                    leaks.append(f"{schema}.{table}.{column}: identifying column")
                if schema != "reference" and data_type in ("DATE", "TIMESTAMP"):
                    leaks.append(f"{schema}.{table}.{column}: exact date")
                if data_type in ("VARCHAR", "BIGINT", "HUGEINT", "DECIMAL(18,0)") or data_type.startswith("ENUM"):
                    values = con.execute(
                        f'select distinct cast("{column}" as varchar) from "{schema}"."{table}" '
                        f"where regexp_full_match(cast(\"{column}\" as varchar), '[0-9]{{11}}')"
                    ).fetchall()
                    leaks += [f"{schema}.{table}.{column}: INSZ {v!r}" for (v,) in values if is_valid_insz(v)]
    assert not leaks, leaks[:10]


def test_codes_and_classes_of_the_base_files_are_the_seeds_enum_types(pipeline):
    def values_of(con, table: str, column: str) -> list[str]:
        return con.execute(f"select enum_range({column}) from marts.{table} limit 1").fetchone()[0]

    with pipeline.research() as con:
        for table in ("beneficiary_base", "control_base"):
            types = dict(con.execute("select column_name, data_type from information_schema.columns "
                                     "where table_schema = 'marts' and table_name = ?", [table]).fetchall())
            text = sorted(c for c, t in types.items() if t == "VARCHAR")
            assert text == (["beneficiary_measure_codes", "nace_code"] if table == "control_base" else ["nace_code"])
            assert all(types[c].startswith("ENUM") for c in types if c.endswith(("_code", "_class"))
                       and c not in text), types
            # a code list is the seed's, sorted; a class list is the scheme's labels in class order, then unknown
            assert values_of(con, table, "sex_code") == [r[0] for r in con.execute(
                "select sex_code from reference.sexes order by 1").fetchall()]
            assert values_of(con, table, "nationality_code") == [r[0] for r in con.execute(
                "select origin_group_code from reference.origin_groups order by 1").fetchall()]
            assert values_of(con, table, "snapshot_quarter") == [r[0] for r in con.execute(
                "select quarter from reference.quarters order by 1").fetchall()]
            assert values_of(con, table, "days_worked_class") == [r[0] for r in con.execute(
                "select class_label from reference.class_bounds where class_scheme = 'days_in_quarter' "
                "order by class_order").fetchall()] + ["unknown"]
        # classes sort in class order, not as text
        ages = [r[0] for r in con.execute(
            "select distinct age_class from marts.beneficiary_base where age_class <> 'unknown' order by age_class"
        ).fetchall()]
        bounds = dict(con.execute("select class_label, lower_bound from reference.class_bounds "
                                  "where class_scheme = 'age_years'").fetchall())
        assert [bounds[a] for a in ages] == sorted(bounds[a] for a in ages)


def test_marts_have_no_exact_amount_or_day_count_types(pipeline):
    with pipeline.research() as con:
        numeric = con.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' and (data_type like 'DECIMAL%' or data_type in ('DOUBLE', 'FLOAT', 'DATE'))"
        ).fetchall()
    # part_time_pct and employment_pct are percentages the deliberation allows; no amounts
    assert {column for _, column, _ in numeric} <= {"part_time_pct", "employment_pct"}, numeric


def test_no_insz_in_docs_or_logs(pipeline):
    insz = landing_insz(pipeline.landing_dir)
    texts = []
    for folder in (pipeline.target_dir, pipeline.log_dir):
        for path in folder.rglob("*"):
            if path.is_file() and path.suffix in {".json", ".log", ".sql", ".html", ".txt"}:
                texts.append((path, path.read_text(errors="ignore")))
    found = [(str(path), match) for path, text in texts for match in INSZ_LIKE.findall(text) if match in insz]
    assert not found, found[:5]


def test_balanced_panel_and_person_counts(pipeline):
    with pipeline.research() as con:
        for base in ("beneficiary_base", "control_base"):
            counts = con.execute(
                f"select count(*), count(distinct person_id), min(snapshot_quarter), max(snapshot_quarter) "
                f"from marts.{base}"
            ).fetchone()
            assert counts[0] == 36 * counts[1] and counts[1] > 0, (base, counts)
            assert counts[2:] == ("2014Q1", "2022Q4")
        not_in_register = con.execute(
            "select count(*) from marts.beneficiary_base where not is_in_register "
            "and socio_economic_position_code = '0.0' and position_group = 'not_in_register'"
        ).fetchone()[0]
    assert not_in_register > 0, "the generator leaves some person-quarters out of the register"


def test_overlap_flag_counts_the_intersection(pipeline):
    with pipeline.restricted() as con:
        expected = con.execute(
            "select count(*) from intermediate.int_persons_pseudonymised where is_beneficiary and is_control"
        ).fetchone()[0]
    with pipeline.research() as con:
        flagged = con.execute(
            "select count(distinct person_id) from marts.control_base where is_beneficiary"
        ).fetchone()[0]
        shared = con.execute(
            "select count(distinct c.person_id) from marts.control_base as c "
            "inner join marts.beneficiary_base as b on c.person_id = b.person_id"
        ).fetchone()[0]
    assert flagged == expected == shared > 0


def test_person_id_reveals_no_order_of_insz_or_birth_date(pipeline):
    with pipeline.restricted() as con:
        correlation = con.execute(
            "select corr(person_id, insz_rank) from ("
            " select person_id, row_number() over (order by insz) as insz_rank"
            " from intermediate.int_persons_pseudonymised)"
        ).fetchone()[0]
    assert abs(correlation) < 0.1, correlation


@pytest.fixture(scope="module")
def other_key_ids(tmp_path_factory, landing_dir):
    """person_id per INSZ built with the test key again and with another key."""
    ids = {}
    for label, key in (("same", TEST_KEY), ("other", "another-key-fedcba9876543210fedcba98")):
        built = build_pipeline(tmp_path_factory.mktemp(f"key_{label}"), landing_dir, key=key,
                               select=["+int_persons_pseudonymised", "--exclude", "test_type:data"])
        with built.restricted() as con:
            ids[label] = dict(con.execute(
                "select insz, person_id from intermediate.int_persons_pseudonymised").fetchall())
    return ids


def test_pseudonyms_are_stable_for_one_key_and_unrelated_for_another(pipeline, other_key_ids):
    with pipeline.restricted() as con:
        first = dict(con.execute("select insz, person_id from intermediate.int_persons_pseudonymised").fetchall())
    assert sorted(first.values()) == list(range(1, len(first) + 1))
    assert other_key_ids["same"] == first
    other = other_key_ids["other"]
    assert other.keys() == first.keys()
    same_number = sum(first[insz] == other[insz] for insz in first)
    assert same_number < max(5, len(first) // 50), same_number


def test_build_without_key_stops_with_a_clear_message(tmp_path, landing_dir):
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    env = dbt_env(landing_dir, warehouse, key=None, DBT_LOG_PATH=str(tmp_path / "logs"))
    proc = run_dbt(["build", "--select", "+int_persons_pseudonymised", "--exclude", "test_type:data"], env,
                   tmp_path / "target", check=False)
    assert proc.returncode != 0
    assert "WSE_PSEUDONYM_KEY is not set" in proc.stdout


def test_value_outside_every_class_fails_the_build_naming_model_column_and_value(tmp_path, landing_dir):
    import duckdb

    landing = tmp_path / "landing"
    shutil.copytree(landing_dir, landing)
    partition = landing / "dwh" / "snapshots" / "quarter=2018Q2" / "part-0.parquet"
    con = duckdb.connect()
    con.execute(
        f"copy (select * replace (case when row_number() over () = 1 then 120 else dagen_tewerkstelling end"
        f" as dagen_tewerkstelling) from read_parquet('{partition}')) to '{partition}.tmp' (format parquet)"
    )
    con.close()
    (partition.parent / "part-0.parquet.tmp").rename(partition)
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    env = dbt_env(landing, warehouse, DBT_LOG_PATH=str(tmp_path / "logs"))
    proc = run_dbt(["build", "--select", "+beneficiary_base", "--exclude", "test_type:data"], env,
                   tmp_path / "target", check=False)
    assert proc.returncode != 0
    assert "int_person_quarters_classed.days_worked_class: value 120 lies outside every class of scheme days_in_quarter" in proc.stdout
