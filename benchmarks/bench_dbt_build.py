"""Benchmark (not a test): `dbt build` against a hand-written one-statement DuckDB pass (the
anchor) over the same landing files, interleaved, twice each, in one run; then `dbt run` over
the existing warehouse, with partial parsing and a warm `target/`, and cold (a new target).

    .venv/bin/python benchmarks/bench_dbt_build.py [--landing DIR | --scale 1.0 --seed N] [--work-dir DIR]

The anchor links the measure extracts and the control sample to the warehouse snapshots,
builds the balanced panel (every person x every quarter, 'not in register' where missing),
classes the numeric variables by `seeds/class_bounds.csv` and writes the panel (about 35
columns) into a DuckDB file, in one `create table ... as` statement: what the project must do
at the least, without the checks, quarantine, tests, the second database or dbt itself.

Each step is a child process; its wall time and the peak memory of its process tree (the sum
of the resident memory of the child and its descendants, sampled every 0.1 s, and the
kernel's max RSS of the largest process) are printed with the ratio to the anchor's mean, the
most DuckDB held in its temporary folders (`<database>.tmp`: what it spilled because the work
did not fit its memory limit), and the machine's load (`/proc/loadavg`) before each step: the
machine may be shared. The anchor gets as much memory as it wants (40 % of the machine, so it
does not spill: at dbt's 1.25 GB it spills 1.2 GB and takes a third longer); dbt gets its own
setting. Targets (issue 23, scale 1.0): dbt build <= 2.5x the anchor and < 2 GB; dbt run <= 2x.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from process_tree import tree_rss  # benchmarks/process_tree.py, beside this script

from wse_impact.settings import duckdb_memory_limit, memory_limit

PROJECT_DIR = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# warehouse column -> (output name, class scheme in seeds/class_bounds.csv)
CLASSED = {
    "jaren_verblijf_belgie": ("residence_years_class", "residence_years"),
    "gezinsinkomen": ("household_income_class", "household_income_eur"),
    "ancienniteit_kwartalen": ("seniority_class", "seniority_quarters"),
    "dagen_tewerkstelling": ("days_worked_class", "days_in_quarter"),
    "afstand_woon_werk_km": ("commute_distance_class", "commute_distance_km"),
    "dagloon": ("daily_wage_class", "daily_wage_eur"),
    "brutoloon_kwartaal": ("gross_quarterly_wage_class", "gross_quarterly_wage_eur"),
    "percentage_arbeidsongeschiktheid": ("incapacity_pct_class", "incapacity_pct"),
    "dagen_arbeidsongeschiktheid": ("incapacity_days_class", "days_in_quarter"),
}
CODES = ["geslacht", "nis_arrondissement", "urbanisatiegraad", "herkomst", "nationaliteit", "geboorteland",
         "onderwijsniveau", "lage_werkintensiteit", "gezinstype", "nace_code", "paritair_comite", "arbeidsregime",
         "kwartalen_tewerkstelling", "percentage_deeltijds", "werknemersklasse", "zelfstandige",
         "dimensiecode_werkgever", "socio_economische_positie", "bijkomende_positie", "categorie_werkzoekende",
         "erkende_invaliditeit"]


def class_case(value: str, scheme: str, bounds: list[dict]) -> str:
    """CASE over one scheme's [lower, upper) classes; null -> 'unknown'."""
    whens = [f"when {value} is null then 'unknown'"]
    for row in sorted((b for b in bounds if b["class_scheme"] == scheme), key=lambda b: int(b["class_order"])):
        label = row["class_label"].replace("'", "''")
        whens.append(f"when {value} < {row['upper_bound']} then '{label}'" if row["upper_bound"] else f"else '{label}'")
    return "case " + " ".join(whens) + " end"


def anchor_sql(landing: Path) -> str:
    """The one statement: link, panel, class, write."""
    with open(PROJECT_DIR / "seeds" / "class_bounds.csv", newline="") as handle:
        bounds = list(csv.DictReader(handle))
    classed = ",\n    ".join(f"{class_case('s.' + col, scheme, bounds)} as {name}" for col, (name, scheme) in CLASSED.items())
    age = class_case("(year(q.last_day) - year(s.geboortedatum))", "age_years", bounds)
    return f"""
create table panel as
with
measures as (
    select insz from read_csv('{landing}/measures/*.csv', delim = ';', header = true, all_varchar = true,
                              union_by_name = true, ignore_errors = true)
),
controls as (select insz from read_csv('{landing}/dwh/control_sample.csv', header = true, all_varchar = true)),
persons as (
    select insz, md5(insz) as person_id, bool_or(is_beneficiary) as is_beneficiary, bool_or(not is_beneficiary) as is_control
    from (select insz, true as is_beneficiary from measures union all select insz, false from controls)
    group by insz
),
quarters as (
    select y || 'Q' || q as quarter, last_day(make_date(y, q * 3, 1)) as last_day
    from range(2014, 2023) as years (y) cross join range(1, 5) as qs (q)
),
snapshots as (
    select * from read_parquet('{landing}/dwh/snapshots/quarter=*/*.parquet', hive_partitioning = true,
                               hive_types = {{'quarter': varchar}})
)
select
    p.person_id, p.is_beneficiary, p.is_control, q.quarter as snapshot_quarter, s.insz is not null as is_in_register,
    {", ".join("s." + c for c in CODES)},
    {age} as age_class,
    {classed}
from persons as p
cross join quarters as q
left join snapshots as s
    on s.insz = p.insz and s.quarter = q.quarter
"""


def anchor_child(landing: str, database: str, limit: str) -> None:
    import duckdb

    con = duckdb.connect(database)
    con.execute(f"set memory_limit = '{limit}'")
    con.execute("set preserve_insertion_order = false")
    con.execute(anchor_sql(Path(landing)))
    con.close()


def spilled_bytes(folder: Path | None) -> int:
    """Bytes in DuckDB's temporary folders (<database>.tmp) under folder: what it spilled."""
    if folder is None:
        return 0
    total = 0
    for tmp in folder.glob("*.tmp"):
        try:
            for path in tmp.rglob("*"):
                total += path.stat().st_size
        except OSError:  # DuckDB removed a file or the folder while we looked
            pass
    return total


def run_child(cmd: list[str], env: dict, log: Path, spill_folder: Path | None = None) -> tuple[float, float, float, float]:
    """Run one command; return (wall s, peak GB of its process tree, max RSS GB of one process,
    peak GB that DuckDB spilled to its temporary folders in spill_folder)."""
    peak, spill = [0], [0]
    with open(log, "w") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=PROJECT_DIR, env=env, stdout=out, stderr=subprocess.STDOUT)
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.1):
                peak[0] = max(peak[0], tree_rss(proc.pid) // 1024)
                spill[0] = max(spill[0], spilled_bytes(spill_folder))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd)} failed, see {log}:\n{log.read_text()[-4000:]}")
    return wall, peak[0] / 1e6, usage.ru_maxrss / 1e6, spill[0] / 1e9


def load() -> str:
    """The load averages over 1, 5 and 15 minutes."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=20230905)
    parser.add_argument("--landing", default=None, help="landing dir, read only (default: generated under /tmp)")
    parser.add_argument("--work-dir", default=None, help="warehouses, targets, logs (default: a new /tmp folder)")
    parser.add_argument("--dbt", default=str(BIN / "dbt"), help="the dbt executable")
    parser.add_argument("--anchor-memory-limit", default="40%",
                        help="DuckDB's memory limit for the anchor (default 40%%: as much as it wants, so that "
                             "it does not spill; dbt gets WSE_DUCKDB_MEMORY_LIMIT)")
    parser.add_argument("--anchor-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.anchor_child:
        anchor_child(*args.anchor_child)
        return

    landing = Path(args.landing or f"/tmp/wse_bench_landing_{args.scale}_{args.seed}")
    if not args.landing:
        subprocess.run([str(BIN / "wse-impact"), "generate", "--scale", str(args.scale), "--seed", str(args.seed),
                        "--out", str(landing), "--if-missing", "--quiet"], check=True)
    root = Path(args.work_dir or tempfile.mkdtemp(prefix="wse_bench_"))
    root.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, WSE_LANDING_DIR=str(landing), DBT_PROFILES_DIR=str(PROJECT_DIR),
               DBT_SEND_ANONYMOUS_USAGE_STATS="false",
               WSE_PSEUDONYM_KEY=os.environ.get("WSE_PSEUDONYM_KEY", "benchmark-key-0123456789abcdef"))
    results: list[tuple[str, str, float, float, float]] = []

    def step(label: str, cmd: list[str], warehouse: Path | None = None, fresh: list[Path] = ()) -> None:
        for folder in fresh:
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
        step_env = dict(env, WSE_WAREHOUSE_DIR=str(warehouse or root / "unused"), DBT_LOG_PATH=str(root / "logs"))
        before = load()
        spill_folder = warehouse or (fresh[0] if fresh else None)
        wall, tree, maxrss, spilled = run_child(cmd, step_env, root / f"{label.replace(' ', '_')}.log", spill_folder)
        results.append((label, before, wall, tree, maxrss, spilled))
        print(f"  {label:28s} {wall:7.1f} s  tree peak {tree:5.2f} GB  max RSS {maxrss:5.2f} GB  "
              f"spilled {spilled:5.2f} GB  (load before: {before})", flush=True)

    print(f"landing {landing}, work dir {root}")
    for i in (1, 2):
        anchor_dir = root / f"anchor{i}"
        step(f"anchor #{i}", [sys.executable, __file__, "--anchor-child", str(landing), str(anchor_dir / "anchor.duckdb"),
                              memory_limit(args.anchor_memory_limit)],
             fresh=[anchor_dir])
        step(f"dbt build #{i}", [args.dbt, "build", "--target-path", str(root / f"target{i}")],
             root / f"warehouse{i}", fresh=[root / f"warehouse{i}", root / f"target{i}"])
    warehouse = root / "warehouse2"
    step("dbt run (warm target)", [args.dbt, "run", "--target-path", str(root / "target2")], warehouse)
    step("dbt run (cold target)", [args.dbt, "run", "--target-path", str(root / "target-cold")], warehouse,
         fresh=[root / "target-cold"])
    anchor = sum(r[2] for r in results if r[0].startswith("anchor")) / 2
    print(f"\nscale {args.scale:g}; anchor mean {anchor:.1f} s; load now {load()} (1, 5, 15 min); {os.cpu_count()} cores")
    print(f"DuckDB memory limit: dbt {duckdb_memory_limit()} (WSE_DUCKDB_MEMORY_LIMIT), "
          f"anchor {memory_limit(args.anchor_memory_limit)} (--anchor-memory-limit)")
    for label, before, wall, tree, maxrss, spilled in results:
        print(f"{label:28s} {wall:7.1f} s  {wall / anchor:5.2f}x anchor  peak {max(tree, maxrss):5.2f} GB"
              f"  spilled {spilled:5.2f} GB")


if __name__ == "__main__":
    main()
