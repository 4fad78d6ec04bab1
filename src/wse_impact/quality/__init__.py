"""Great Expectations suites (GX 1.x, defined as code) over the tables dbt built, computed in
the engine that holds the data.

How GX runs: every suite is a GX *query asset* of a read-only DuckDB data source
(`wse_impact.quality.gx_duckdb`): GX's own SQL execution engine turns each expectation into
aggregate queries that DuckDB runs where the data is; only metric values and a few example
rows come back to Python. Memory does not grow with the table (DuckDB's `memory_limit`
holds for the queries; `WSE_VALIDATE_MEMORY_LIMIT`, default 1 GB). GX 1.x's stock SQL data
source returns empty metrics on DuckDB (it fetches after closing the connection); the
DuckDB data source here keeps its connection, the fix GX applies to SQLite (see
gx_duckdb.py). On a Spark build (`--engine spark`) `SparkSource` gives each suite's query
to `spark.sql` in a session on the build's warehouse and metastore and hands GX the
DataFrame (`add_spark` data source, dataframe asset): Spark computes the metrics, staging
views included. The suites themselves are engine-neutral (a relation, a SQL select both
engines run, GX expectations).

Where the rules come from (declared once, derived here):
- Column declarations in the models' yml, read from dbt's manifest (`Declarations`): a code
  column names its seed column (`codes: <seed>.<column>`), a class column its raw column
  and class scheme (`classes: {value, scheme}`), a raw value its range (`range: [min,
  max]`). A model's column inherits the declaration of the parent model's column of the same
  name (the base files copy the panel's columns), so the panel's yml declares them once for
  the panel's casts, the base files and these suites.
- Key columns: the models' `unique_combination` data tests.
- Code sets from the seed files; class labels and bounds from seeds/class_bounds.csv; the
  domain each class scheme must cover from class_bounds' `scheme_domains` meta.
- The measure catalog (macros/measure_catalog.sql) for the measure extracts.

Suites, in four groups:
- reference: every class scheme of class_bounds is contiguous, non-overlapping and covers
  its domain; the code seeds keep their codes as written.
- staging: the staging rows that passed the quarantine gate (`int_*_checked`): ranges,
  quarters, code sets; reconciliation rows read = accepted + quarantined.
- intermediate: each raw value lies in [lower, upper) of the class it was given, where raw
  value and class sit side by side (panel, measure uses).
- marts: class labels of their scheme (or 'unknown'), codes of their seed, ranges, 36 rows
  per person, keys unique.

`validate()` returns a report; a failed expectation names the table, the column, the
expectation and example values. Data Docs HTML go to `reports/gx/` (configurable).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Iterable

import duckdb

from wse_impact.settings import PROJECT_DIR, validate_memory_limit, warehouse_dir as default_warehouse_dir
from wse_impact.settings import RESEARCH_DB, RESTRICTED_DB

GROUPS = ("reference", "staging", "intermediate", "marts")
UNKNOWN_CLASS = "unknown"
PANEL = "int_person_quarters_classed"

# Every person is of working age (15-66) in at least one study quarter.
WORKING_AGE = (15, 66)

# Counts of a measure extract: at least 1 when given. Percentages 0-100.
MEASURE_COUNTS = ("grant_duration_quarters", "quarters_used", "hours_requested", "approved_dossiers",
                  "contracts_count", "cheques_requested", "applications_count", "projects_count")
MEASURE_PERCENTAGES = ("employment_pct",)
MEASURE_NON_NEGATIVE = ("days_taken",)


# ----------------------------------------------------------------------------- declarations


@dataclass(frozen=True)
class CodeColumn:
    column: str
    seed: str
    seed_column: str


@dataclass(frozen=True)
class ClassColumn:
    column: str
    value_column: str
    scheme: str


@dataclass(frozen=True)
class ValueRange:
    column: str
    minimum: float | None
    maximum: float | None


class Declarations:
    """The column declarations of dbt's manifest (see the module doc)."""

    def __init__(self, manifest: dict):
        self.nodes = manifest["nodes"]
        self.by_name = {n["name"]: n for n in self.nodes.values() if n["resource_type"] in ("model", "seed")}

    @classmethod
    def load(cls, manifest_path: Path | str | None = None) -> "Declarations":
        path = Path(manifest_path) if manifest_path else default_manifest()
        if not path.exists():
            raise FileNotFoundError(f"{path} not found: run `dbt build` (or `dbt parse`) first")
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def _meta(self, model: str, column: str, key: str, seen: frozenset = frozenset()) -> Any:
        """A column's declaration `key`: its own, else that of the same-named column of the
        nearest parent model that declares it."""
        node = self.by_name.get(model)
        if node is None or model in seen:
            return None
        info = node.get("columns", {}).get(column)
        if info is not None:
            meta = {**(info.get("config") or {}).get("meta", {}), **info.get("meta", {})}
            if key in meta:
                return meta[key]
        for parent_id in node.get("depends_on", {}).get("nodes", []):
            parent = self.nodes.get(parent_id)
            if parent and parent["resource_type"] == "model":
                value = self._meta(parent["name"], column, key, seen | {model})
                if value is not None:
                    return value
        return None

    def columns(self, model: str) -> list[str]:
        return list(self.by_name[model].get("columns", {})) if model in self.by_name else []

    def _declared(self, model: str, key: str, columns: Iterable[str] | None) -> list[tuple[str, Any]]:
        """(column, declaration) for the model's columns (or `columns`) that declare `key`."""
        found = ((column, self._meta(model, column, key))
                 for column in (self.columns(model) if columns is None else columns))
        return [(column, declared) for column, declared in found if declared]

    def codes(self, model: str, columns: Iterable[str] | None = None) -> list[CodeColumn]:
        return [CodeColumn(column, *declared.split("."))
                for column, declared in self._declared(model, "codes", columns)]

    def classes(self, model: str, columns: Iterable[str] | None = None) -> list[ClassColumn]:
        return [ClassColumn(column, declared["value"], declared["scheme"])
                for column, declared in self._declared(model, "classes", columns)]

    def ranges(self, model: str, columns: Iterable[str] | None = None) -> list[ValueRange]:
        return [ValueRange(column, declared[0], declared[1])
                for column, declared in self._declared(model, "range", columns)]

    def unique_keys(self, model: str) -> list[list[str]]:
        """The column lists of the model's `unique_combination` data tests."""
        node = self.by_name[model]
        keys = []
        for test in self.nodes.values():
            meta = test.get("test_metadata") or {}
            if (test["resource_type"] == "test" and meta.get("name") == "unique_combination"
                    and test.get("attached_node") == node["unique_id"]):
                keys.append(list(meta["kwargs"]["columns"]))
        return keys

    def contract_type(self, model: str, column: str) -> str | None:
        info = self.by_name[model].get("columns", {}).get(column) or {}
        return info.get("data_type")

    def seed_enum_type(self, seed: str, column: str) -> str | None:
        info = self.by_name[seed]["columns"].get(column) or {}
        return {**(info.get("config") or {}).get("meta", {}), **info.get("meta", {})}.get("enum_type")

    def scheme_domains(self) -> tuple[dict[str, tuple[float, float | None]], tuple[float, float | None]]:
        meta = self.by_name["class_bounds"]["config"].get("meta", {})
        domains = {scheme: (lo, hi) for scheme, (lo, hi) in meta.get("scheme_domains", {}).items()}
        default = tuple(meta.get("default_domain", [0, None]))
        return domains, default  # type: ignore[return-value]


def default_manifest() -> Path:
    target = os.environ.get("DBT_TARGET_PATH", "target")
    return Path(target) / "manifest.json" if Path(target).is_absolute() else PROJECT_DIR / target / "manifest.json"


class Seeds:
    """The seed files as written (text): the reference for code sets, labels and bounds."""

    def __init__(self, project_dir: Path = PROJECT_DIR):
        self.project_dir = project_dir

    def rows(self, seed: str) -> list[dict[str, str]]:
        return seed_rows(seed, self.project_dir)

    def codes(self, seed: str, column: str) -> list[str]:
        return sorted({row[column] for row in self.rows(seed) if row[column] != ""})

    @cached_property
    def class_bounds(self) -> dict[str, list[dict[str, str]]]:
        schemes: dict[str, list[dict[str, str]]] = {}
        for row in sorted(self.rows("class_bounds"), key=lambda r: (r["class_scheme"], int(r["class_order"]))):
            schemes.setdefault(row["class_scheme"], []).append(row)
        return schemes

    def labels(self, scheme: str) -> list[str]:
        if scheme not in self.class_bounds:
            raise KeyError(f"class scheme {scheme!r} has no rows in seeds/class_bounds.csv")
        return [row["class_label"] for row in self.class_bounds[scheme]]


# ----------------------------------------------------------------------------- definitions


@dataclass
class Suite:
    """One expectation suite on the rows of one SQL select (a relation, or a few columns of
    it joined to what the rules compare with). The SQL is the engine's to run."""

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
    timings: dict[str, float] = field(default_factory=dict)  # suite -> validation seconds

    @property
    def success(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        head = (f"{len(self.suites)} suites, {self.n_expectations} expectations, "
                f"{len(self.failures)} failed, {self.seconds:.1f} s")
        if self.docs_index:
            head += f"; Data Docs: {self.docs_index}"
        return "\n".join([head, *(f"  FAILED {f}" for f in self.failures)])


def warehouse_files(warehouse_dir: Path) -> tuple[Path, Path]:
    restricted, research = Path(warehouse_dir) / RESTRICTED_DB, Path(warehouse_dir) / RESEARCH_DB
    for db in (restricted, research):
        if not db.exists():
            raise FileNotFoundError(f"{db} not found: run `dbt build` first (WSE_WAREHOUSE_DIR={warehouse_dir})")
    return restricted, research


class Warehouse:
    """The two DuckDB databases dbt built, opened read-only, for the few facts the suites are
    made from (column lists, expected row counts); closed before the suites run."""

    def __init__(self, warehouse_dir: Path):
        self.dir = Path(warehouse_dir)
        restricted, research = warehouse_files(self.dir)
        self.con = duckdb.connect(str(restricted), read_only=True)
        self.con.execute(f"attach if not exists '{research}' as wse_impact (read_only)")

    def close(self) -> None:
        self.con.close()

    def rows(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def columns(self, relation: str) -> list[str]:
        return [r[0] for r in self.rows(f"select column_name from (describe {relation})")]


def project_macro(file_name: str, call: str, project_dir: Path = PROJECT_DIR) -> Any:
    """What a macro of the project gives, its `return` value or else its text, rendered with
    plain jinja: for the macros that need nothing of dbt (the measure catalog, the age
    formula), so that Python reads the rule where it is declared."""
    import jinja2

    class _Return(Exception):
        def __init__(self, value):
            self.value = value

    def _return(value):
        raise _Return(value)

    text = (project_dir / "macros" / file_name).read_text(encoding="utf-8")
    env = jinja2.Environment(extensions=["jinja2.ext.do"])
    env.globals["return"] = _return
    try:
        return env.from_string(text + "{{ " + call + " }}").render().strip()
    except _Return as ret:
        return ret.value


def measure_catalog(project_dir: Path = PROJECT_DIR) -> dict[str, dict]:
    """The measure catalog declared once in macros/measure_catalog.sql."""
    catalog = project_macro("measure_catalog.sql", "measure_catalog()", project_dir)
    if not isinstance(catalog, dict):
        raise RuntimeError("measure_catalog() did not return a value")
    return catalog


def age_in_years_sql(birth_date: str, at_date: str) -> str:
    """The panel's age formula (macros/engine.sql, `age_in_years`), SQL both engines run."""
    return project_macro("engine.sql", f"age_in_years({birth_date!r}, {at_date!r})")


def seed_rows(seed: str, project_dir: Path = PROJECT_DIR) -> list[dict[str, str]]:
    """A seed as written (text), the reference for code sets."""
    with open(project_dir / "seeds" / f"{seed}.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def classed_measure_schemes(catalog: dict) -> dict[str, dict[str, str]]:
    """raw column -> {measure: class scheme} for the classed amounts and day counts."""
    classed: dict[str, dict[str, str]] = {}
    for measure, spec in catalog.items():
        for raw, scheme in {**spec.get("amounts", {}), **spec.get("day_counts", {})}.items():
            classed.setdefault(raw, {})[measure] = scheme
    return classed


# ----------------------------------------------------------------------------- rules
# One small function per kind of rule: declarations in, GX expectations out.


def _E():
    import great_expectations as gx

    return gx.expectations


def code_rules(codes: Iterable[CodeColumn], seeds: Seeds) -> list:
    """A code column holds only codes of its seed column."""
    return [_E().ExpectColumnValuesToBeInSet(column=c.column, value_set=seeds.codes(c.seed, c.seed_column))
            for c in codes]


def class_label_rules(classes: Iterable[ClassColumn], seeds: Seeds) -> list:
    """A class column holds a label of its scheme or 'unknown', never null."""
    E = _E()
    out = []
    for c in classes:
        out += [E.ExpectColumnValuesToBeInSet(column=c.column, value_set=seeds.labels(c.scheme) + [UNKNOWN_CLASS]),
                E.ExpectColumnValuesToNotBeNull(column=c.column)]
    return out


def range_rules(ranges: Iterable[ValueRange]) -> list:
    """A value within its declared [minimum, maximum]."""
    return [_E().ExpectColumnValuesToBeBetween(column=r.column, min_value=r.minimum, max_value=r.maximum)
            for r in ranges]


def key_rules(keys: Iterable[list[str]]) -> list:
    """Key columns unique together (the model's unique_combination tests)."""
    return [_E().ExpectCompoundColumnsToBeUnique(column_list=list(key)) for key in keys]


def within_class_rules(c: ClassColumn, bounds_alias: str) -> tuple[dict[str, str], str, list]:
    """The raw value lies in [lower, upper) of the class it was given: selects (raw value,
    the class's bounds), the join to the class bounds, and the expectations."""
    E = _E()
    selects = {
        c.column: f"p.{c.column}",
        c.value_column: f"cast(p.{c.value_column} as double)",
        f"{c.column}_lower": f"{bounds_alias}.lower_bound",
        f"{c.column}_upper": f"coalesce({bounds_alias}.upper_bound, cast('infinity' as double))",
    }
    join = (f"left join bounds as {bounds_alias} on {bounds_alias}.class_scheme = '{c.scheme}' "
            f"and {bounds_alias}.class_label = cast(p.{c.column} as string)")
    return selects, join, [
        E.ExpectColumnPairValuesAToBeGreaterThanB(column_A=c.value_column, column_B=f"{c.column}_lower", or_equal=True,
                                                  ignore_row_if="either_value_is_missing"),
        E.ExpectColumnPairValuesAToBeGreaterThanB(column_A=f"{c.column}_upper", column_B=c.value_column,
                                                  ignore_row_if="either_value_is_missing"),
    ]


def scheme_rules() -> list:
    """Each class of class_bounds follows the previous one without gap or overlap and the
    scheme covers its domain (the problems are worked out in the suite's SQL)."""
    E = _E()
    return [
        E.ExpectColumnValuesToBeNull(column="contiguity_problem"),
        E.ExpectColumnValuesToBeNull(column="coverage_problem"),
        E.ExpectColumnValuesToBeUnique(column="scheme_class"),
        E.ExpectColumnValuesToNotBeNull(column="class_label"),
    ]


def by_measure(column: str, pairs: Iterable[tuple[str, str]], table: str = "") -> tuple[str, Any]:
    """A value allowed only for some measures, checked as one text column 'measure:value'."""
    name = f"{column}__by_measure"
    prefix = f"{table}." if table else ""
    expr = (f"case when {prefix}{column} is not null then cast({prefix}measure_code as string) || ':' || "
            f"cast({prefix}{column} as string) end as {name}")
    return expr, _E().ExpectColumnValuesToBeInSet(column=name, value_set=sorted({f"{m}:{v}" for m, v in pairs}))


def expected_columns(expectations: Iterable) -> list[str]:
    """The columns the expectations read, in order of first use."""
    names: dict[str, None] = {}
    for e in expectations:
        kw = e.configuration.kwargs
        for key in ("column", "column_A", "column_B"):
            if kw.get(key):
                names[kw[key]] = None
        for name in kw.get("column_list") or []:
            names[name] = None
    return list(names)


def select_sql(relation: str, columns: Iterable[str], as_text: Iterable[str] = ()) -> str:
    """The columns a suite reads; codes and classes compared as text (a code typed as a
    number has lost its leading zeros)."""
    as_text = set(as_text)
    items = [f"cast({c} as string) as {c}" if c in as_text else c for c in columns]
    return f"select {', '.join(items)} from {relation}"


def key_suites(name: str, group: str, relation: str, table: str, keys: list[list[str]],
               where: str = "true") -> list[Suite]:
    """Key uniqueness, one suite per key, computed on the rows whose key's hash repeats.

    GX's SQL for a compound key joins the grouped counts back to every row of the suite:
    at scale 10 (93 million snapshot rows, text keys) that ran out of the validation's
    memory limit. A row whose key hash occurs once has a unique key, so the expectation
    runs on the other rows only: every duplicated key (and, rarely, two keys whose hashes
    collide, which GX then finds unique). Grouping by one fixed-size hash stays within the
    limit; a key without duplicates leaves no rows, which is the pass. Both engines have
    `hash` (64 bits on DuckDB, 32 on Spark: more collisions there, the same result). The
    tables have aliases: Spark, which does not reserve its keywords by default, reads
    `t where (c)` as a table alias `where` with a column list."""
    suites = []
    for i, key in enumerate(keys):
        columns = ", ".join(key)
        suites.append(Suite(f"{name}.keys" + (f".{i + 1}" if len(keys) > 1 else ""), group, relation, f"""
            select {columns} from {table} as key_rows
            where ({where}) and hash({columns}) in (
                select hash({columns}) from {table} as all_rows where ({where})
                group by hash({columns}) having count(*) > 1
            )
        """, key_rules([key])))
    return suites


# ----------------------------------------------------------------------------- suites


@dataclass
class Context:
    """What the suites are made from."""

    declarations: Declarations
    seeds: Seeds
    wh: Warehouse
    catalog: dict = field(default_factory=measure_catalog)

    @cached_property
    def quarters(self) -> list[str]:
        return [row["quarter"] for row in self.seeds.rows("quarters")]

    def in_quarters(self, column: str):
        return _E().ExpectColumnValuesToBeInSet(column=column, value_set=self.quarters)

    def measure_code_pairs(self) -> dict[str, list[tuple[str, str]]]:
        pairs: dict[str, list[tuple[str, str]]] = {}
        for row in self.seeds.rows("measure_codes"):
            pairs.setdefault(row["attribute"], []).append((row["measure_code"], row["code"]))
        return pairs

    def measure_class_pairs(self, schemes: dict[str, str]) -> list[tuple[str, str]]:
        return [(m, label) for m, s in schemes.items() for label in self.seeds.labels(s) + [UNKNOWN_CLASS]]


def reference_suites(ctx: Context) -> list[Suite]:
    domains, default = ctx.declarations.scheme_domains()
    values = ", ".join(f"('{s}', {lo}, {'null' if hi is None else hi})" for s, (lo, hi) in domains.items())
    ref = "wse_impact.reference"
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
            select * from (values {values}) as d(class_scheme, domain_min, domain_max)
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
                when bounds.is_first and bounds.lower_bound > coalesce(domains.domain_min, {default[0]})
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
    suites = [Suite("reference.class_bounds", "reference", "reference.class_bounds", sql, scheme_rules())]
    # the code seeds as built keep their codes as written ('000', '01', '318.02'): a seed
    # loaded with inferred numeric types loses leading zeros and no longer joins the data
    seed_columns: dict[str, set[str]] = {"measure_codes": {"code"}, "measures": {"measure_code"}}
    for c in ctx.declarations.codes(PANEL):
        seed_columns.setdefault(c.seed, set()).add(c.seed_column)
    for seed, columns in sorted(seed_columns.items()):
        columns = sorted(columns)
        suites.append(Suite(f"reference.{seed}", "reference", f"reference.{seed}",
                            select_sql(f"{ref}.{seed}", columns, as_text=columns), [
            *code_rules([CodeColumn(column, seed, column) for column in columns], ctx.seeds),
            _E().ExpectTableRowCountToEqual(value=len(ctx.seeds.rows(seed))),
        ]))
    return suites


def staging_suites(ctx: Context) -> list[Suite]:
    E, decl, wh = _E(), ctx.declarations, ctx.wh
    rel = "intermediate.int_snapshots_checked"
    cols = wh.columns(rel)
    suites = [Suite("staging.snapshots_accepted", "staging", f"{rel} (accepted staging rows)",
                    f"select * from {rel} where is_accepted", [
        E.ExpectTableRowCountToBeBetween(min_value=1),
        E.ExpectColumnValuesToNotBeNull(column="insz"),
        ctx.in_quarters("snapshot_quarter"),
        E.ExpectColumnValuesToBeBetween(column="days_worked", min_value=0),
        # the staging columns carry the panel's names: its declarations apply
        *range_rules(decl.ranges(PANEL, cols)),
        *code_rules(decl.codes(PANEL, cols), ctx.seeds),
    ]), *key_suites("staging.snapshots_accepted", "staging", f"{rel} (accepted staging rows)", rel,
                    [["insz", "snapshot_quarter"]], where="is_accepted"),
        Suite("staging.snapshots_accepted_by_quarter", "staging", f"{rel} (accepted staging rows)", f"""
        select q.days_in_quarter, s.days_worked, s.incapacity_days,
            {age_in_years_sql("s.birth_date", "q.last_day")} as age_years
        from {rel} as s
        left join wse_impact.reference.quarters as q on s.snapshot_quarter = q.quarter
        where s.is_accepted
    """, [
        E.ExpectColumnPairValuesAToBeGreaterThanB(column_A="days_in_quarter", column_B="days_worked",
                                                  or_equal=True, ignore_row_if="either_value_is_missing"),
        E.ExpectColumnPairValuesAToBeGreaterThanB(column_A="days_in_quarter", column_B="incapacity_days",
                                                  or_equal=True, ignore_row_if="either_value_is_missing"),
        *range_rules(decl.ranges(PANEL, ["age_years"])),
    ])]

    rel = "intermediate.int_measure_uses_checked"
    cols = wh.columns(rel)
    quarter_cols = [c for c in cols if c.endswith("_quarter") or re.fullmatch(r"\w+_quarter_\d+", c)]
    code_checks = [by_measure(attr, pairs) for attr, pairs in sorted(ctx.measure_code_pairs().items()) if attr in cols]
    suites.append(Suite("staging.measure_uses_accepted", "staging", f"{rel} (accepted staging rows)",
                        f"select *, {', '.join(sql for sql, _ in code_checks) or 'null as no_codes'} "
                        f"from {rel} where is_accepted", [
        E.ExpectTableRowCountToBeBetween(min_value=1),
        E.ExpectColumnValuesToNotBeNull(column="insz"),
        E.ExpectColumnValuesToBeInSet(column="measure_code", value_set=ctx.seeds.codes("measures", "measure_code")),
        *key_rules([["measure_code", "insz"]]),
        *(ctx.in_quarters(c) for c in quarter_cols),
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
        [f"select 'wse.{m}' as source_name, count(*) as n from staging.stg_wse__{m}" for m in ctx.catalog]
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
        E.ExpectTableRowCountToEqual(value=len(ctx.catalog) + 2),
        E.ExpectColumnValuesToNotBeNull(column="rows_read"),
        E.ExpectColumnPairValuesToBeEqual(column_A="rows_read", column_B="rows_accepted_plus_quarantined"),
        E.ExpectColumnPairValuesToBeEqual(column_A="rows_read", column_B="rows_in_staging"),
        E.ExpectColumnPairValuesToBeEqual(column_A="rows_quarantined", column_B="rows_in_quarantine"),
    ]))
    return suites


BOUNDS_CTE = ("with bounds as (select class_scheme, class_label, cast(lower_bound as double) as lower_bound, "
              "cast(upper_bound as double) as upper_bound from wse_impact.reference.class_bounds)")


def intermediate_suites(ctx: Context) -> list[Suite]:
    # GX runs one query per expectation over the suite's SQL, so each suite's SQL holds only
    # what its rules read: one suite per class column (raw value, class, that class's
    # bounds), not one wide join of every class's bounds that every expectation would redo.
    E, decl = _E(), ctx.declarations
    rel = f"intermediate.{PANEL}"
    cols = ctx.wh.columns(rel)
    suites = [
        *key_suites("intermediate.person_quarters", "intermediate", rel, rel, decl.unique_keys(PANEL)),
        Suite("intermediate.person_quarters_days", "intermediate", rel, f"""
            select q.days_in_quarter, p.days_worked
            from {rel} as p
            left join wse_impact.reference.quarters as q on q.quarter = cast(p.snapshot_quarter as string)
        """, [E.ExpectColumnPairValuesAToBeGreaterThanB(column_A="days_in_quarter", column_B="days_worked",
                                                        or_equal=True, ignore_row_if="either_value_is_missing")]),
    ]
    for c in decl.classes(PANEL, cols):
        selects, join, exps = within_class_rules(c, "b")
        suites.append(Suite(f"intermediate.person_quarters_classed.{c.column}", "intermediate", rel,
                            f"{BOUNDS_CTE} select {', '.join(f'{e} as {n}' for n, e in selects.items())} "
                            f"from {rel} as p {join}", [*class_label_rules([c], ctx.seeds)[:1], *exps]))
    # every person is of working age in at least one study quarter
    suites.append(Suite("intermediate.person_ages", "intermediate", rel, f"""
        select person_id, min(age_years) as youngest_age, max(age_years) as oldest_age
        from {rel} group by person_id
    """, [
        E.ExpectColumnValuesToBeBetween(column="oldest_age", min_value=WORKING_AGE[0]),
        E.ExpectColumnValuesToBeBetween(column="youngest_age", max_value=WORKING_AGE[1]),
    ]))

    rel = "intermediate.int_measure_uses_classed"
    cols = ctx.wh.columns(rel)
    selects_m, joins_m, exps_m = ["m.measure_code"], [], []
    for i, (raw, schemes) in enumerate(sorted(classed_measure_schemes(ctx.catalog).items())):
        class_col = raw.removesuffix("_eur") + "_class"
        if class_col not in cols:
            continue
        b = f"b{i}"
        case = " ".join(f"when '{m}' then '{s}'" for m, s in sorted(schemes.items()))
        selects_m += [f"m.{class_col}", f"cast(m.{raw} as double) as {raw}",
                      f"{b}.lower_bound as {class_col}_lower",
                      f"coalesce({b}.upper_bound, cast('infinity' as double)) as {class_col}_upper"]
        joins_m.append(f"left join bounds as {b} on {b}.class_scheme = (case m.measure_code {case} end) "
                       f"and {b}.class_label = m.{class_col}")
        label_sql, label_check = by_measure(class_col, ctx.measure_class_pairs(schemes), "m")
        selects_m.append(label_sql)
        exps_m += [
            label_check,
            E.ExpectColumnPairValuesAToBeGreaterThanB(column_A=raw, column_B=f"{class_col}_lower", or_equal=True,
                                                      ignore_row_if="either_value_is_missing"),
            E.ExpectColumnPairValuesAToBeGreaterThanB(column_A=f"{class_col}_upper", column_B=raw,
                                                      ignore_row_if="either_value_is_missing"),
        ]
    suites.append(Suite("intermediate.measure_uses_classed", "intermediate", rel,
                        f"{BOUNDS_CTE} select {', '.join(selects_m)} from {rel} as m {' '.join(joins_m)}", exps_m))
    return suites


def base_file_suites(ctx: Context, base: str, n_persons: int) -> list[Suite]:
    """A base file: declared codes, classes and ranges, its keys, 36 rows per person."""
    E, decl = _E(), ctx.declarations
    rel = f"wse_impact.marts.{base}"
    cols = ctx.wh.columns(rel)
    codes, classes = decl.codes(base, cols), decl.classes(base, cols)
    undeclared = [c for c in cols if c.endswith("_class") and c not in {k.column for k in classes}]
    exps = [
        E.ExpectTableRowCountToEqual(value=len(ctx.quarters) * n_persons),
        E.ExpectColumnValuesToNotBeNull(column="person_id"),
        E.ExpectColumnValuesToBeBetween(column="person_id", min_value=1),
        E.ExpectColumnDistinctValuesToEqualSet(column="snapshot_quarter", value_set=ctx.quarters),
        *class_label_rules(classes, ctx.seeds),
        # a class column nobody declared is at least never null (and fails the declaration test)
        *(E.ExpectColumnValuesToNotBeNull(column=c) for c in undeclared),
        *range_rules(decl.ranges(base, cols)),
        *code_rules(codes, ctx.seeds),
    ]
    if "is_beneficiary" in cols:
        exps.append(E.ExpectColumnValuesToNotBeNull(column="is_beneficiary"))
    text = {c.column for c in codes} | {c.column for c in classes} | set(undeclared)
    return [Suite(f"marts.{base}", "marts", f"marts.{base}", select_sql(rel, expected_columns(exps), text), exps),
            *key_suites(f"marts.{base}", "marts", f"marts.{base}", rel, decl.unique_keys(base))]


def mart_suites(ctx: Context) -> list[Suite]:
    E, decl, wh = _E(), ctx.declarations, ctx.wh
    n_persons = dict(wh.rows("""
        select 'beneficiary', count(*) filter (where is_beneficiary) from intermediate.int_persons_pseudonymised
        union all
        select 'control', count(*) filter (where is_control) from intermediate.int_persons_pseudonymised
    """))
    suites = [*base_file_suites(ctx, "beneficiary_base", n_persons["beneficiary"]),
              *base_file_suites(ctx, "control_base", n_persons["control"])]

    rel = "wse_impact.marts.beneficiary_measures"
    cols = wh.columns(rel)
    n_uses = wh.rows("select count(*) from intermediate.int_measure_uses_classed")[0][0]
    quarter_cols = [c for c in cols if c.endswith("_quarter") or re.fullmatch(r"\w+_quarter_\d+", c)]
    exps = [
        E.ExpectTableRowCountToEqual(value=n_uses),
        E.ExpectColumnValuesToNotBeNull(column="person_id"),
        E.ExpectColumnValuesToBeInSet(column="measure_code", value_set=ctx.seeds.codes("measures", "measure_code")),
        *key_rules(decl.unique_keys("beneficiary_measures")),
        *(ctx.in_quarters(c) for c in quarter_cols),
        *(E.ExpectColumnValuesToBeBetween(column=c, min_value=1) for c in MEASURE_COUNTS if c in cols),
        *(E.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=100) for c in MEASURE_PERCENTAGES if c in cols),
    ]
    checks = [by_measure(attr, pairs) for attr, pairs in sorted(ctx.measure_code_pairs().items()) if attr in cols]
    for raw, schemes in sorted(classed_measure_schemes(ctx.catalog).items()):
        class_col = raw.removesuffix("_eur") + "_class"
        if class_col in cols:
            checks.append(by_measure(class_col, ctx.measure_class_pairs(schemes)))
    exps += [exp for _, exp in checks]
    suites.append(Suite("marts.beneficiary_measures", "marts", "marts.beneficiary_measures",
                        f"select *, {', '.join(sql for sql, _ in checks) or 'null as no_codes'} from {rel}", exps))
    return suites


SUITE_GROUPS: dict[str, Callable[[Context], list[Suite]]] = {
    "reference": reference_suites,
    "staging": staging_suites,
    "intermediate": intermediate_suites,
    "marts": mart_suites,
}


def build_suites(wh: Warehouse | SparkWarehouse, groups: tuple[str, ...] = GROUPS, declarations: Declarations | None = None,
                 seeds: Seeds | None = None) -> list[Suite]:
    ctx = Context(declarations or Declarations.load(), seeds or Seeds(), wh)
    return [suite for group in GROUPS if group in groups for suite in SUITE_GROUPS[group](ctx)]


# ----------------------------------------------------------------------------- running


class DuckDBSource:
    """Where the suites run on a DuckDB build: the built warehouse, read-only, through GX's
    SQL engine (wse_impact.quality.gx_duckdb). Each suite's SQL becomes a GX query asset; DuckDB
    computes the metrics."""

    def __init__(self, warehouse_dir: Path, memory_limit: str | None = None, threads: int | None = None):
        self.dir = Path(warehouse_dir)
        self.restricted, self.research = warehouse_files(self.dir)
        self.config = {"memory_limit": validate_memory_limit(memory_limit)}
        if threads:
            self.config["threads"] = threads
        self.datasource = None

    def warehouse(self) -> Warehouse:
        """The facts the suites are made from; closed before GX opens the files with its
        own settings."""
        return Warehouse(self.dir)

    def add_to(self, context) -> None:
        from wse_impact.quality.gx_duckdb import add_duckdb_datasource

        self.datasource = add_duckdb_datasource(context, "warehouse", str(self.restricted),
                                                attach={"wse_impact": str(self.research)}, config=self.config)

    def batch(self, suite: Suite) -> tuple[Any, dict | None]:
        """The suite's batch definition and batch parameters."""
        query = suite.sql.strip()
        if not re.match(r"select\s", query, re.IGNORECASE):  # GX's query assets must start with SELECT
            query = f"select * from ({query}) as suite_rows"
        asset = self.datasource.add_query_asset(suite.name, query=query)
        return asset.add_batch_definition_whole_table("whole_table"), None

    def close(self) -> None:
        """Close every connection GX opened: DuckDB keeps a database file open (and locked
        against writers in this process) while any connection to it is open."""
        if self.datasource is not None:
            self.datasource.get_execution_engine().close()
            self.datasource.get_engine().dispose()
            self.datasource = None


class SparkWarehouse:
    """The facts the suites are made from, read in the Spark session of a Spark build."""

    def __init__(self, spark):
        self.spark = spark

    def close(self) -> None:
        pass  # the session belongs to the SparkSource

    def rows(self, sql: str) -> list[tuple]:
        from wse_impact.engines.spark import spark_sql

        return [tuple(row) for row in self.spark.sql(spark_sql(sql)).collect()]

    def columns(self, relation: str) -> list[str]:
        from wse_impact.engines.spark import spark_sql

        return self.spark.table(spark_sql(relation)).columns


class SparkSource:
    """Where the suites run on a Spark build: GX's Spark execution engine (a `spark` data
    source with one dataframe asset) on `spark.sql(suite.sql)` in a session on the build's
    own warehouse and metastore, so Spark computes the metrics where the data is, staging
    views included. The suites' SQL is the same as on DuckDB; only the research tables'
    names lose their database (wse_impact.engines.spark.spark_sql)."""

    def __init__(self, warehouse_dir: Path):
        from wse_impact.engines.spark import start_session, spark_warehouse

        spark_warehouse(warehouse_dir)  # a clear error when there is no Spark build
        self.spark = start_session(warehouse_dir)
        self.asset = None

    def warehouse(self) -> SparkWarehouse:
        return SparkWarehouse(self.spark)

    def add_to(self, context) -> None:
        self.asset = context.data_sources.add_spark("warehouse").add_dataframe_asset("suite_rows")

    def batch(self, suite: Suite) -> tuple[Any, dict | None]:
        from wse_impact.engines.spark import spark_sql

        return (self.asset.add_batch_definition_whole_dataframe(suite.name),
                {"dataframe": self.spark.sql(spark_sql(suite.sql))})

    def close(self) -> None:
        self.spark.stop()


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


def _plain(value):
    """An example value as plain Python: numpy scalars and Decimals as numbers, a compound
    key's row ({column: value}) as a tuple in column order (hashable, printable)."""
    from decimal import Decimal

    if isinstance(value, dict):
        return tuple(_plain(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    if isinstance(value, Decimal):
        return float(value)
    return value.item() if hasattr(value, "item") and not isinstance(value, str) else value


def _details(result) -> str:
    error = raised_exception(result)
    if error:
        return f"raised: {error}"
    res = result.result or {}
    parts = []
    if "observed_value" in res:
        parts.append(f"observed {_plain(res['observed_value'])!r}")
    if "unexpected_count" in res:
        parts.append(f"{res['unexpected_count']} of {res.get('element_count')} rows unexpected")
    examples = [_plain(v) for v in res.get("partial_unexpected_list") or []]
    if examples:
        distinct = list(dict.fromkeys(examples))[:5]
        parts.append("examples " + ", ".join(repr(v) for v in distinct))
    kw = {k: v for k, v in result.expectation_config.kwargs.items()
          if k in ("min_value", "max_value", "value", "or_equal") and v is not None}
    if kw:
        parts.append(f"expected {kw}")
    return "; ".join(parts) or "failed"


def validate(warehouse_dir: Path | str, groups: tuple[str, ...] = GROUPS, docs_dir: Path | str | None = "reports/gx",
             suite_filter: Callable[[Suite], bool] | None = None, manifest: Path | str | None = None,
             result_format: str = "BOOLEAN_ONLY", source: DuckDBSource | SparkSource | None = None,
             engine: str | None = None) -> Report:
    """Run the suites on the built warehouse (read-only) of either engine; write Data Docs to
    `docs_dir`."""
    from wse_impact.settings import engine_name

    started = time.perf_counter()
    if source is None:
        source = SparkSource(Path(warehouse_dir)) if engine_name(engine) == "spark" else DuckDBSource(Path(warehouse_dir))
    try:
        wh = source.warehouse()
        try:
            suites = [s for s in build_suites(wh, groups, Declarations.load(manifest))
                      if suite_filter is None or suite_filter(s)]
        finally:
            wh.close()
        return run_suites(suites, source, docs_dir, result_format, started)
    finally:
        source.close()


def run_suites(suites: list[Suite], source: DuckDBSource | SparkSource, docs_dir: Path | str | None = None,
               result_format: str = "BOOLEAN_ONLY", started: float | None = None) -> Report:
    """Validate each suite on its rows in the source's engine.

    A first pass computes every expectation in `result_format` (BOOLEAN_ONLY: one pass of
    aggregates per suite, no example rows); a suite with a failure is validated again in
    BASIC, so its failures show counts and example values."""
    import logging

    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    started = time.perf_counter() if started is None else started
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
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
    source.add_to(context)
    failures: list[Failure] = []
    n_expectations = 0
    element_counts, results, timings = {}, {}, {}
    for suite in suites:
        batch_definition, batch_parameters = source.batch(suite)
        gx_suite = context.suites.add(gx.ExpectationSuite(name=suite.name, expectations=suite.expectations))
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=suite.name, data=batch_definition, suite=gx_suite))
        checkpoint = context.checkpoints.add(gx.Checkpoint(
            name=suite.name, validation_definitions=[definition], actions=[],
            result_format={"result_format": result_format}))
        t0 = time.perf_counter()
        run = checkpoint.run(batch_parameters=batch_parameters)
        if not run.success and result_format == "BOOLEAN_ONLY":
            checkpoint.result_format = {"result_format": "BASIC", "partial_unexpected_count": 20}
            checkpoint.save()
            run = checkpoint.run(batch_parameters=batch_parameters)
        timings[suite.name] = time.perf_counter() - t0
        for validation in run.run_results.values():
            results[suite.name] = validation
            for result in validation.results:
                n_expectations += 1
                count = (result.result or {}).get("element_count")
                if count is not None:
                    element_counts[suite.name] = max(count, element_counts.get(suite.name, 0))
                if not result.success:
                    failures.append(Failure(suite.name, suite.relation, result.expectation_config.type,
                                            _columns_of(result.expectation_config), _details(result)))
    if docs_index:
        context.build_data_docs(site_names=["wse_impact"])
    return Report([s.name for s in suites], n_expectations, failures, time.perf_counter() - started,
                  docs_index, element_counts, results, timings)


def main_validate(args: argparse.Namespace) -> int:
    warehouse = default_warehouse_dir(args.warehouse_dir)
    groups = tuple(g.strip() for g in args.suites.split(",")) if args.suites else GROUPS
    unknown = set(groups) - set(GROUPS)
    if unknown:
        print(f"unknown suite group(s) {sorted(unknown)}; choose from {', '.join(GROUPS)}", file=sys.stderr)
        return 2
    report = validate(warehouse, groups, None if args.no_docs else args.docs_dir,
                      manifest=getattr(args, "manifest", None), engine=getattr(args, "engine", None))
    print(report.summary())
    return 0 if report.success else 1
