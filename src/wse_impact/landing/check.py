"""Structural checks of the landing files, before dbt reads them.

A broken delivery (missing file, missing or renamed column, wrong delimiter, bytes that are
not UTF-8, empty file, a snapshot partition with another schema) must stop the build with a
message naming the file and the problem, instead of an obscure DuckDB error in some staging
view, or worse, a silent cast. Row-level problems are *not* checked here: those rows go to
the quarantine (see models/intermediate/).

The declared sources are the contract: `external_location` (a `read_csv(...)` or
`read_parquet(...)` call, as dbt-duckdb renders it) and the columns with their `data_type`.
The dbt project passes them from `graph.sources` (macros/check_landing_files.sql, run as an
`on-run-start` hook through the `wse_check_landing` function of the project's dbt-duckdb
plugin); `wse-impact check-landing` reads the same declarations from the source yml files.
"""

from __future__ import annotations

import glob
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any, Iterable

from wse_impact import settings
from wse_impact.landing.delimited import (DELIMITER_NAMES, LINEAGE_COLUMNS, file_problems, read_delimited,
                                          read_delimited_and_keep, read_delimited_once)

# where the synthetic demo's landing files go when WSE_LANDING_DIR is not set; a delivery is
# always named by WSE_LANDING_DIR (README, "Deliveries and the synthetic demo")


class LandingCheckError(RuntimeError):
    """One or more landing files are structurally broken; the message lists every problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(format_problems(problems))


@dataclass
class DeclaredSource:
    """One declared source table: where its files are and what they must contain."""

    name: str  # "wse.vop"
    reader: str  # "read_csv" or "read_parquet"
    path: str  # file path or glob, as in the external_location
    options: dict[str, str] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)  # name -> declared data_type


# ----------------------------------------------------------------------------- declarations

_CALL = re.compile(r"^\s*(read_csv\w*|read_parquet)\s*\(\s*'((?:[^']|'')*)'\s*(.*)\)\s*$", re.S)
_OPTION = re.compile(r"(\w+)\s*=\s*('(?:[^']|'')*'|\{[^}]*\}|[^,]+)")


def render_location(template: str, formatter: str | None, fields: dict[str, Any]) -> str:
    """Render an external_location template the way dbt-duckdb does (relation.py)."""
    formatter = formatter or "newstyle"
    if formatter == "newstyle":
        return template.format_map(fields)
    if formatter == "oldstyle":
        return template % fields
    if formatter == "template":
        return Template(template).substitute(fields)
    raise ValueError(f"formatter {formatter!r} not recognised")


def parse_location(location: str) -> tuple[str, str, dict[str, str]]:
    """`read_csv('path', delim = ';', ...)` -> ("read_csv", "path", {"delim": ";", ...})."""
    match = _CALL.match(location)
    if not match:
        raise ValueError(f"cannot read external_location {location!r}: expected read_csv('...') or read_parquet('...')")
    reader, path, rest = match.group(1), match.group(2).replace("''", "'"), match.group(3)
    options = {}
    for key, value in _OPTION.findall(rest):
        value = value.strip()
        if value.startswith("'") and value.endswith("'"):
            value = value[1:-1].replace("''", "'")
        options[key.lower()] = value
    return ("read_parquet" if reader == "read_parquet" else "read_csv"), path, options


def sources_from_graph(graph_sources: Iterable[dict[str, Any]], landing: Path | None = None) -> list[DeclaredSource]:
    """Declared sources from the list the dbt macro passes (one dict per source table)."""
    declared = []
    for src in graph_sources:
        meta = dict(src.get("meta") or {})
        # the delivered columns: not those the project's reader adds (file, line, damage)
        columns = {c["name"]: (c.get("data_type") or "") for c in src.get("columns", []) if c["name"] not in LINEAGE_COLUMNS}
        name = f"{src['source_name']}.{src['name']}"
        if meta.get("landing_file"):
            options = {"delim": meta.get("delimiter", ","), "quote": meta.get("quote", '"')}
            declared.append(DeclaredSource(name, "delimited", str(landing_file_path(meta["landing_file"], src, landing)), options, columns))
            continue
        location = meta.get("external_location")
        if not location:
            continue
        fields = {
            "name": src["name"],
            "identifier": src.get("identifier") or src["name"],
            "schema": src.get("schema"),
            "database": src.get("database"),
            "tags": src.get("tags") or [],
            **meta,
        }
        rendered = render_location(location, meta.get("formatter"), fields)
        reader, path, options = parse_location(rendered)
        declared.append(DeclaredSource(name, reader, path, options, columns))
    return declared


def landing_file(template: str, name: str, identifier: str | None = None) -> str:
    """A source's `landing_file` (e.g. 'measures/{name}.csv'), relative to the landing folder."""
    return template.format(name=name, identifier=identifier or name)


def landing_file_path(template: str, source: dict[str, Any], landing: Path | None = None) -> Path:
    """A source's `landing_file` inside the landing folder."""
    return (landing or settings.landing_dir()) / landing_file(template, source["name"], source.get("identifier"))


def read_landing_source(meta: dict[str, Any], name: str, identifier: str | None = None):
    """A declared delimited source (`landing_file`, `delimiter`, `quote` in its meta) read by
    the project's reader, as both engines load it; `LandingCheckError` when the file as a
    whole cannot be built."""
    relative = landing_file(meta["landing_file"], name, identifier)
    path = settings.landing_dir() / relative
    if not path.is_file():
        raise LandingCheckError([f"{relative}: file missing (source {name}, expected at {path})"])
    # parsed once: by the structural check of this run if it kept the file, else now
    parsed = read_delimited_once(path, name=relative, delimiter=meta.get("delimiter", ","), quote=meta.get("quote", '"'))
    problems = file_problems(parsed)
    if problems:
        raise LandingCheckError(problems)
    return parsed


def sources_from_yaml(project_dir: Path, landing_dir: str | None = None) -> list[DeclaredSource]:
    """Declared sources read from the project's `_*__sources.yml` files (for the CLI), through
    the one reader of source declarations (project/declarations.py).

    The yml holds `{{ env_var('WSE_LANDING_DIR', ...) }}` (in the snapshots' external_location)
    and `landing_file` paths relative to the landing folder: both are resolved with `landing_dir`
    (or the environment variable, or the synthetic demo's folder).
    """
    from wse_impact.project.declarations import declared_sources, source_nodes_from_yaml

    landing = landing_dir or str(settings.landing_dir())
    nodes = source_nodes_from_yaml(project_dir, {"WSE_LANDING_DIR": landing})
    return sources_from_graph(declared_sources(nodes), Path(landing))


# ----------------------------------------------------------------------------- checks


def check_sources(sources: Iterable[DeclaredSource], base_dir: Path | None = None, keep_parsed: bool = False) -> list[str]:
    """Every structural problem of every declared source, one readable line each. `keep_parsed`:
    keep each delimited file as parsed, for the load in the same process (the dbt hook)."""
    problems: list[str] = []
    for source in sources:
        if source.reader in ("read_csv", "delimited"):
            problems += _check_csv_source(source, base_dir, keep_parsed)
        else:
            problems += _check_parquet_source(source, base_dir)
    return problems


def format_problems(problems: list[str], consequence: str = "") -> str:
    if not problems:
        return ""
    head = f"Landing files are structurally broken ({len(problems)} problem{'s' if len(problems) > 1 else ''}){consequence}:"
    return "\n".join([head, *(f"  - {p}" for p in problems)])


def check_graph_json(payload: str) -> str:
    """Entry point of the dbt plugin's `wse_check_landing(json)`: '' when all is well,
    otherwise the full message (the dbt macro raises it)."""
    sources = sources_from_graph(json.loads(payload))
    return format_problems(check_sources(sources, keep_parsed=True), "; the run stops before anything is built")


def _resolve(pattern: str, base_dir: Path | None) -> tuple[str, list[Path]]:
    full = pattern if base_dir is None or Path(pattern).is_absolute() else str(base_dir / pattern)
    if glob.has_magic(full):
        return full, sorted(Path(p) for p in glob.glob(full))
    return full, [Path(full)] if Path(full).exists() else []


def _display(path: Path | str) -> str:
    """measures/vop.csv rather than a long absolute path: from the landing folder on."""
    parts = Path(path).parts
    anchors = [i for i, part in enumerate(parts) if part in ("measures", "dwh")]
    return "/".join(parts[anchors[-1]:]) if anchors else str(path)


# --- CSV


def _check_csv_source(source: DeclaredSource, base_dir: Path | None, keep_parsed: bool = False) -> list[str]:
    full, files = _resolve(source.path, base_dir)
    if not files:
        return [f"{_display(full)}: file missing (source {source.name}, expected at {full})"]
    problems = []
    for path in files:
        problems += check_csv_file(path, list(source.columns), delimiter=source.options.get("delim", source.options.get("sep", ",")),
                                   quote=source.options.get("quote", '"') or '"', keep_parsed=keep_parsed)
    return problems


def check_csv_file(path: Path, expected_columns: list[str], delimiter: str = ";", quote: str = '"',
                   keep_parsed: bool = False) -> list[str]:
    """What makes one delimited file unreadable as a whole; damaged lines are not problems
    here unless there are too many of them (they go to the quarantine: delimited.py)."""
    name = _display(path)
    if path.is_dir():
        return [f"{name}: is a folder, not a file"]
    if keep_parsed:  # the records too, for the load (read_landing_source) to take
        parsed = read_delimited_and_keep(path, name=name, delimiter=delimiter, quote=quote)
    else:
        parsed = read_delimited(path, name=name, delimiter=delimiter, quote=quote, keep_records=False)
    if parsed.unreadable:
        return file_problems(parsed)
    header = parsed.header

    problems = []
    expected_lower = [c.lower() for c in expected_columns]
    found_lower = [h.lower() for h in header]
    if len(header) == 1 and len(expected_columns) > 1:
        guess = _guess_delimiter(header[0], delimiter)
        hint = f", the header seems to use {guess}" if guess else ""
        return [f"{name}: one column found: wrong delimiter? expected {DELIMITER_NAMES.get(delimiter, repr(delimiter))}{hint} "
                f"(header: {header[0][:80]!r})"]
    duplicated = sorted({h for h in found_lower if found_lower.count(h) > 1})
    if duplicated:
        problems.append(f"{name}: column{'s' if len(duplicated) > 1 else ''} named twice in the header: {_quoted(duplicated)}")
    missing = [c for c, low in zip(expected_columns, expected_lower) if low not in found_lower]
    unexpected = [h for h, low in zip(header, found_lower) if low not in expected_lower]
    for col in missing:
        found = f" (found {_quoted(unexpected)})" if unexpected else ""
        problems.append(f"{name}: column '{col}' missing{found}")
    if unexpected and not missing:
        problems.append(f"{name}: unexpected column{'s' if len(unexpected) > 1 else ''} {_quoted(unexpected)} "
                        f"(not declared in the sources yml: declare it or remove it from the delivery)")
    return problems + file_problems(parsed)


def _guess_delimiter(line: str, expected: str) -> str | None:
    counts = {d: line.count(d) for d in DELIMITER_NAMES if d != expected}
    best = max(counts, key=counts.get)
    return DELIMITER_NAMES[best] if counts[best] > 0 else None


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


# --- Parquet


def _check_parquet_source(source: DeclaredSource, base_dir: Path | None) -> list[str]:
    import duckdb

    full, files = _resolve(source.path, base_dir)
    hive = source.options.get("hive_partitioning", "false").lower() == "true"
    partition_keys = re.findall(r"/(\w+)=\*", full) if hive else []
    problems = []
    if hive and partition_keys:
        # a partition folder without any file silently drops that partition
        folder_glob = full.split(f"{partition_keys[-1]}=*")[0] + f"{partition_keys[-1]}=*"
        for folder in sorted(glob.glob(folder_glob)):
            if Path(folder).is_dir() and not any(Path(f) in files for f in glob.glob(str(Path(folder) / "*"))):
                problems.append(f"{_display(folder)}: partition folder holds no file matching {Path(full).name!r}")
    if not files:
        return problems + [f"{_display(full)}: no file matches (source {source.name}, expected at {full})"]

    expected = {c: t for c, t in source.columns.items() if c not in partition_keys}
    con = duckdb.connect()
    try:
        declared = {c: _normalise_type(con, t) for c, t in expected.items()}
        for path in files:
            name = _display(path)
            try:
                described = con.execute("describe select * from read_parquet(?)", [str(path)]).fetchall()
                n_rows = con.execute("select count(*) from read_parquet(?)", [str(path)]).fetchone()[0]
            except duckdb.Error as err:
                problems.append(f"{name}: not a readable Parquet file ({str(err).splitlines()[0]})")
                continue
            found = {row[0].lower(): (row[0], row[1]) for row in described}
            missing = [c for c in expected if c.lower() not in found]
            unexpected = [orig for low, (orig, _t) in found.items()
                          if low not in {c.lower() for c in expected} and low not in partition_keys]
            for col in missing:
                hint = f" (found {_quoted(unexpected)})" if unexpected else ""
                problems.append(f"{name}: column '{col}' missing{hint}")
            if unexpected and not missing:
                problems.append(f"{name}: unexpected column{'s' if len(unexpected) > 1 else ''} {_quoted(unexpected)}")
            for col, want in declared.items():
                if col.lower() in found and want is not None and found[col.lower()][1] != want:
                    problems.append(f"{name}: column '{col}' is {found[col.lower()][1]}, declared {want}")
            if n_rows == 0:
                problems.append(f"{name}: empty file (0 rows)")
    finally:
        con.close()
    return problems


def _normalise_type(con, data_type: str) -> str | None:
    """'decimal(12,2)' -> 'DECIMAL(12,2)', 'integer' -> 'INTEGER', as DuckDB describes them."""
    if not data_type:
        return None
    try:
        return con.execute(f"describe select cast(null as {data_type}) as c").fetchone()[1]
    except Exception:  # noqa: BLE001 - an unknown declared type is not the delivery's fault
        return data_type.upper()
