"""Benchmark: differencing on person sets (issue 19) for a request of the three output
models against a store holding ten earlier releases.

    .venv/bin/python benchmarks/bench_person_sets.py --scale 1.0           # generate, build, measure
    .venv/bin/python benchmarks/bench_person_sets.py --warehouse-dir warehouse --target-dir target

With `--scale` it generates the synthetic landing files and runs `dbt build` into a
temporary folder (scale 1.0: several minutes and a few GB; take the figures on a quiet
machine); with `--warehouse-dir` it reads a build as it is. Then it prints:

- reading the persons behind every cell of the three outputs from their person-level
  sources (schema `persons`) into bitmaps: time;
- the store: ten earlier releases of the same cells (each with its persons moved to ids of
  their own, so that every candidate meets stored cells of every count near its own, as a
  store of ten releases of these outputs would, without the check stopping at the first
  problem), its size in SQLite and of the serialized sets;
- the check (`PersonSetStore.nested_problems`) of every cell of the three outputs (all
  cells: an upper bound of what a release publishes) against the store and among
  themselves (the cells of 10 persons or more: a release publishes no other), two cells of
  one output left to its own protection as `check_release` does:
  time, peak memory of the check (tracemalloc), stored cells read and pairs compared.
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

OUTPUTS = ("beneficiaries_by_profile", "employment_around_measure", "socio_economic_position_by_quarter")
EARLIER_RELEASES = 10
BENCH_KEY = "bench-key-0123456789abcdef0123456789abcdef"


def build(scale: float, seed: int, root: Path) -> tuple[Path, Path]:
    from wse_impact.generate import generate_landing
    from wse_impact.settings import PROJECT_DIR

    landing, warehouse, target = root / "landing", root / "warehouse", root / "target"
    warehouse.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    generate_landing(out=landing, scale=scale, seed=seed, if_missing=False, progress=False)
    print(f"generated scale {scale:g} in {time.perf_counter() - started:.0f} s")
    env = {**os.environ, "WSE_LANDING_DIR": str(landing), "WSE_WAREHOUSE_DIR": str(warehouse),
           "WSE_PSEUDONYM_KEY": BENCH_KEY, "DBT_PROFILES_DIR": str(PROJECT_DIR),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_LOG_PATH": str(root / "logs")}
    started = time.perf_counter()
    dbt = Path(sys.executable).parent / "dbt"
    proc = subprocess.run([str(dbt), "build", "--target-path", str(target)], cwd=PROJECT_DIR, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"dbt build failed:\n{proc.stdout[-4000:]}")
    print(f"built in {time.perf_counter() - started:.0f} s")
    return warehouse, target


def measure(warehouse: Path, target: Path | None, tmp: Path) -> None:
    import duckdb

    from wse_impact.project import output_specs
    from wse_impact.release.export import person_set_problems
    from wse_impact.release.output_persons import read_output_persons
    from wse_impact.release.person_sets import PersonSetStore

    specs, _links = output_specs()
    manifest = target / "manifest.json" if target else None
    started = time.perf_counter()
    with duckdb.connect(str(warehouse / "wse_impact.duckdb"), read_only=True) as con:
        persons = read_output_persons(con, {name: specs[name] for name in OUTPUTS}, manifest)
    read_seconds = time.perf_counter() - started
    cells = []
    for name, behind in persons.items():
        for key, persons_of_cell in behind.counts.items():
            cells.append((f"{name} {key}", len(persons_of_cell), persons_of_cell))
            for share, with_attribute in behind.attributes.get(key, {}).items():
                cells.append((f"{name} {key} {share}: with the attribute", len(with_attribute), with_attribute))
                without = persons_of_cell - with_attribute
                cells.append((f"{name} {key} {share}: without the attribute", len(without), without))
    every = len(cells)
    cells = [cell for cell in cells if cell[1] >= 10]  # counts below 10 are never published
    print(f"persons behind {every} cells of {', '.join(OUTPUTS)}: read in {read_seconds:.1f} s; "
          f"{len(cells)} count 10 persons or more (a release publishes at most these)")

    path = tmp / "person_sets.sqlite"
    connection = sqlite3.connect(path)
    store = PersonSetStore(connection)
    store.create_schema()
    started = time.perf_counter()
    shift = 1 << 27  # each earlier release's persons get ids of their own
    with connection:
        for release in range(1, EARLIER_RELEASES + 1):
            store.add(f"R{release:04d}", [(label, count, persons_of_cell.shift(release * shift))
                                          for label, count, persons_of_cell in cells])
    stored, size = store.size()
    print(f"store: {EARLIER_RELEASES} earlier releases, {stored} cells, serialized sets {size / 1e6:.1f} MB, "
          f"SQLite file {path.stat().st_size / 1e6:.1f} MB (written in {time.perf_counter() - started:.1f} s)")

    # how many stored cells lie within 1-9 persons of some candidate's count
    counts = sorted({count for _label, count, _p in cells})
    near = sum(connection.execute(
        "select count(*) from released_person_sets where n_persons between ? and ? and n_persons <> ?",
        (c - 9, c + 9, c)).fetchone()[0] for c in counts)
    tracemalloc.start()
    started = time.perf_counter()
    problems = person_set_problems(cells, store, 10, project_outputs=OUTPUTS)
    seconds = time.perf_counter() - started
    _now, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"check of {len(cells)} cells against {stored} stored: {seconds:.2f} s, peak memory of the check "
          f"{peak / 1e6:.1f} MB, {near} (count, stored cell) pairs within 1-9 persons, {len(problems)} problems")
    print(f"process peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=None, help="generate and build at this scale (1.0: the "
                        "deliberation's sizes)")
    parser.add_argument("--seed", type=int, default=20230905)
    parser.add_argument("--warehouse-dir", default=None, help="a built warehouse, read as it is")
    parser.add_argument("--target-dir", default=None, help="its dbt target folder (manifest.json)")
    parser.add_argument("--build-dir", default=None, help="generate and build here (kept) instead of a temporary "
                        "folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.warehouse_dir:
            warehouse, target = Path(args.warehouse_dir), Path(args.target_dir) if args.target_dir else None
        else:
            root = Path(args.build_dir) if args.build_dir else tmp / "build"
            warehouse, target = build(args.scale if args.scale is not None else 1.0, args.seed, root)
        measure(warehouse, target, tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
