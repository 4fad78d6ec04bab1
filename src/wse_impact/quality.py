"""Great Expectations suites (GX 1.x, defined as code) over the tables dbt built.

Why pandas batches: GX 1.x's SQL datasource returns empty metric results on DuckDB (its
engine fetches rows after the connection is closed; and SQLAlchemy / duckdb_engine are not
installed here), so every expectation would fail for the wrong reason. Each suite is
therefore validated on a pandas dataframe read straight from the DuckDB tables that dbt built
(`duckdb` Python API, both databases opened read-only, only the columns a suite needs): the
data GX sees is the built table itself, no exported copy.

Suites (one dataframe each), in four groups:
- reference: every class scheme of seeds/class_bounds.csv is contiguous, non-overlapping,
  and covers its domain.
- staging: the staging rows that passed the quarantine gate (the `int_*_checked` tables keep
  every staging column): value ranges, quarters in 2014Q1-2022Q4, end not before start, code
  sets from the seeds; and the reconciliation rows read = accepted + quarantined, with rows
  read recounted from the staging views.
- intermediate: every raw value lies in [lower, upper) of the class it was given, where
  raw value and class sit side by side (int_person_quarters_classed,
  int_measure_uses_classed); days within the quarter's days.
- marts: classed values are labels of their scheme or 'unknown', codes from the seeds,
  ranges, 36 rows per person (persons counted in the restricted database), keys unique.

`validate()` returns a report; a failed expectation names the table, the column, the
expectation and example values. Data Docs HTML go to `reports/gx/` (configurable).
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import duckdb

GROUPS = ("reference", "staging", "intermediate", "marts")
UNKNOWN_CLASS = "unknown"
PROJECT_DIR = Path(__file__).resolve().parents[2]

# Class columns of the person-quarter panel -> (raw column, class scheme of class_bounds).
# Mirrors models/intermediate/int_person_quarters_classed.sql; a test fails when a `*_class`
# column of the marts is not listed here.
PERSON_CLASSES: dict[str, tuple[str, str]] = {
    "age_class": ("age_years", "age_years"),
    "residence_years_class": ("residence_years", "residence_years"),
    "household_income_class": ("household_income_eur", "household_income_eur"),
    "seniority_class": ("seniority_quarters", "seniority_quarters"),
    "days_worked_class": ("days_worked", "days_in_quarter"),
    "commute_distance_class": ("commute_distance_km", "commute_distance_km"),
    "daily_wage_class": ("daily_wage_eur", "daily_wage_eur"),
    "gross_quarterly_wage_class": ("gross_quarterly_wage_eur", "gross_quarterly_wage_eur"),
    "incapacity_pct_class": ("incapacity_pct", "incapacity_pct"),
    "incapacity_days_class": ("incapacity_days", "days_in_quarter"),
}

# Domain of each class scheme: (minimum, maximum or None when open). The classes must cover
# [minimum, maximum] (or [minimum, infinity)) without gap or overlap.
SCHEME_DOMAINS: dict[str, tuple[float, float | None]] = {
    "incapacity_pct": (0, 100),
    "days_in_quarter": (0, 92),
}
DEFAULT_DOMAIN: tuple[float, float | None] = (0, None)

# Code columns of the person-quarter panel / base files -> (seed table, code column).
PERSON_CODES: dict[str, tuple[str, str]] = {
    "sex_code": ("sexes", "sex_code"),
    "arrondissement_code": ("arrondissements", "arrondissement_code"),
    "province_code": ("provinces", "province_code"),
    "region_code": ("regions", "region_code"),
    "urbanisation_code": ("urbanisation_degrees", "urbanisation_code"),
    "origin_code": ("origin_groups", "origin_group_code"),
    "nationality_code": ("origin_groups", "origin_group_code"),
    "birth_country_code": ("origin_groups", "origin_group_code"),
    "education_level_code": ("education_levels", "education_level_code"),
    "household_type_code": ("household_types", "household_type_code"),
    "nace_section": ("nace_sections", "nace_section"),
    "joint_committee_code": ("joint_committees", "joint_committee_code"),
    "work_regime_code": ("work_regimes", "work_regime_code"),
    "employee_class_code": ("employee_classes", "employee_class_code"),
    "employer_size_code": ("employer_size_classes", "employer_size_code"),
    "socio_economic_position_code": ("socio_economic_positions", "socio_economic_position_code"),
    "additional_position_code": ("additional_positions", "additional_position_code"),
    "job_seeker_category_code": ("job_seeker_categories", "job_seeker_category_code"),
}

# Ranges of person-quarter values (inclusive). Days are checked against the quarter's days.
PERSON_RANGES: dict[str, tuple[float | None, float | None]] = {
    "part_time_pct": (0, 100),
    "incapacity_pct": (0, 100),
    "household_income_eur": (0, None),
    "daily_wage_eur": (0, None),
    "gross_quarterly_wage_eur": (0, None),
    "commute_distance_km": (0, None),
    "residence_years": (0, 120),
    "seniority_quarters": (0, None),
    "quarters_worked": (0, None),
}
# Age at the quarter's last day: nobody in the panel is unborn or implausibly old, and every
# person is of working age (15-66) in at least one study quarter.
AGE_RANGE = (0, 100)
WORKING_AGE = (15, 66)

# Counts of a measure extract: at least 1 when given. Percentages 0-100.
MEASURE_COUNTS = ("grant_duration_quarters", "quarters_used", "hours_requested", "approved_dossiers",
                  "contracts_count", "cheques_requested", "applications_count", "projects_count")
MEASURE_PERCENTAGES = ("employment_pct",)
MEASURE_NON_NEGATIVE = ("days_taken",)


# ----------------------------------------------------------------------------- definitions


@dataclass
class Suite:
    """One expectation suite, validated on one dataframe read by `sql`."""

    name: str  # e.g. "marts.beneficiary_base"
    group: str
    relation: str  # the table named in failures
    sql: str
    expectations: list = field(default_factory=list)


@dataclass
class Failure:
    suite: str
    relation: str
    expectation: str
    columns: str
    details: str

    def __str__(self) -> str:
        return f"{self.relation} | column {self.columns} | {self.expectation} | {self.details}"


@dataclass
class Report:
    suites: list[str]
    n_expectations: int
    failures: list[Failure]
    seconds: float
    docs_index: Path | None
    element_counts: dict[str, int] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, tuple[float, float]] = field(default_factory=dict)  # suite -> (read s, validate s)

    @property
    def success(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        head = (f"{len(self.suites)} suites, {self.n_expectations} expectations, "
                f"{len(self.failures)} failed, {self.seconds:.1f} s")
        if self.docs_index:
            head += f"; Data Docs: {self.docs_index}"
        return "\n".join([head, *(f"  FAILED {f}" for f in self.failures)])


class Warehouse:
    """The two DuckDB databases dbt built, opened read-only in one connection."""

    def __init__(self, warehouse_dir: Path, engine: str | None = None):
        self.dir = Path(warehouse_dir)
        if (engine or os.environ.get("ENGINE") or "duckdb").lower() == "spark":
            # a Spark build: its tables' parquet files, restricted schemas in the main
            # database, research schemas in `wse_impact`, as on DuckDB (views are not files)
            from wse_impact.spark import RESTRICTED_SCHEMAS, research_connection

            self.con = research_connection(self.dir)
            self._attach_spark_restricted(RESTRICTED_SCHEMAS)
            return
        restricted = self.dir / "restricted.duckdb"
        research = self.dir / "wse_impact.duckdb"
        for db in (restricted, research):
            if not db.exists():
                raise FileNotFoundError(f"{db} not found: run `dbt build` first (WSE_WAREHOUSE_DIR={self.dir})")
        self.con = duckdb.connect(str(restricted), read_only=True)
        self.con.execute(f"attach '{research}' as wse_impact (read_only)")

    def _attach_spark_restricted(self, schemas) -> None:
        from wse_impact.spark import spark_root

        warehouse = spark_root(self.dir) / "warehouse"
        for schema in schemas:
            schema_dir = warehouse / f"{schema}.db"
            if not schema_dir.is_dir():
                continue
            self.con.execute(f"create schema if not exists memory.{schema}")
            for table_dir in sorted(p for p in schema_dir.iterdir() if p.is_dir() and any(p.glob("*.parquet"))):
                files = str(table_dir / "*.parquet").replace("'", "''")
                self.con.execute(f"create view memory.{schema}.{table_dir.name} as select * from read_parquet('{files}')")

    def close(self) -> None:
        self.con.close()

    def rows(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def columns(self, relation: str) -> list[str]:
        return [r[0] for r in self.rows(f"select column_name from (describe {relation})")]

    def exists(self, relation: str) -> bool:
        try:
            self.con.execute(f"select 1 from {relation} limit 0")
            return True
        except duckdb.Error:
            return False

    def frame(self, sql: str, plain_text: set[str] | frozenset[str] = frozenset()):
        """The query's rows as a pandas dataframe, through Arrow (DuckDB's own pandas
        conversion is several times slower on text). Decimals and integers arrive as
        float64: GX's pandas range checks are slow on Python Decimal objects and on
        nullable integers, and float64 holds them exactly at these magnitudes.

        Text columns arrive as pandas categoricals (Arrow dictionary encoding): the mart
        columns are low-cardinality codes and class labels, and GX's pandas engine filters
        the whole dataframe by a row mask for every column expectation (dropping the
        column's nulls), which on Arrow-backed strings costs a string copy of every column
        each time (~90 % of the run at scale 1.0); on categoricals it is an integer take.
        In-set, null, distinct-value and (compound) uniqueness checks work on categoricals
        unchanged. Columns in `plain_text` stay strings: ordered or cross-column comparisons
        (column pair expectations) are not defined on unordered categoricals."""
        import pyarrow as pa
        import pyarrow.compute as pc

        rel = self.con.sql(sql)
        numeric = ("DECIMAL", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                   "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE")
        items = [f'cast("{c}" as double) as "{c}"' if str(t).split("(")[0] in numeric else f'"{c}"'
                 for c, t in zip(rel.columns, rel.types)]
        table = rel.project(", ".join(items)).to_arrow_table()

        def encoded(name: str, column):
            if name in plain_text or not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
                return column
            # one chunk, one dictionary: pandas then needs no dictionary unification
            return pa.chunked_array([pc.dictionary_encode(column.combine_chunks())])

        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:  # Arrow releases the GIL
            columns = list(pool.map(encoded, table.column_names, table.columns))
        table = pa.table(columns, names=table.column_names)
        del columns
        frame = table.to_pandas()
        del table
        return frame


def _q(values) -> str:
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)


def measure_catalog(project_dir: Path = PROJECT_DIR) -> dict[str, dict]:
    """The measure catalog declared once in macros/measure_catalog.sql (rendered with jinja)."""
    import jinja2

    class _Return(Exception):
        def __init__(self, value):
            self.value = value

    def _return(value):
        raise _Return(value)

    text = (project_dir / "macros" / "measure_catalog.sql").read_text(encoding="utf-8")
    env = jinja2.Environment(extensions=["jinja2.ext.do"])
    env.globals["return"] = _return
    try:
        env.from_string(text + "{{ measure_catalog() }}").render()
    except _Return as ret:
        return ret.value
    raise RuntimeError("measure_catalog() did not return a value")


# ----------------------------------------------------------------------------- suites


def build_suites(wh: Warehouse, groups: tuple[str, ...] = GROUPS) -> list[Suite]:
    import great_expectations as gx

    E = gx.expectations
    ref = "wse_impact.reference"
    quarters = [r[0] for r in wh.rows(f"select quarter from {ref}.quarters order by quarter")]
    labels: dict[str, list[str]] = {}
    for scheme, label in wh.rows(f"select class_scheme, class_label from {ref}.class_bounds order by class_scheme, class_order"):
        labels.setdefault(scheme, []).append(label)

    def codes(seed: str, column: str) -> list[str]:
        return sorted({row[column] for row in seed_rows(seed) if row[column] != ""})

    catalog = measure_catalog()
    measure_codes = [(r["measure_code"], r["attribute"], r["code"]) for r in seed_rows("measure_codes")]
    measures = codes("measures", "measure_code")
    suites: list[Suite] = []

    def by_measure(column: str, pairs: list[tuple[str, str]], table: str = "") -> tuple[str, Any]:
        """A value allowed only for some measures, checked as one text column
        'measure:value' (vectorised; GX's pandas column-pair set check runs row by row)."""
        name = f"{column}__by_measure"
        prefix = f"{table}." if table else ""
        expr = (f"case when {prefix}{column} is not null then {prefix}measure_code || ':' || "
                f"cast({prefix}{column} as varchar) end as {name}")
        return expr, E.ExpectColumnValuesToBeInSet(column=name, value_set=sorted({f"{m}:{v}" for m, v in pairs}))

    def in_quarters(column: str):
        return E.ExpectColumnValuesToBeInSet(column=column, value_set=quarters)

    def person_code_expectations(columns: list[str]) -> list:
        out = []
        for column, (seed, code_column) in PERSON_CODES.items():
            if column in columns:
                allowed = codes(seed, code_column)
                if seed == "socio_economic_positions":
                    allowed = sorted(set(allowed) | {"0.0"})  # 'not in register' (int_person_quarters_classed)
                out.append(E.ExpectColumnValuesToBeInSet(column=column, value_set=allowed))
        return out

    def range_expectations(columns: list[str], ranges: dict) -> list:
        return [E.ExpectColumnValuesToBeBetween(column=c, min_value=lo, max_value=hi)
                for c, (lo, hi) in ranges.items() if c in columns]

    # --- reference: class schemes contiguous, non-overlapping, covering their domain
    if "reference" in groups:
        domains = ", ".join(f"('{s}', {lo}, {'null' if hi is None else hi})" for s, (lo, hi) in SCHEME_DOMAINS.items())
        sql = f"""
            with bounds as (
                select
                    class_scheme, class_order, class_label,
                    cast(lower_bound as double) as lower_bound,
                    cast(upper_bound as double) as upper_bound,
                    lag(cast(upper_bound as double)) over w as previous_upper_bound,
                    row_number() over w = 1 as is_first,
                    row_number() over w = count(*) over (partition by class_scheme) as is_last
                from {ref}.class_bounds
                window w as (partition by class_scheme order by class_order)
            ),
            domains as (
                select * from (values {domains}) as d(class_scheme, domain_min, domain_max)
            )
            select
                bounds.class_scheme || ' ' || bounds.class_label as scheme_class,
                case
                    when not bounds.is_first and bounds.previous_upper_bound is null
                        then 'open class before the last one'
                    when not bounds.is_first and bounds.lower_bound > bounds.previous_upper_bound
                        then 'gap: starts at ' || bounds.lower_bound || ', previous class ends at ' || bounds.previous_upper_bound
                    when not bounds.is_first and bounds.lower_bound < bounds.previous_upper_bound
                        then 'overlap: starts at ' || bounds.lower_bound || ', previous class ends at ' || bounds.previous_upper_bound
                end as contiguity_problem,
                case
                    when bounds.upper_bound is not null and bounds.upper_bound <= bounds.lower_bound
                        then 'empty class [' || bounds.lower_bound || ', ' || bounds.upper_bound || ')'
                    when bounds.is_first and bounds.lower_bound > coalesce(domains.domain_min, {DEFAULT_DOMAIN[0]})
                        then 'domain not covered below ' || bounds.lower_bound
                    when bounds.is_last and bounds.upper_bound is not null and domains.domain_max is null
                        then 'domain not covered from ' || bounds.upper_bound || ' (open domain needs an open last class)'
                    when bounds.is_last and bounds.upper_bound is not null and bounds.upper_bound <= domains.domain_max
                        then 'domain not covered from ' || bounds.upper_bound || ' to ' || domains.domain_max
                end as coverage_problem,
                bounds.class_label
            from bounds
            left join domains on bounds.class_scheme = domains.class_scheme
        """
        suites.append(Suite("reference.class_bounds", "reference", "reference.class_bounds", sql, [
            E.ExpectColumnValuesToBeNull(column="contiguity_problem"),
            E.ExpectColumnValuesToBeNull(column="coverage_problem"),
            E.ExpectColumnValuesToBeUnique(column="scheme_class"),
            E.ExpectColumnValuesToNotBeNull(column="class_label"),
        ]))

        # the code seeds as built keep their codes as written ('000', '01', '318.02'): a seed
        # loaded with inferred numeric types loses leading zeros and no longer joins the data
        for seed, code_column in sorted(set(PERSON_CODES.values()) | {("measure_codes", "code"), ("measures", "measure_code")}):
            suites.append(Suite(f"reference.{seed}", "reference", f"reference.{seed}",
                                f"select cast({code_column} as varchar) as {code_column} from {ref}.{seed}", [
                E.ExpectColumnValuesToBeInSet(column=code_column, value_set=codes(seed, code_column)),
                E.ExpectTableRowCountToEqual(value=len(seed_rows(seed))),
            ]))

    # --- staging: the staging values of the rows that passed the gate
    if "staging" in groups:
        rel = "intermediate.int_snapshots_checked"
        cols = wh.columns(rel)
        suites.append(Suite("staging.snapshots_accepted", "staging", f"{rel} (accepted staging rows)", f"""
            select s.*, q.days_in_quarter,
                date_sub('year', s.birth_date, q.last_day) as age_years
            from {rel} as s
            left join wse_impact.reference.quarters as q on s.snapshot_quarter = q.quarter
            where s.is_accepted
        """, [
            E.ExpectTableRowCountToBeBetween(min_value=1),
            E.ExpectColumnValuesToNotBeNull(column="insz"),
            in_quarters("snapshot_quarter"),
            E.ExpectCompoundColumnsToBeUnique(column_list=["insz", "snapshot_quarter"]),
            E.ExpectColumnValuesToBeBetween(column="days_worked", min_value=0),
            E.ExpectColumnPairValuesAToBeGreaterThanB(column_A="days_in_quarter", column_B="days_worked",
                                                      or_equal=True, ignore_row_if="either_value_is_missing"),
            E.ExpectColumnPairValuesAToBeGreaterThanB(column_A="days_in_quarter", column_B="incapacity_days",
                                                      or_equal=True, ignore_row_if="either_value_is_missing"),
            E.ExpectColumnValuesToBeBetween(column="age_years", min_value=AGE_RANGE[0], max_value=AGE_RANGE[1]),
            *range_expectations(cols, PERSON_RANGES),
            *person_code_expectations(cols),
        ]))

        rel = "intermediate.int_measure_uses_checked"
        cols = wh.columns(rel)
        quarter_cols = [c for c in cols if c.endswith("_quarter") or re.fullmatch(r"\w+_quarter_\d+", c)]
        code_pairs = {}
        for measure, attribute, code in measure_codes:
            code_pairs.setdefault(attribute, []).append((measure, code))
        code_checks = [by_measure(attr, pairs) for attr, pairs in sorted(code_pairs.items()) if attr in cols]
        suites.append(Suite("staging.measure_uses_accepted", "staging", f"{rel} (accepted staging rows)",
                            f"select *, {', '.join(sql for sql, _ in code_checks) or 'null as no_codes'} "
                            f"from {rel} where is_accepted", [
            E.ExpectTableRowCountToBeBetween(min_value=1),
            E.ExpectColumnValuesToNotBeNull(column="insz"),
            E.ExpectColumnValuesToBeInSet(column="measure_code", value_set=measures),
            E.ExpectCompoundColumnsToBeUnique(column_list=["measure_code", "insz"]),
            *(in_quarters(c) for c in quarter_cols),
            E.ExpectColumnPairValuesAToBeGreaterThanB(column_A="end_quarter", column_B="start_quarter", or_equal=True,
                                                      ignore_row_if="either_value_is_missing"),
            *(E.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in cols if c.endswith("_eur")),
            *(E.ExpectColumnValuesToBeBetween(column=c, min_value=1) for c in MEASURE_COUNTS if c in cols),
            *(E.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=100) for c in MEASURE_PERCENTAGES if c in cols),
            *(E.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in MEASURE_NON_NEGATIVE if c in cols),
            *(exp for _, exp in code_checks),
        ]))

        rel = "intermediate.reconciliation"
        read_counts = " union all ".join(
            [f"select 'wse.{m}' as source_name, count(*) as n from staging.stg_wse__{m}" for m in catalog]
            + ["select 'dwh.snapshots', count(*) from staging.stg_dwh__snapshots",
               "select 'dwh.control_sample', count(*) from staging.stg_dwh__control_sample"])
        suites.append(Suite("staging.reconciliation", "staging", rel, f"""
            with staged as ({read_counts}),
            quarantined as (select source_name, count(*) as n from intermediate.quarantine group by source_name)
            select
                coalesce(r.source_name, staged.source_name) as source_name,
                r.rows_read,
                r.rows_accepted + r.rows_quarantined as rows_accepted_plus_quarantined,
                staged.n as rows_in_staging,
                r.rows_quarantined,
                coalesce(quarantined.n, 0) as rows_in_quarantine
            from {rel} as r
            full join staged on r.source_name = staged.source_name
            left join quarantined on coalesce(r.source_name, staged.source_name) = quarantined.source_name
        """, [
            E.ExpectTableRowCountToEqual(value=len(catalog) + 2),
            E.ExpectColumnValuesToNotBeNull(column="rows_read"),
            E.ExpectColumnPairValuesToBeEqual(column_A="rows_read", column_B="rows_accepted_plus_quarantined"),
            E.ExpectColumnPairValuesToBeEqual(column_A="rows_read", column_B="rows_in_staging"),
            E.ExpectColumnPairValuesToBeEqual(column_A="rows_quarantined", column_B="rows_in_quarantine"),
        ]))

    # --- intermediate: raw values inside the bounds of the class they were given
    if "intermediate" in groups:
        rel = "intermediate.int_person_quarters_classed"
        cols = wh.columns(rel)
        selects = {"person_id": "p.person_id", "snapshot_quarter": "p.snapshot_quarter",
                   "days_in_quarter": "q.days_in_quarter", "days_worked": "p.days_worked"}
        joins, exps = [f"left join {ref}.quarters as q on q.quarter = p.snapshot_quarter"], []
        for i, (class_col, (raw, scheme)) in enumerate(PERSON_CLASSES.items()):
            if class_col not in cols:
                continue
            b = f"b{i}"
            selects.update({
                class_col: f"p.{class_col}",
                raw: f"p.{raw}",
                f"{class_col}_lower": f"{b}.lower_bound",
                f"{class_col}_upper": f"coalesce({b}.upper_bound, 'infinity'::double)",
            })
            joins.append(f"left join bounds as {b} on {b}.class_scheme = '{scheme}' and {b}.class_label = p.{class_col}")
            exps += [
                E.ExpectColumnValuesToBeInSet(column=class_col, value_set=labels.get(scheme, []) + [UNKNOWN_CLASS]),
                E.ExpectColumnPairValuesAToBeGreaterThanB(column_A=raw, column_B=f"{class_col}_lower", or_equal=True,
                                                          ignore_row_if="either_value_is_missing"),
                E.ExpectColumnPairValuesAToBeGreaterThanB(column_A=f"{class_col}_upper", column_B=raw,
                                                          ignore_row_if="either_value_is_missing"),
            ]
        bounds_cte = (f"with bounds as (select class_scheme, class_label, cast(lower_bound as double) as lower_bound, "
                      f"cast(upper_bound as double) as upper_bound from {ref}.class_bounds)")
        sql = f"{bounds_cte} select {', '.join(f'{e} as {n}' for n, e in selects.items())} from {rel} as p {' '.join(joins)}"
        suites.append(Suite("intermediate.person_quarters_classed", "intermediate", rel, sql, [
            E.ExpectCompoundColumnsToBeUnique(column_list=["person_id", "snapshot_quarter"]),
            E.ExpectColumnPairValuesAToBeGreaterThanB(column_A="days_in_quarter", column_B="days_worked", or_equal=True,
                                                      ignore_row_if="either_value_is_missing"),
            *exps,
        ]))
        # every person is of working age in at least one study quarter
        suites.append(Suite("intermediate.person_ages", "intermediate", rel, f"""
            select person_id, min(age_years) as youngest_age, max(age_years) as oldest_age
            from {rel} group by person_id
        """, [
            E.ExpectColumnValuesToBeBetween(column="oldest_age", min_value=WORKING_AGE[0]),
            E.ExpectColumnValuesToBeBetween(column="youngest_age", max_value=WORKING_AGE[1]),
        ]))

        rel = "intermediate.int_measure_uses_classed"
        cols = wh.columns(rel)
        selects, joins, exps = ["m.measure_code"], [], []
        for i, (raw, schemes) in enumerate(sorted(classed_measure_schemes(catalog).items())):
            class_col = raw.removesuffix("_eur") + "_class"
            if class_col not in cols:
                continue
            b = f"b{i}"
            case = " ".join(f"when '{m}' then '{s}'" for m, s in sorted(schemes.items()))
            selects += [f"m.{class_col}", f"cast(m.{raw} as double) as {raw}",
                        f"{b}.lower_bound as {class_col}_lower", f"coalesce({b}.upper_bound, 'infinity'::double) as {class_col}_upper"]
            joins.append(f"left join bounds as {b} on {b}.class_scheme = (case m.measure_code {case} end) and {b}.class_label = m.{class_col}")
            pairs = [(m, label) for m, s in schemes.items() for label in labels.get(s, []) + [UNKNOWN_CLASS]]
            label_sql, label_check = by_measure(class_col, pairs, "m")
            selects.append(label_sql)
            exps += [
                label_check,
                E.ExpectColumnPairValuesAToBeGreaterThanB(column_A=raw, column_B=f"{class_col}_lower", or_equal=True,
                                                          ignore_row_if="either_value_is_missing"),
                E.ExpectColumnPairValuesAToBeGreaterThanB(column_A=f"{class_col}_upper", column_B=raw,
                                                          ignore_row_if="either_value_is_missing"),
            ]
        sql = f"{bounds_cte} select {', '.join(selects)} from {rel} as m {' '.join(joins)}"
        suites.append(Suite("intermediate.measure_uses_classed", "intermediate", rel, sql, exps))

    # --- marts
    if "marts" in groups:
        n_persons = dict(wh.rows("""
            select 'beneficiary', count(*) filter (where is_beneficiary) from intermediate.int_persons_pseudonymised
            union all
            select 'control', count(*) filter (where is_control) from intermediate.int_persons_pseudonymised
        """))
        for base, kind in (("beneficiary_base", "beneficiary"), ("control_base", "control")):
            rel = f"wse_impact.marts.{base}"
            cols = wh.columns(rel)
            class_cols = [c for c in cols if c.endswith("_class")]
            exps = [
                E.ExpectTableRowCountToEqual(value=len(quarters) * n_persons[kind]),
                E.ExpectColumnValuesToNotBeNull(column="person_id"),
                E.ExpectColumnValuesToBeBetween(column="person_id", min_value=1),
                E.ExpectCompoundColumnsToBeUnique(column_list=["person_id", "snapshot_quarter"]),
                E.ExpectColumnDistinctValuesToEqualSet(column="snapshot_quarter", value_set=quarters),
                *(E.ExpectColumnValuesToBeInSet(column=c, value_set=labels.get(PERSON_CLASSES[c][1], []) + [UNKNOWN_CLASS])
                  for c in class_cols if c in PERSON_CLASSES),
                *(E.ExpectColumnValuesToNotBeNull(column=c) for c in class_cols),
                *range_expectations(cols, PERSON_RANGES),
                *person_code_expectations(cols),
            ]
            if "is_beneficiary" in cols:
                exps.append(E.ExpectColumnValuesToNotBeNull(column="is_beneficiary"))
            needed = sorted({e.column for e in exps if hasattr(e, "column") and e.column}
                            | {c for e in exps for c in (getattr(e, "column_list", None) or [])})
            # codes compared as text: a code column typed as a number has lost its leading zeros
            selected = [f"cast({c} as varchar) as {c}" if c in PERSON_CODES else c for c in needed]
            suites.append(Suite(f"marts.{base}", "marts", f"marts.{base}",
                                f"select {', '.join(selected)} from {rel}", exps))

        rel = "wse_impact.marts.beneficiary_measures"
        cols = wh.columns(rel)
        n_uses = wh.rows("select count(*) from intermediate.int_measure_uses_classed")[0][0]
        quarter_cols = [c for c in cols if c.endswith("_quarter") or re.fullmatch(r"\w+_quarter_\d+", c)]
        code_pairs = {}
        for measure, attribute, code in measure_codes:
            code_pairs.setdefault(attribute, []).append((measure, code))
        exps = [
            E.ExpectTableRowCountToEqual(value=n_uses),
            E.ExpectColumnValuesToNotBeNull(column="person_id"),
            E.ExpectColumnValuesToBeInSet(column="measure_code", value_set=measures),
            E.ExpectCompoundColumnsToBeUnique(column_list=["person_id", "measure_code"]),
            *(in_quarters(c) for c in quarter_cols),
            *(E.ExpectColumnValuesToBeBetween(column=c, min_value=1) for c in MEASURE_COUNTS if c in cols),
            *(E.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=100) for c in MEASURE_PERCENTAGES if c in cols),
        ]
        checks = [by_measure(attr, pairs) for attr, pairs in sorted(code_pairs.items()) if attr in cols]
        for raw, schemes in sorted(classed_measure_schemes(catalog).items()):
            class_col = raw.removesuffix("_eur") + "_class"
            if class_col in cols:
                pairs = [(m, label) for m, s in schemes.items() for label in labels.get(s, []) + [UNKNOWN_CLASS]]
                checks.append(by_measure(class_col, pairs))
        exps += [exp for _, exp in checks]
        suites.append(Suite("marts.beneficiary_measures", "marts", "marts.beneficiary_measures",
                            f"select *, {', '.join(sql for sql, _ in checks) or 'null as no_codes'} from {rel}", exps))
    return suites


def seed_rows(seed: str, project_dir: Path = PROJECT_DIR) -> list[dict[str, str]]:
    """A seed as written (text), the reference for code sets."""
    import csv

    with open(project_dir / "seeds" / f"{seed}.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def classed_measure_schemes(catalog: dict) -> dict[str, dict[str, str]]:
    """raw column -> {measure: class scheme} for the classed amounts and day counts."""
    classed: dict[str, dict[str, str]] = {}
    for measure, spec in catalog.items():
        for raw, scheme in {**spec.get("amounts", {}), **spec.get("day_counts", {})}.items():
            classed.setdefault(raw, {})[measure] = scheme
    return classed


# ----------------------------------------------------------------------------- running


def _columns_of(config) -> str:
    kw = config.kwargs
    if "column" in kw:
        return kw["column"]
    if "column_A" in kw:
        return f"{kw['column_A']}, {kw['column_B']}"
    if "column_list" in kw:
        return ", ".join(kw["column_list"])
    return "(table)"


def raised_exception(result) -> str | None:
    """The message of an exception GX caught while computing an expectation's metrics: the
    expectation then "fails" without having looked at the data (a wrong-reason failure)."""
    info = result.exception_info or {}
    candidates = [info, *(v for v in info.values() if isinstance(v, dict))]
    for item in candidates:
        if item.get("raised_exception"):
            return str(item.get("exception_message"))
    return None


def _details(result) -> str:
    error = raised_exception(result)
    if error:
        return f"raised: {error}"
    res = result.result or {}
    parts = []
    if "observed_value" in res:
        parts.append(f"observed {res['observed_value']!r}")
    if "unexpected_count" in res:
        parts.append(f"{res['unexpected_count']} of {res.get('element_count')} rows unexpected")
    def plain(value):  # numpy scalars print as np.float64(...)
        if isinstance(value, (list, tuple)):
            return tuple(plain(v) for v in value)
        return value.item() if hasattr(value, "item") and not isinstance(value, str) else value

    examples = [plain(v) for v in res.get("partial_unexpected_list") or []]
    if examples:
        distinct = list(dict.fromkeys(examples))[:5]
        parts.append("examples " + ", ".join(repr(v) for v in distinct))
    kw = {k: v for k, v in result.expectation_config.kwargs.items()
          if k in ("min_value", "max_value", "value", "or_equal") and v is not None}
    if kw:
        parts.append(f"expected {kw}")
    return "; ".join(parts) or "failed"


def _pair_columns(suite: Suite) -> set[str]:
    """Columns compared across columns (column pair expectations): read as plain text."""
    return {kw[k] for e in suite.expectations for kw in [e.configuration.kwargs] for k in ("column_A", "column_B")
            if kw.get(k)}


def validate(warehouse_dir: Path | str, groups: tuple[str, ...] = GROUPS, docs_dir: Path | str | None = "reports/gx",
             suite_filter: Callable[[Suite], bool] | None = None, engine: str | None = None) -> Report:
    """Run the suites on the built warehouse (read-only); write Data Docs to `docs_dir`."""
    import logging

    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    started = time.perf_counter()
    wh = Warehouse(Path(warehouse_dir), engine)
    try:
        suites = [s for s in build_suites(wh, groups) if suite_filter is None or suite_filter(s)]
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        actions = []
        docs_index = None
        if docs_dir:
            docs_path = Path(docs_dir).resolve()
            docs_path.mkdir(parents=True, exist_ok=True)
            context.add_data_docs_site("wse_impact", {
                "class_name": "SiteBuilder",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_path)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            })
            docs_index = docs_path / "index.html"
        source = context.data_sources.add_pandas("warehouse")
        failures: list[Failure] = []
        n_expectations = 0
        element_counts, results, timings = {}, {}, {}
        for suite in suites:
            asset = source.add_dataframe_asset(suite.name)
            batch_definition = asset.add_batch_definition_whole_dataframe("whole_table")
            gx_suite = context.suites.add(gx.ExpectationSuite(name=suite.name, expectations=suite.expectations))
            definition = context.validation_definitions.add(
                gx.ValidationDefinition(name=suite.name, data=batch_definition, suite=gx_suite))
            # First pass with BOOLEAN_ONLY: every row is checked, but GX skips the metrics
            # that only feed the report (in BASIC, collecting the example values of each map
            # expectation filters the whole dataframe again, even when nothing is unexpected).
            # A suite with a failure is validated again in BASIC, on the same dataframe, so the
            # failure shows counts and example values (and Data Docs the full result).
            checkpoint = context.checkpoints.add(gx.Checkpoint(
                name=suite.name, validation_definitions=[definition], actions=actions,
                result_format={"result_format": "BOOLEAN_ONLY"}))
            t0 = time.perf_counter()
            frame = wh.frame(suite.sql, plain_text=_pair_columns(suite))
            t1 = time.perf_counter()
            element_counts[suite.name] = len(frame)
            run = checkpoint.run(batch_parameters={"dataframe": frame})
            if not run.success:
                checkpoint.result_format = {"result_format": "BASIC", "partial_unexpected_count": 20}
                checkpoint.save()
                run = checkpoint.run(batch_parameters={"dataframe": frame})
            del frame
            timings[suite.name] = (t1 - t0, time.perf_counter() - t1)
            for validation in run.run_results.values():
                results[suite.name] = validation
                for result in validation.results:
                    n_expectations += 1
                    if not result.success:
                        failures.append(Failure(suite.name, suite.relation, result.expectation_config.type,
                                                _columns_of(result.expectation_config), _details(result)))
            del run
            gc.collect()  # the suite's dataframe, before the next one is read
        if docs_index:
            # rendered once from the stored results (an UpdateDataDocsAction per checkpoint
            # re-renders the whole site each time)
            context.build_data_docs(site_names=["wse_impact"])
        return Report([s.name for s in suites], n_expectations, failures, time.perf_counter() - started,
                      docs_index, element_counts, results, timings)
    finally:
        wh.close()


def main_validate(args: argparse.Namespace) -> int:
    warehouse = Path(args.warehouse_dir or os.environ.get("WSE_WAREHOUSE_DIR", "warehouse"))
    groups = tuple(g.strip() for g in args.suites.split(",")) if args.suites else GROUPS
    unknown = set(groups) - set(GROUPS)
    if unknown:
        print(f"unknown suite group(s) {sorted(unknown)}; choose from {', '.join(GROUPS)}", file=sys.stderr)
        return 2
    report = validate(warehouse, groups, None if args.no_docs else args.docs_dir, engine=getattr(args, "engine", None))
    print(report.summary())
    return 0 if report.success else 1
