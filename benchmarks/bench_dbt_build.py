"""Benchmark (not a test): `dbt build` at scale 1.0 against the same compiled SQL run
directly in one DuckDB session.

    .venv/bin/python benchmarks/bench_dbt_build.py [--scale 1.0] [--seed N] [--landing DIR]

Prints wall time and peak memory (max RSS of the child process) of each, and the ratio
dbt / direct. The direct run executes every model's compiled SQL from dbt's manifest, in
dependency order, in one DuckDB connection with the same plugin function, the seeds and
their ENUM types copied from dbt's build, and the models' plain-SQL settings hooks: what dbt
adds on top (tests, the landing check, parsing, its own bookkeeping) is the difference.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run_child(cmd: list[str], env: dict) -> tuple[float, float]:
    """Run one command; return (wall seconds, peak RSS in MB) of that child alone."""
    with tempfile.TemporaryFile(mode="w+") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            log.seek(0)
            sys.exit(f"{' '.join(cmd)} failed:\n{log.read()[-4000:]}")
    return wall, usage.ru_maxrss / 1024


def direct_run(manifest_path: str, dbt_warehouse: str, direct_warehouse: str) -> None:
    """Child process: execute the compiled models in one DuckDB session."""
    import duckdb

    from wse_impact.engines.duckdb_plugin import Plugin
    from wse_impact.landing.delimited import read_delimited
    from wse_impact.landing.check import sources_from_yaml

    manifest = json.loads(Path(manifest_path).read_text())
    nodes = {uid: n for uid, n in manifest["nodes"].items() if n["resource_type"] == "model"}
    con = duckdb.connect(f"{direct_warehouse}/restricted.duckdb")
    Plugin(name="wse_impact", plugin_config={}).configure_connection(con)  # the same functions as dbt's
    # the CSV sources, read by the project's reader as dbt-duckdb's source plugin does
    for source in sources_from_yaml(PROJECT_DIR):
        if source.reader == "delimited":
            schema, table = source.name.split(".")
            path = Path(source.path)
            parsed = read_delimited(path, name=path.relative_to(os.environ["WSE_LANDING_DIR"]).as_posix(),
                                    delimiter=source.options["delim"], quote=source.options["quote"])
            arrow = parsed.to_arrow()  # noqa: F841 (read by DuckDB by name)
            con.execute(f"create schema if not exists {schema}")
            con.execute(f"create or replace table {schema}.{table} as select * from arrow")
    con.execute(f"attach '{direct_warehouse}/wse_impact.duckdb' as wse_impact")
    con.execute(f"attach '{dbt_warehouse}/wse_impact.duckdb' as built (read_only)")
    con.execute("create schema if not exists wse_impact.reference")
    for (table,) in con.execute(
        "select table_name from information_schema.tables where table_catalog = 'built' and table_schema = 'reference'"
    ).fetchall():
        con.execute(f"create table wse_impact.reference.{table} as select * from built.reference.{table}")
    # the ENUM types the seeds' post-hooks made (macros/enum_types.sql)
    for (type_name,) in con.execute(
        "select type_name from duckdb_types() where database_name = 'built' and schema_name = 'reference'"
    ).fetchall():
        (values,) = con.execute(f"select enum_range(null::built.reference.{type_name})").fetchone()
        literals = ", ".join("'" + value.replace("'", "''") + "'" for value in values)
        con.execute(f"create type wse_impact.reference.{type_name} as enum ({literals})")
    con.execute("detach built")
    done: set[str] = set()

    def build(uid: str) -> None:
        if uid in done:
            return
        node = nodes[uid]
        for parent in node["depends_on"]["nodes"]:
            if parent in nodes:
                build(parent)
        database = "restricted" if node["database"] == "restricted" else node["database"]
        kind = "view" if node["config"]["materialized"] == "view" else "table"
        con.execute(f"create schema if not exists {database}.{node['schema']}")
        # the models' own settings hooks (plain SQL, e.g. unordered writes) run here too
        hooks = {when: [hook["sql"] for hook in node["config"].get(when, []) if "{{" not in hook["sql"]]
                 for when in ("pre-hook", "post-hook")}
        for hook in hooks["pre-hook"]:
            con.execute(hook)
        con.execute(f"create or replace {kind} {database}.{node['schema']}.{node['alias']} as ({node['compiled_code']})")
        for hook in hooks["post-hook"]:
            con.execute(hook)
        done.add(uid)

    for uid in nodes:
        build(uid)
    con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=20230905)
    parser.add_argument("--landing", default=None, help="landing dir (default: a generated one under /tmp)")
    parser.add_argument("--direct-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.direct_child:
        direct_run(*args.direct_child)
        return

    landing = Path(args.landing or f"/tmp/wse_bench_landing_{args.scale}_{args.seed}")
    subprocess.run([str(BIN / "wse-impact"), "generate", "--scale", str(args.scale), "--seed", str(args.seed),
                    "--out", str(landing), "--if-missing", "--quiet"], check=True)
    root = Path(tempfile.mkdtemp(prefix="wse_bench_"))
    for sub in ("dbt", "direct"):
        (root / sub).mkdir()
    env = dict(os.environ, WSE_LANDING_DIR=str(landing), WSE_WAREHOUSE_DIR=str(root / "dbt"),
               DBT_PROFILES_DIR=str(PROJECT_DIR), DBT_LOG_PATH=str(root / "logs"),
               WSE_PSEUDONYM_KEY=os.environ.get("WSE_PSEUDONYM_KEY", "benchmark-key-0123456789abcdef"))

    dbt_wall, dbt_rss = run_child([str(BIN / "dbt"), "build", "--target-path", str(root / "target")], env)
    direct_wall, direct_rss = run_child([sys.executable, __file__, "--direct-child", str(root / "target" / "manifest.json"),
                                         str(root / "dbt"), str(root / "direct")], env)
    rows = subprocess.run([sys.executable, "-c", (
        "import duckdb,sys; c=duckdb.connect(sys.argv[1], read_only=True);"
        "print(c.sql('select count(*) from marts.beneficiary_base').fetchone()[0] + "
        "c.sql('select count(*) from marts.control_base').fetchone()[0])"), str(root / "dbt" / "wse_impact.duckdb")],
        capture_output=True, text=True, check=True).stdout.strip()

    print(f"scale {args.scale}, seed {args.seed}: {rows} person-quarters in the two base files")
    print(f"dbt build (models, seeds, tests, hooks): {dbt_wall:7.1f} s wall, peak RSS {dbt_rss:7.0f} MB")
    print(f"direct compiled SQL (models only)      : {direct_wall:7.1f} s wall, peak RSS {direct_rss:7.0f} MB")
    print(f"ratio dbt / direct (wall)              : {dbt_wall / direct_wall:7.2f}")
    print(f"(work dir {root})")


if __name__ == "__main__":
    main()
