"""The export gate: only disclosure-checked anonymous aggregates leave, with their report.

`export_outputs` reads every table of schema `outputs` from the research database (opened
read-only), refuses the whole export, writing nothing, when any output is not an aggregate
(person-level rows, a person identifier, INSZ-like values, exact amounts or exact dates),
applies `wse_impact.release.disclosure.protect` to all outputs together (with the output specs
declared in the outputs' yml and the counts earlier releases published), refuses when a
cell it would publish and a published cell (earlier, kept in a `PersonSetStore`, or in the
same release; any output or aggregate, under any name) count nested sets of persons that
differ by 1 to threshold-1 (differencing on person sets, `person_sets.py`; the persons
behind each cell come from the outputs' person-level sources, `output_persons.py`, or a
researcher's aggregate; a table without them keeps the comparison of true counts by name),
runs the protection audit on exactly the tables that would be written and refuses, naming
the cells, when it fails; only then writes:

- released (leaves the secure environment), `exports/<date>/`: one CSV per output that passes
  (suppressed cells empty), `checking_report.json` (rules, parameters, method, the audit's
  figures; no per-cell rule or reason), the plot of the employment outcome, `retention.yml`
  and `SHA256SUMS`;
- restricted (for the custodian who checks the release), `<warehouse>/disclosure/`:
  `checking_reports/<date>.json` with every suppression's rule and reason and every audited
  interval, and `release_log.jsonl` with the true count behind every released cell. The
  published cells' person sets are returned (`PreparedRelease.person_sets`,
  `PublishedRelease.person_sets`) for the caller to record with the release.

`purge_exports` deletes the export folders once the retention date (dbt_project.yml,
`vars: retain_until`) has passed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import warnings
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import pandas as pd

from wse_impact.landing.checksums import sha256_of
from wse_impact.release.disclosure import (
    COUNT,
    CONTRIBUTOR_PREFIX,
    DEFAULT_RULES,
    CheckedOutput,
    DisclosureRules,
    Link,
    OutputSpec,
    Release,
    audit_release,
    cell_key,
    infer_spec,
    protect,
)
from wse_impact.landing.insz import check_digits
from wse_impact.release.output_persons import (
    OutputPersons,
    count_mismatches,
    published_person_cells,
    read_output_persons,
)
from wse_impact.release.person_sets import PersonCell, PersonSetStore, open_file_store
from wse_impact import engines
from wse_impact.settings import restricted_dir_of
from wse_impact.settings import export_dir as default_export_dir
from wse_impact.project import output_specs
from wse_impact.project import retain_until as configured_retain_until

__all__ = [
    "RETENTION_WARNING_DAYS",
    "ExportRefused",
    "PreparedRelease",
    "check_release",
    "publish_release",
    "PublishedRelease",
    "person_set_problems",
    "release_log_entries",
    "gate_problems",
    "published_table",
]

RETENTION_WARNING_DAYS = 60
OUTPUT_SCHEMA = "outputs"
RELEASE_LOG = "release_log.jsonl"
CUSTODIAN_REPORTS = "checking_reports"
REPORT = "checking_report.json"
RETENTION_FILE = "retention.yml"
CHECKSUMS = "SHA256SUMS"
PLOT_OUTPUT = "employment_around_measure"
PLOT_FILE = "employment_around_measure.png"

# Shares and means are published to this many significant digits: more would only publish
# the floating-point noise of the build (sums in another order differ in the 16th digit),
# so that two exports of the same data would not be the same files.
PUBLISHED_SIGNIFICANT_DIGITS = 6


class ExportRefused(Exception):
    """The export was refused; nothing was written. `problems` says why, one line each.
    `names_counts`: the problems name cells with true counts or bounds (differencing, the
    audit), so they are for the custodian, not for a researcher."""

    def __init__(self, message: str, problems: list[str] | None = None, names_counts: bool = False):
        self.headline = message
        self.problems = list(problems or [])
        self.names_counts = names_counts
        super().__init__(message + "".join(f"\n  - {p}" for p in self.problems))


# --- gate: what may never leave, whatever the disclosure rules say -------------------------

_IDENTIFIER_NAME = re.compile(r"(^|_)(person|persoon|insz|rrn|inss|niss|pseudonym|pseudoniem|bis)(_|$)", re.I)
_ALLOWED_NUMERIC = re.compile(rf"^({COUNT}|share_.+|mean_.+|relative_.+|{CONTRIBUTOR_PREFIX}.+)$")
_DATE_VALUE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2}|\d{1,2}[/.-]\d{1,2}[/.-]\d{4})([ T]\d{2}:\d{2}.*)?\s*$")
_DATE_NAME = re.compile(r"(_date|_day|_datum|_at|_timestamp)$", re.I)
_INSZ_LIKE = re.compile(r"^\s*\d{2}[.]?\d{2}[.]?\d{2}[-.]?\d{3}[.]?\d{2}\s*$")


def passes_insz_check(digits: str) -> bool:
    """11 digits whose last two are 97 - (first nine mod 97), or the same with a '2' prefix
    (births from 2000). Looser than `wse_impact.landing.insz.is_valid_insz` on purpose: the gate
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


# --- release log (restricted) and differencing on true values -----------------------------

def _true_counts(outputs: dict[str, pd.DataFrame], specs: dict[str, OutputSpec]) -> dict[str, dict[str, float]]:
    counts = {}
    for name, table in outputs.items():
        spec = specs.get(name)
        if spec is None:
            continue
        values = pd.to_numeric(table[spec.count], errors="coerce")
        counts[name] = {cell_key(spec, row): (None if pd.isna(v) else float(v))
                        for (_, row), v in zip(table[list(spec.dimensions)].iterrows(), values)}
    return counts


def _true_attribute_counts(outputs: dict[str, pd.DataFrame], specs: dict[str, OutputSpec]) -> dict:
    """Per output, cell and share column: the persons with the attribute (share x n_persons;
    weighted persons for a weighted share), the numerator differencing compares."""
    found = {}
    for name, table in outputs.items():
        spec = specs.get(name)
        if spec is None or not spec.values:
            continue
        n = pd.to_numeric(table[spec.count], errors="coerce")
        found[name] = {}
        for column in spec.values:
            attribute = pd.to_numeric(table[column], errors="coerce") * n
            for (_, row), value in zip(table[list(spec.dimensions)].iterrows(), attribute):
                found[name].setdefault(cell_key(spec, row), {})[column] = None if pd.isna(value) else float(value)
    return found


def _earlier_known(true_now: dict[str, dict[str, float]], log: list[dict]) -> dict[str, dict[str, float]]:
    """Counts an earlier release published whose true value is unchanged: the attacker has them."""
    known: dict[str, dict[str, float]] = {}
    for entry in log:
        for name, cells in entry.get("cells", {}).items():
            now = true_now.get(name, {})
            for key, (true_before, published_before) in cells.items():
                if published_before is not None and key in now and now[key] == true_before:
                    known.setdefault(name, {})[key] = true_before
    return known


def _log_cells(release: Release, tables: dict[str, pd.DataFrame], attributes_now: dict) -> tuple[dict, dict]:
    """What the release log keeps of a release: per cell its true count and what was
    published of it (None when suppressed), and per share its true numerator and published value."""
    cells = {}
    for name, result in release.outputs.items():
        published = tables.get(name)
        cells[name] = {
            key: [true, None if published is None or pd.isna(published.at[i, result.spec.count])
                  else float(published.at[i, result.spec.count])]
            for i, (key, true) in enumerate(zip(release.keys[name], release.true_counts[name]))
        }
    attributes = {}
    for name, columns_by_key in attributes_now.items():
        published = tables.get(name)
        index = {key: i for i, key in enumerate(release.keys[name])}
        attributes[name] = {
            key: {column: [value, None if published is None or pd.isna(published.at[index[key], column])
                           else float(published.at[index[key], column])]
                  for column, value in columns.items()}
            for key, columns in columns_by_key.items()
        }
    return cells, attributes


def differencing_problems(now: dict, log: list[dict], threshold: int) -> list[str]:
    """Cells of a release (`now`: its release-log entry, true and published values) whose true
    count differs from an earlier release's by 1..threshold-1 persons (a small group, or one
    person's values, by difference), unless suppressed in both; and shares published in both
    releases whose persons with, or without, the attribute differ by 1..threshold-1."""
    t = threshold
    problems = []
    for entry in log:
        for name, cells in entry.get("cells", {}).items():
            cells_now = now.get("cells", {}).get(name)
            if cells_now is None:
                continue
            for key, (true_before, published_before) in cells.items():
                true_now, published_now = cells_now.get(key, (None, None))
                if true_now is None or true_before is None:
                    continue
                difference = abs(true_now - true_before)
                if 0 < difference < t and not (published_before is None and published_now is None):
                    problems.append(
                        f"{name} cell {key}: its true count differs from the release of {entry['export_date']} by "
                        f"{difference:g} persons (< {t}): the difference would be a small group")
        # shares published in both: the persons with (or without) the attribute must not
        # differ by 1..t-1 either (one person's changed status, read from two shares)
        for name, cells in entry.get("attributes", {}).items():
            attributes_now = now.get("attributes", {}).get(name)
            if attributes_now is None:
                continue
            for key, columns in cells.items():
                for column, (true_before, published_before) in columns.items():
                    value_now, published_now = attributes_now.get(key, {}).get(column, (None, None))
                    if value_now is None or true_before is None or published_before is None or published_now is None:
                        continue
                    counted_before = entry.get("cells", {}).get(name, {}).get(key)
                    n_before = counted_before[0] if counted_before else None
                    n_now = now["cells"].get(name, {}).get(key, (None, None))[0]
                    with_attribute = abs(value_now - true_before)
                    without = (abs((n_now - value_now) - (n_before - true_before))
                               if n_before is not None and n_now is not None else 0.0)
                    small = [d for d in (with_attribute, without) if 1e-9 < d < t - 1e-9]
                    if small:
                        problems.append(
                            f"{name} cell {key}, {column}: the persons with or without the attribute differ from the "
                            f"release of {entry['export_date']} by {min(small):.3g} (< {t}): their values could be read "
                            "from the two shares")
    return problems


def linked_apart_problems(outputs: dict, links: tuple[Link, ...], log: list[dict]) -> list[str]:
    """Declared links between an output of this release and one an earlier release holds
    but this one does not. The protection sees a link only when both outputs are in one
    release: apart, each release passes alone while their difference is a small group
    (a measure's 50 beneficiaries in one release, 46 of them in the window of another)."""
    released = {name for entry in log for name in entry.get("cells", {})}
    problems = []
    for link in links:
        inside = [name for name in (link.superset, link.subset) if name in outputs]
        outside = [name for name in (link.superset, link.subset) if name not in outputs]
        if len(inside) == 1 and outside[0] in released:
            problems.append(f"{inside[0]} is linked to {outside[0]} ({link.name}), which an earlier release holds: "
                            f"release them together, so that the protection sees both")
    return problems


def read_release_log(restricted_dir: str | Path) -> list[dict]:
    """Every entry of the release log (restricted side): releases and purges, oldest first."""
    path = Path(restricted_dir) / RELEASE_LOG
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def release_log_entries(restricted_dir: str | Path) -> list[dict]:
    """The releases recorded in the release log, oldest first."""
    return [e for e in read_release_log(restricted_dir) if e.get("event") == "export"]


# --- retention -----------------------------------------------------------------------------

def retention_status(today: date, retain_until: date) -> tuple[str, str | None]:
    days_left = (retain_until - today).days
    if days_left < 0:
        return "expired", f"the retention period ended on {retain_until.isoformat()} ({-days_left} days ago): no export may be made"
    if days_left < RETENTION_WARNING_DAYS:
        return "warning", f"only {days_left} days of retention remain (retain until {retain_until.isoformat()})"
    return "ok", None


# --- export --------------------------------------------------------------------------------

def _spec_dict(spec: OutputSpec) -> dict:
    return {k: v for k, v in asdict(spec).items() if k != "name"}


def published_table(result: CheckedOutput) -> pd.DataFrame:
    """The checked table as it is written: sorted by its dimensions, shares and means to
    PUBLISHED_SIGNIFICANT_DIGITS significant digits (counts untouched). Its index is the
    checked table's, so the audit can tie each row to its cell."""
    table = result.table.sort_values(list(result.spec.dimensions), kind="stable").copy()
    for column in (*result.spec.values, *(m.column for m in result.spec.magnitudes)):
        table[column] = table[column].map(lambda v: float(f"{v:.{PUBLISHED_SIGNIFICANT_DIGITS}g}"),
                                          na_action="ignore")
    return table


@dataclass
class PreparedRelease:
    """A release checked and written into a folder of its own, not yet released: what
    `publish_release` copies to exports/<date>/ and records."""

    folder: Path
    report: dict
    custodian: dict  # the custodian's full report (restricted)
    log_entry: dict  # the true and published value of every cell (restricted)
    files: list[str]
    warnings: list[str]
    release: Release
    # the persons behind every published cell (label, count, set): for the caller to keep
    # (PersonSetStore.add) when the release is made, and to check again then
    person_sets: list[PersonCell] = field(default_factory=list)


@dataclass
class PublishedRelease:
    """A release made: its folder, and the published cells' person sets the caller records
    (`PersonSetStore.add`, in the transaction that records the release)."""

    folder: Path
    person_sets: list[PersonCell]


def person_set_problems(cells: list[PersonCell], store, threshold: int, project_outputs=()) -> list[str]:
    """Nested person sets differing by 1..threshold-1 persons between `cells` (published
    cells of one release) and the store's cells, or among `cells`.

    Two different cells of one project output model (`project_outputs`: the models declared
    in the project, whose cells its reviewed SQL defines) are left to that output's own
    disclosure spec, protection and audit: a quarter's persons in a position are often
    nested in the previous quarter's (a stock that only shrinks), which is the table's
    structure, not a group anyone chose. Every other pair is checked: any cell of a
    researcher's aggregate (the researcher chooses which rows carry each label), cells of
    two outputs, and the same cell of one output in two releases."""
    candidates = {label: persons for label, _count, persons in cells}
    outputs = set(project_outputs)

    def exempt(label: str, other: str) -> bool:
        name, key = label.split(" ", 1)
        other_name, other_key = other.split(" ", 1)
        cell, other_cell = key[:key.rindex("]") + 1], other_key[:other_key.rindex("]") + 1]
        return name == other_name and name in outputs and cell != other_cell

    check = store.nested_problems if isinstance(store, PersonSetStore) else store
    return check(candidates, threshold, exempt)


def _with_store(store, restricted: Path, action):
    """Run `action(store)` with the given store, else the file store on the restricted side."""
    if store is not None:
        return action(store)
    connection, file_store = open_file_store(restricted)
    try:
        return action(file_store)
    finally:
        connection.close()


def check_release(
    into: str | Path,
    warehouse_dir: str | Path | None = None,
    today: date | None = None,
    rules: DisclosureRules = DEFAULT_RULES,
    retain_until: date | None = None,
    outputs: dict[str, pd.DataFrame] | None = None,
    specs: dict[str, OutputSpec] | None = None,
    links: tuple[Link, ...] | None = None,
    source: str | None = None,
    project: str | Path | None = None,
    restricted_dir: str | Path | None = None,
    engine: str | None = None,
    person_sets: dict[str, OutputPersons] | None = None,
    person_set_store=None,
    manifest: str | Path | None = None,
    history: list[dict] | None = None,
) -> PreparedRelease:
    """Check one release and write what would leave into the new folder `into`; raise
    `ExportRefused` (nothing written) when it may not go. Nothing is recorded: the release
    log and the custodian's reports are written by `publish_release`.

    `outputs` may be given directly (tests, hand-made tables, a researcher's aggregates);
    otherwise they are read from `<warehouse_dir>/wse_impact.duckdb`, schema `outputs`, with
    the persons behind their cells from schema `persons`. Specs and links default to those
    declared in the project's output ymls, `retain_until` to the project's `vars`.

    `person_sets`: per output, the persons behind its cells (a researcher's aggregate's,
    `read_output_persons` of output models); every count must be its set's size. Differencing
    is on person sets for those outputs: refused when a cell it would publish and a published
    cell (earlier, in `person_set_store`, or in this release) count nested sets differing by
    1..threshold-1 persons. `person_set_store`: a `PersonSetStore` or a callable
    (candidates, threshold) -> problems; by default the file store on the restricted side.
    Outputs without person sets (hand-made tables) keep differencing on true counts by name.
    The published cells' sets are returned on the PreparedRelease, for the caller to record.
    """
    today = today or date.today()
    into = Path(into)
    restricted = Path(restricted_dir) if restricted_dir else restricted_dir_of(warehouse_dir)
    declared_specs, declared_links = output_specs(project)
    # the project's own output models (their cells defined by the project's reviewed SQL), not
    # a table the caller names and specifies itself (a researcher's aggregate)
    project_outputs = sorted(set(declared_specs) - set(specs or {}))
    specs = {**declared_specs, **(specs or {})}
    links = declared_links if links is None else links
    retain_until = retain_until or configured_retain_until(project)
    found_warnings = []

    state, message = retention_status(today, retain_until)
    if state == "expired":
        raise ExportRefused("export refused: retention period passed", [message])
    if state == "warning":
        warnings.warn(message, stacklevel=2)
        found_warnings.append(message)
    if into.exists():
        raise ExportRefused(f"export refused: {into} already exists (a release is never overwritten)")

    if outputs is None:
        built = engines.engine(engine)
        try:
            outputs = built.read_outputs(warehouse_dir)
        except (engines.NoBuild, engines.NoTables) as missing:
            raise ExportRefused(str(missing)) from missing
        source = source or str(built.build_location(warehouse_dir))
        if person_sets is None and built.name == "duckdb":  # a Spark build: true counts by name
            with built.research_connection(warehouse_dir) as con:
                person_sets = read_output_persons(
                    con, {n: specs.get(n) or infer_spec(n, t) for n, t in outputs.items()}, manifest)
    person_sets = {name: persons for name, persons in (person_sets or {}).items() if name in outputs}

    problems = [p for name, table in outputs.items() for p in gate_problems(name, table)]
    if problems:
        raise ExportRefused("export refused: not every output is an anonymous aggregate", problems)

    # the releases made so far: the release service's record, else the restricted folder's log
    log = release_log_entries(restricted) if history is None else history
    problems = linked_apart_problems(outputs, links, log)
    if problems:
        raise ExportRefused("export refused: an output is linked to one released without it", problems)
    specs = {name: specs.get(name) or infer_spec(name, table) for name, table in outputs.items()}
    problems = [p for name, persons in person_sets.items()
                for p in count_mismatches(name, specs[name], outputs[name], persons)]
    if problems:
        raise ExportRefused("export refused: a count is not the number of persons behind its cell", problems,
                            names_counts=True)
    true_now = _true_counts(outputs, specs)
    attributes_now = _true_attribute_counts(outputs, specs)
    release = protect(outputs, specs, links, rules, earlier=_earlier_known(true_now, log))
    tables = {name: published_table(result) for name, result in release.outputs.items() if result.status == "passed"}
    cells, attributes = _log_cells(release, tables, attributes_now)
    # differencing by name on true counts, for outputs without the persons behind their cells
    problems = differencing_problems(
        {"cells": {n: c for n, c in cells.items() if n not in person_sets},
         "attributes": {n: a for n, a in attributes.items() if n not in person_sets}}, log, rules.min_persons)
    if problems:
        raise ExportRefused("export refused: differencing with an earlier release would reveal small groups", problems,
                            names_counts=True)
    # differencing on person sets, under any name, against every published cell and within
    published_sets = [cell for name, persons in person_sets.items()
                      for cell in published_person_cells(name, specs[name], release.keys[name], tables.get(name),
                                                         persons)]
    problems = _with_store(person_set_store, restricted,
                           lambda store: person_set_problems(published_sets, store, rules.min_persons,
                                                             project_outputs=project_outputs))
    if problems:
        raise ExportRefused("export refused: a published cell and another published cell count nested sets of "
                            "persons differing by a small group", problems, names_counts=True)

    # the gate: the audit on exactly what would be written
    release.audit = audit = audit_release(release, tables)
    if not audit.passed:
        raise ExportRefused("export refused: the protection audit finds suppressed cells an attacker could narrow "
                            "from the released files", audit.problems, names_counts=True)

    checked_against = [e["export_date"] for e in log]
    report = {
        "export_date": today.isoformat(),
        "retain_until": retain_until.isoformat(),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "disclosure_rules": rules.describe(),
        "cross_output_links": [asdict(link) for link in links],
        "protection_audit": audit.figures(),
        "differencing": {"checked_against": checked_against,
                         "on": "person sets" if person_sets and len(person_sets) == len(outputs)
                         else "person sets and true counts" if person_sets else "true counts",
                         "status": "passed"},
        "retention": {"status": state, "warning_days": RETENTION_WARNING_DAYS},
        "warnings": found_warnings,
        "outputs": {},
    }
    custodian = {
        "export_date": today.isoformat(),
        "source": source or "in-memory outputs",
        "released_report": REPORT,
        "selection": {
            "cost": "fewest cells suppressed, then fewest persons (cost = cells + persons / (all persons + 1))",
            "total_cost": release.selection.cost,
            "proved_optimal": release.selection.optimal,
            "gap": release.selection.gap,
            "programs_solved": release.selection.n_mips,
            "seconds": round(release.selection.seconds, 3),
            "unprotectable": release.selection.unprotectable,
        },
        "audit": {**audit.figures(), "seconds": round(audit.seconds, 3),
                  "intervals": [{"expression": i.label, "true": i.true, "lower": i.lower, "upper": i.upper,
                                 "passed": i.passed} for i in audit.intervals]},
        "counts_below_threshold": release.suppressed_before,
        "outputs": {},
    }

    into.parent.mkdir(parents=True, exist_ok=True)
    partial = into.parent / f".{into.name}.partial-{os.getpid()}"
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir()
    try:
        files = []
        for name, result in release.outputs.items():
            entry = {
                "status": result.status,
                "rows": len(result.table),
                "spec": _spec_dict(result.spec),
                "cells": result.n_cells,
                "cells_suppressed": result.n_suppressed,
            }
            custodian["outputs"][name] = {
                **entry,
                "counts_suppressed": result.n_suppressed_counts,
                "counts_below_threshold": release.suppressed_before.get(name, 0),
                "suppressions_by_rule": pd.Series([s.rule for s in result.suppressions], dtype="string")
                .value_counts().to_dict(),
                "suppressions": [asdict(s) for s in result.suppressions],
                "notes": result.notes,
            }
            if result.status == "passed":
                path = partial / f"{name}.csv"
                tables[name].to_csv(path, index=False)
                entry["file"] = path.name
                files.append(path.name)
            else:
                entry["reason"] = "every cell is suppressed: nothing to publish"
            report["outputs"][name] = entry

        if PLOT_OUTPUT in tables:
            from wse_impact.release.plot import plot_employment_around_measure

            if plot_employment_around_measure(tables[PLOT_OUTPUT], partial / PLOT_FILE):
                files.append(PLOT_FILE)
                report["plot"] = {"file": PLOT_FILE, "drawn_from": f"{PLOT_OUTPUT}.csv (suppressed cells left out)"}

        (partial / RETENTION_FILE).write_text(f"retain_until: {retain_until.isoformat()}\n")
        files.append(RETENTION_FILE)
        report["status"] = "passed" if any(o["status"] == "passed" for o in report["outputs"].values()) else "withheld"
        (partial / REPORT).write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n")
        files.append(REPORT)
        sums = "".join(f"{sha256_of(partial / f)}  {f}\n" for f in sorted(files))
        (partial / CHECKSUMS).write_text(sums)
        files.append(CHECKSUMS)
        partial.rename(into)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    log_entry = {"event": "export", "retain_until": retain_until.isoformat(), "threshold": rules.min_persons,
                 "project_outputs": project_outputs, "cells": cells, "attributes": attributes}
    return PreparedRelease(into, report, custodian, log_entry, files, found_warnings, release, published_sets)


def publish_release(staged: str | Path, custodian: dict, log_entry: dict, export_dir: str | Path | None = None,
                    restricted_dir: str | Path | None = None, today: date | None = None, move: bool = False,
                    person_sets: list[PersonCell] | None = None, person_set_store=None) -> PublishedRelease:
    """Release a checked folder: to `exports/<today>/`, after checking again, against every
    release recorded since it was checked, that no difference reveals a small group (true
    counts by name; `person_sets`, the PreparedRelease's, against `person_set_store`, by
    default the restricted side's file store); then record it (the custodian's report and
    the release log, on the restricted side). The person sets are not recorded here: they
    are returned, for the caller to record with the release (`PersonSetStore.add`)."""
    today = today or date.today()
    staged = Path(staged)
    export_dir = default_export_dir(export_dir)
    restricted = Path(restricted_dir) if restricted_dir else restricted_dir_of()
    state, message = retention_status(today, date.fromisoformat(log_entry["retain_until"]))
    if state == "expired":
        raise ExportRefused("release refused: retention period passed", [message])
    log_path = restricted / RELEASE_LOG
    problems = differencing_problems(log_entry, release_log_entries(restricted),
                                     int(log_entry.get("threshold", DEFAULT_RULES.min_persons)))
    if not problems and person_sets:
        problems = _with_store(person_set_store, restricted,
                               lambda store: person_set_problems(
                                   person_sets, store, int(log_entry.get("threshold", DEFAULT_RULES.min_persons)),
                                   project_outputs=log_entry.get("project_outputs", ())))
    if problems:
        raise ExportRefused("release refused: differencing with a release made since the check would reveal "
                            "small groups", problems, names_counts=True)
    folder = export_dir / today.isoformat()
    if folder.exists():
        raise ExportRefused(f"release refused: {folder} already exists (a release is never overwritten)")
    export_dir.mkdir(parents=True, exist_ok=True)
    if move:
        staged.rename(folder)
    else:
        partial = export_dir / f".{today.isoformat()}.partial-{os.getpid()}"
        shutil.copytree(staged, partial)
        partial.rename(folder)

    restricted.mkdir(parents=True, exist_ok=True)
    custodian_path = restricted / CUSTODIAN_REPORTS / f"{today.isoformat()}.json"
    custodian_path.parent.mkdir(parents=True, exist_ok=True)
    custodian = {**custodian, "released_on": today.isoformat(), "released_report_sha256": sha256_of(folder / REPORT)}
    custodian_path.write_text(json.dumps(custodian, indent=2, ensure_ascii=False, default=str) + "\n")
    with log_path.open("a") as f:
        f.write(json.dumps({**log_entry, "export_date": today.isoformat(), "folder": folder.name,
                            "report_sha256": sha256_of(folder / REPORT)}) + "\n")
    return PublishedRelease(folder, list(person_sets or []))
