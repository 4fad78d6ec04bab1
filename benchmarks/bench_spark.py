"""Benchmark (not a test): the same landing built on DuckDB (`dbt build`, the default
target) and on Spark (`wse-impact spark-build`, a local[2] session), one after the other in
one run.

    .venv/bin/python benchmarks/bench_spark.py [--scale 1.0] [--seed N] [--landing DIR]
                                               [--driver-memory 4g]

Prints wall time and peak memory of each. Peak memory is the largest sum of the resident
set sizes of the build's whole process tree, sampled every 0.2 s from /proc: for Spark that
is the Python driver, the JVM (driver and local executors) and the Python UDF workers.
Both builds read the same landing with the same key, into fresh warehouse folders.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PAGE = os.sysconf("SC_PAGE_SIZE")


def tree_rss(root_pid: int) -> int:
    """Bytes resident in `root_pid` and all its descendants now."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            pid, ppid, pages = int(entry.name), int(fields[1]), int(fields[21])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(pid)
        rss[pid] = pages * PAGE
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def measured(cmd: list[str], env: dict, log_path: Path) -> tuple[float, float]:
    """Run one command; return (wall seconds, peak tree RSS in GB)."""
    peak = 0
    with open(log_path, "w") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
        done = threading.Event()

        def sample():
            nonlocal peak
            while not done.is_set():
                peak = max(peak, tree_rss(proc.pid))
                time.sleep(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        status = proc.wait()
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
    if status != 0:
        sys.exit(f"{' '.join(cmd)} failed, see {log_path}:\n{log_path.read_text()[-4000:]}")
    return wall, peak / 1e9


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=20230905)
    parser.add_argument("--landing", default=None, help="an existing landing folder (default: generate one)")
    parser.add_argument("--driver-memory", default="4g", help="Spark driver memory (local mode: the whole JVM)")
    parser.add_argument("--work-dir", default=None, help="where the warehouses go (default: a temporary folder)")
    args = parser.parse_args()

    from wse_impact.landing.pseudonym import ensure_demo_key

    work = Path(args.work_dir or tempfile.mkdtemp(prefix="bench_spark_"))
    work.mkdir(parents=True, exist_ok=True)
    if args.landing:
        landing = Path(args.landing).resolve()
    else:
        landing = work / "landing"
        from wse_impact.generate import generate_landing

        generate_landing(out=landing, scale=args.scale, seed=args.seed, if_missing=True, progress=False)
    key = os.environ.get("WSE_PSEUDONYM_KEY") or ensure_demo_key(PROJECT_DIR / ".secrets/pseudonym.key")
    base_env = dict(os.environ, WSE_LANDING_DIR=str(landing), WSE_PSEUDONYM_KEY=key, DBT_PROFILES_DIR=str(PROJECT_DIR),
                    DBT_SEND_ANONYMOUS_USAGE_STATS="false", SPARK_LOCAL_IP="127.0.0.1",
                    WSE_SPARK_MASTER="local[2]", WSE_SPARK_DRIVER_MEMORY=args.driver_memory)

    results = {}
    for engine, cmd in (("duckdb", [str(BIN / "dbt"), "build"]), ("spark", [str(BIN / "wse-impact"), "spark-build"])):
        warehouse = work / f"warehouse-{engine}"
        warehouse.mkdir(parents=True, exist_ok=True)
        env = dict(base_env, WSE_WAREHOUSE_DIR=str(warehouse), DBT_TARGET_PATH=str(work / f"target-{engine}"),
                   DBT_LOG_PATH=str(work / f"logs-{engine}"))
        print(f"building on {engine} ...", flush=True)
        results[engine] = measured(cmd, env, work / f"{engine}.log")
        print(f"  {engine}: {results[engine][0]:.1f} s wall, {results[engine][1]:.2f} GB peak", flush=True)

    print(f"\nlanding {landing} (scale {args.scale}, seed {args.seed}); Spark local[2], driver memory {args.driver_memory}")
    print(f"{'engine':<8} {'wall (s)':>10} {'peak memory (GB)':>18}")
    for engine, (wall, peak) in results.items():
        print(f"{engine:<8} {wall:>10.1f} {peak:>18.2f}")
    print(f"spark / duckdb wall time: {results['spark'][0] / results['duckdb'][0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
