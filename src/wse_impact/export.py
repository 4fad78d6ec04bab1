"""The export gate: only disclosure-checked anonymous aggregates leave, with their report.

`export_outputs` reads every table of schema `outputs` from the research database (opened
read-only), refuses the whole export, writing nothing, when any output is not an aggregate
(person-level rows, a person identifier, INSZ-like values, exact amounts or exact dates),
applies `wse_impact.disclosure` to all outputs together, refuses again when a published
cell differs from the same cell of an earlier release by fewer than the threshold
(differencing), and only then writes `exports/<date>/`: one CSV per output that passes,
`checking_report.json`, the plot of the employment outcome, `retention.yml` and
`SHA256SUMS`; the release is appended to `exports/release_log.jsonl`.

`purge_exports` deletes the export folders whose retention date has passed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import warnings
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd

from wse_impact.insz import check_digits

from wse_impact.disclosure import (
    COUNT,
    CONTRIBUTOR_PREFIX,
    DEFAULT_RULES,
    CheckedOutput,
    DisclosureRules,
    Link,
    Magnitude,
    OutputSpec,
    TOTAL,
    apply_disclosure,
)

__all__ = [
    "RETAIN_UNTIL",
    "RETENTION_WARNING_DAYS",
    "STANDARD_SPECS",
    "STANDARD_LINKS",
    "ExportRefused",
    "ExportResult",
    "gate_problems",
    "read_outputs",
    "export_outputs",
    "purge_exports",
]

RETAIN_UNTIL = date(2026, 12, 31)
RETENTION_WARNING_DAYS = 60
OUTPUT_SCHEMA = "outputs"
RESEARCH_DB = "wse_impact.duckdb"
RELEASE_LOG = "release_log.jsonl"
REPORT = "checking_report.json"
RETENTION_FILE = "retention.yml"
CHECKSUMS = "SHA256SUMS"
PLOT_OUTPUT = "employment_around_measure"
PLOT_FILE = "employment_around_measure.png"

_PROFILE_DIMS = ("sex_code", "age_class", "province_code", "education_level_code")

# Shares and means are published to this many significant digits: more would only publish
# the floating-point noise of the build (sums in another order differ in the 16th digit),
# so that two exports of the same data would not be the same files.
PUBLISHED_SIGNIFICANT_DIGITS = 6

# The standard outputs (models/outputs/): which columns are dimensions, which dimensions'
# Total rows are sums of their parts (a person is in one sex, age class, ... but may be
# in several measures, so measure_code's Total is not additive), which are values.
STANDARD_SPECS = {
    spec.name: spec
    for spec in (
        OutputSpec(
            name="beneficiaries_by_profile",
            dimensions=("measure_code", *_PROFILE_DIMS),
            additive=_PROFILE_DIMS,
        ),
        OutputSpec(
            name="socio_economic_position_by_quarter",
            dimensions=("population_group", "snapshot_quarter", "socio_economic_position_code"),
            additive=("socio_economic_position_code",),
        ),
        OutputSpec(
            name="employment_around_measure",
            dimensions=("measure_code", "population_group", "relative_quarter"),
            values=("share_employed",),
            magnitudes=(
                Magnitude("mean_days_worked", "dc_days_worked_total",
                          ("dc_days_worked_top1", "dc_days_worked_top2")),
            ),
        ),
    )
}

# Persons counted in one output's cell who are a subset of another output's cell.
STANDARD_LINKS = (
    Link(
        name="event-window beneficiaries within the measure's beneficiaries",
        superset="beneficiaries_by_profile",
        superset_where={d: TOTAL for d in _PROFILE_DIMS},
        subset="employment_around_measure",
        subset_where={"population_group": "beneficiaries"},
        on=("measure_code",),
    ),
    Link(
        name="beneficiaries starting in 2014Q1-2022Q4 within the base file's beneficiaries",
        superset="socio_economic_position_by_quarter",
        superset_where={"population_group": "beneficiaries", "socio_economic_position_code": TOTAL},
        subset="beneficiaries_by_profile",
        subset_where={"measure_code": TOTAL, **{d: TOTAL for d in _PROFILE_DIMS}},
    ),
    Link(
        name="event-window beneficiaries within the base file's beneficiaries",
        superset="socio_economic_position_by_quarter",
        superset_where={"population_group": "beneficiaries", "socio_economic_position_code": TOTAL},
        subset="employment_around_measure",
        subset_where={"population_group": "beneficiaries", "measure_code": TOTAL},
    ),
)


class ExportRefused(Exception):
    """The export was refused; nothing was written. `problems` says why, one line each."""

    def __init__(self, message: str, problems: list[str] | None = None):
        self.problems = list(problems or [])
        super().__init__(message + "".join(f"\n  - {p}" for p in self.problems))


@dataclass
class ExportResult:
    folder: Path
    report: dict
    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# --- gate: what may never leave, whatever the disclosure rules say -------------------------

_IDENTIFIER_NAME = re.compile(r"(^|_)(person|persoon|insz|rrn|inss|niss|pseudonym|pseudoniem|bis)(_|$)", re.I)
_ALLOWED_NUMERIC = re.compile(rf"^({COUNT}|share_.+|mean_.+|relative_.+|{CONTRIBUTOR_PREFIX}.+)$")
_DATE_VALUE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2}|\d{1,2}[/.-]\d{1,2}[/.-]\d{4})([ T]\d{2}:\d{2}.*)?\s*$")
_DATE_NAME = re.compile(r"(_date|_day|_datum|_at|_timestamp)$", re.I)
_INSZ_LIKE = re.compile(r"^\s*\d{2}[.]?\d{2}[.]?\d{2}[-.]?\d{3}[.]?\d{2}\s*$")


def passes_insz_check(digits: str) -> bool:
    """11 digits whose last two are 97 - (first nine mod 97), or the same with a '2' prefix
    (births from 2000). Looser than `wse_impact.insz.is_valid_insz` on purpose: the gate
    refuses anything that might be an INSZ, whatever its date part says."""
    if len(digits) != 11 or not digits.isdigit():
        return False
    first9, check = int(digits[:9]), int(digits[9:])
    return check in (check_digits(first9, False), check_digits(first9, True))


def _insz_values(series: pd.Series) -> list[str]:
    found = []
    if pd.api.types.is_integer_dtype(series):
        # a stored INSZ loses its leading zeros (births 2000-2009): check every integer of
        # 8 to 11 digits; smaller integers (counts, quarters) are not taken for one, as one
        # in 97 of them would pass the check number by chance
        for v in series.dropna().unique():
            text = str(int(v)).zfill(11)
            if 10**7 <= int(v) < 10**11 and passes_insz_check(text):
                found.append(text)
    elif pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series):
        for v in series.dropna().astype(str).unique():
            if _INSZ_LIKE.match(v):
                digits = re.sub(r"\D", "", v)
                if passes_insz_check(digits):
                    found.append(v)
    return found


def gate_problems(name: str, table: pd.DataFrame) -> list[str]:
    """Why `table` may not leave at all (empty list: it may go on to disclosure control)."""
    problems = []
    columns = list(table.columns)
    for column in columns:
        if _IDENTIFIER_NAME.search(column):
            problems.append(f"{name}: column {column!r} identifies persons (person-level data may not leave)")
    if COUNT not in columns:
        problems.append(f"{name}: no {COUNT!r} column: not an aggregate of distinct persons (person-level rows?)")
    elif len(table):
        n = pd.to_numeric(table[COUNT], errors="coerce")
        if (n <= 1).mean() >= 0.5:
            problems.append(f"{name}: {int((n <= 1).sum())} of {len(table)} rows count at most one person: person-level rows")
    for column in columns:
        series = table[column]
        if column.lower().endswith("_eur"):
            problems.append(f"{name}: column {column!r} holds exact amounts in euro")
        elif (pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
              and not _ALLOWED_NUMERIC.match(column)):
            problems.append(f"{name}: numeric column {column!r} is not a count, share, mean or class: exact values")
        if pd.api.types.is_datetime64_any_dtype(series) or _DATE_NAME.search(column):
            problems.append(f"{name}: column {column!r} holds exact dates")
        elif pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series):
            values = series.dropna()
            if len(values) and values.map(lambda v: isinstance(v, (date, datetime))).any():
                problems.append(f"{name}: column {column!r} holds exact dates")
            elif len(values) and values.astype(str).str.match(_DATE_VALUE).any():
                problems.append(f"{name}: column {column!r} holds exact dates")
        insz = _insz_values(series)
        if insz:
            problems.append(f"{name}: column {column!r} holds {len(insz)} INSZ-like value(s) (11 digits passing the check number)")
    return problems


# --- reading -------------------------------------------------------------------------------

def research_db_path(warehouse_dir: str | Path | None = None) -> Path:
    warehouse_dir = Path(warehouse_dir or os.environ.get("WSE_WAREHOUSE_DIR", "warehouse"))
    return warehouse_dir / RESEARCH_DB


def read_outputs(db_path: str | Path, schema: str = OUTPUT_SCHEMA) -> dict[str, pd.DataFrame]:
    """Every table of `schema`, read from the DuckDB file opened read-only."""
    db_path = Path(db_path)
    if not db_path.exists():
        raise ExportRefused(f"research database {db_path} does not exist (run `make build` first)")
    with duckdb.connect(str(db_path), read_only=True) as con:
        return read_output_tables(con, schema)


def read_output_tables(con, schema: str = OUTPUT_SCHEMA, catalog: str | None = None) -> dict[str, pd.DataFrame]:
    """Every table (or view) of `schema` on an open DuckDB connection."""
    names = [r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_schema = ?"
        + (" and table_catalog = ?" if catalog else "") + " order by table_name",
        [schema, *([catalog] if catalog else [])],
    ).fetchall()]
    if not names:
        raise ExportRefused(f"the research data has no tables in schema {schema!r}")
    prefix = f'"{catalog}".' if catalog else ""
    # in a fixed order: secondary suppression breaks ties by row order, and an engine (or a
    # rebuild) may store the same rows in another order; sorted, the same data gives the same files
    return {name: con.execute(f'select * from {prefix}"{schema}"."{name}" order by all').df() for name in names}


def engine_name(engine: str | None = None) -> str:
    """The engine whose build is read: the argument, else $ENGINE, else duckdb."""
    name = (engine or os.environ.get("ENGINE") or "duckdb").lower()
    if name not in ("duckdb", "spark"):
        raise ExportRefused(f"unknown engine {name!r}: duckdb or spark")
    return name


# --- release log and differencing ----------------------------------------------------------

def _cell_key(spec: OutputSpec, row) -> str:
    return json.dumps([None if pd.isna(row[d]) else str(row[d]) for d in spec.dimensions])


def _published_counts(checked: CheckedOutput) -> dict[str, int]:
    spec, table = checked.spec, checked.table
    return {
        _cell_key(spec, row): int(row[spec.count])
        for _, row in table.iterrows()
        if not pd.isna(row[spec.count])
    }


def _read_log(log_path: Path) -> list[dict]:
    if not log_path.exists():
        return []
    return [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]


def differencing_problems(checked: dict[str, CheckedOutput], log: list[dict], rules: DisclosureRules) -> list[str]:
    problems = []
    for entry in log:
        if entry.get("event") != "export":
            continue
        for name, cells in entry.get("published_counts", {}).items():
            if name not in checked or checked[name].status != "passed":
                continue
            now = _published_counts(checked[name])
            for key, before in cells.items():
                if key in now and 0 < abs(now[key] - before) < rules.min_persons:
                    problems.append(
                        f"{name} cell {key}: differs from the export of {entry['export_date']} by "
                        f"{abs(now[key] - before)} persons (< {rules.min_persons}): the difference would be a small cell"
                    )
    return problems


# --- retention -----------------------------------------------------------------------------

def retention_status(today: date, retain_until: date) -> tuple[str, str | None]:
    days_left = (retain_until - today).days
    if days_left < 0:
        return "expired", f"the retention period ended on {retain_until.isoformat()} ({-days_left} days ago): no export may be made"
    if days_left < RETENTION_WARNING_DAYS:
        return "warning", f"only {days_left} days of retention remain (retain until {retain_until.isoformat()})"
    return "ok", None


# --- export --------------------------------------------------------------------------------

def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def _spec_dict(spec: OutputSpec) -> dict:
    return {k: v for k, v in asdict(spec).items() if k != "name"}


def export_outputs(
    warehouse_dir: str | Path | None = None,
    export_dir: str | Path | None = None,
    today: date | None = None,
    rules: DisclosureRules = DEFAULT_RULES,
    retain_until: date = RETAIN_UNTIL,
    outputs: dict[str, pd.DataFrame] | None = None,
    specs: dict[str, OutputSpec] | None = None,
    links: tuple[Link, ...] = STANDARD_LINKS,
    source: str | None = None,
    engine: str | None = None,
) -> ExportResult:
    """Check and write one release; raise `ExportRefused` (nothing written) when it may not go.

    `outputs` may be given directly (tests, hand-made tables); otherwise they are read from
    `<warehouse_dir>/wse_impact.duckdb`, schema `outputs`.
    """
    today = today or date.today()
    export_dir = Path(export_dir or os.environ.get("WSE_EXPORT_DIR", "exports"))
    specs = {**STANDARD_SPECS, **(specs or {})}
    found_warnings = []

    state, message = retention_status(today, retain_until)
    if state == "expired":
        raise ExportRefused("export refused: retention period passed", [message])
    if state == "warning":
        warnings.warn(message, stacklevel=2)
        found_warnings.append(message)

    folder = export_dir / today.isoformat()
    if folder.exists():
        raise ExportRefused(f"export refused: {folder} already exists (a release is never overwritten)")

    if outputs is None and engine_name(engine) == "spark":
        from wse_impact.spark import research_connection, spark_root

        with research_connection(warehouse_dir) as con:
            outputs = read_output_tables(con, OUTPUT_SCHEMA, "wse_impact")
        source = source or str(spark_root(warehouse_dir) / "warehouse")
    if outputs is None:
        db_path = research_db_path(warehouse_dir)
        outputs = read_outputs(db_path)
        source = source or str(db_path)

    problems = [p for name, table in outputs.items() for p in gate_problems(name, table)]
    if problems:
        raise ExportRefused("export refused: not every output is an anonymous aggregate", problems)

    checked = apply_disclosure(outputs, specs, links, rules)

    log_path = export_dir / RELEASE_LOG
    log = _read_log(log_path)
    problems = differencing_problems(checked, log, rules)
    if problems:
        raise ExportRefused("export refused: differencing with an earlier release would reveal small cells", problems)

    report = {
        "export_date": today.isoformat(),
        "retain_until": retain_until.isoformat(),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": source or "in-memory outputs",
        "disclosure_rules": rules.describe(),
        "cross_output_links": [asdict(link) for link in links],
        "differencing": {
            "checked_against": [e["export_date"] for e in log if e.get("event") == "export"],
            "status": "passed",
        },
        "retention": {"status": state, "warning_days": RETENTION_WARNING_DAYS},
        "warnings": found_warnings,
        "outputs": {},
    }

    export_dir.mkdir(parents=True, exist_ok=True)
    partial = export_dir / f".{today.isoformat()}.partial-{os.getpid()}"
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir()
    try:
        files = []
        for name, result in checked.items():
            entry = {
                "status": result.status,
                "rows": len(result.table),
                "spec": _spec_dict(result.spec),
                "cells": result.n_cells,
                "cells_suppressed": result.n_suppressed,
                "suppressions_by_rule": pd.Series([s.rule for s in result.suppressions], dtype="string")
                .value_counts().to_dict(),
                "suppressions": [asdict(s) for s in result.suppressions],
                "notes": result.notes,
            }
            if result.status == "passed":
                path = partial / f"{name}.csv"
                published_table(result).to_csv(path, index=False)
                entry["file"] = path.name
                files.append(path.name)
            else:
                entry["reason"] = "every cell is suppressed: nothing to publish"
            report["outputs"][name] = entry

        if PLOT_OUTPUT in checked and checked[PLOT_OUTPUT].status == "passed":
            from wse_impact.plot import plot_employment_around_measure

            if plot_employment_around_measure(checked[PLOT_OUTPUT].table, partial / PLOT_FILE):
                files.append(PLOT_FILE)
                report["plot"] = {"file": PLOT_FILE, "drawn_from": f"{PLOT_OUTPUT}.csv (suppressed cells left out)"}

        (partial / RETENTION_FILE).write_text(f"retain_until: {retain_until.isoformat()}\n")
        files.append(RETENTION_FILE)
        report["status"] = "passed" if any(o["status"] == "passed" for o in report["outputs"].values()) else "withheld"
        (partial / REPORT).write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n")
        files.append(REPORT)
        sums = "".join(f"{_sha256(partial / f)}  {f}\n" for f in sorted(files))
        (partial / CHECKSUMS).write_text(sums)
        files.append(CHECKSUMS)
        partial.rename(folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise

    with log_path.open("a") as f:
        f.write(json.dumps({
            "event": "export",
            "export_date": today.isoformat(),
            "folder": folder.name,
            "retain_until": retain_until.isoformat(),
            "report_sha256": _sha256(folder / REPORT),
            "published_counts": {name: _published_counts(c) for name, c in checked.items() if c.status == "passed"},
        }) + "\n")
    return ExportResult(folder, report, [folder / f for f in files], found_warnings)


# --- purge ---------------------------------------------------------------------------------

def published_table(result: CheckedOutput) -> pd.DataFrame:
    """The checked table as it is written: sorted by its dimensions, shares and means to
    PUBLISHED_SIGNIFICANT_DIGITS significant digits (counts untouched)."""
    table = result.table.sort_values(list(result.spec.dimensions), kind="stable").copy()
    for column in (*result.spec.values, *(m.column for m in result.spec.magnitudes)):
        table[column] = table[column].map(lambda v: float(f"{v:.{PUBLISHED_SIGNIFICANT_DIGITS}g}"),
                                          na_action="ignore")
    return table


def _retain_until_of(folder: Path) -> date | None:
    path = folder / RETENTION_FILE
    if not path.exists():
        return None
    match = re.search(r"retain_until:\s*(\d{4}-\d{2}-\d{2})", path.read_text())
    return date.fromisoformat(match.group(1)) if match else None


def purge_exports(export_dir: str | Path | None = None, today: date | None = None) -> list[Path]:
    """Delete every export folder whose retention date has passed; log each deletion."""
    today = today or date.today()
    export_dir = Path(export_dir or os.environ.get("WSE_EXPORT_DIR", "exports"))
    purged = []
    if not export_dir.is_dir():
        return purged
    for folder in sorted(p for p in export_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        until = _retain_until_of(folder)
        if until is not None and until < today:
            shutil.rmtree(folder)
            purged.append(folder)
            with (export_dir / RELEASE_LOG).open("a") as f:
                f.write(json.dumps({"event": "purge", "folder": folder.name, "retain_until": until.isoformat(),
                                    "purged_on": today.isoformat()}) + "\n")
    return purged
