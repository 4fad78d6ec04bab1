"""Benchmark (not a test): the same landing built on DuckDB (`dbt build`, the default
target), on Spark in one process (`wse-impact spark-build`, a local[2] session) and on a
two-worker Spark standalone cluster on this machine (`WSE_SPARK_TARGET=spark_cluster
wse-impact spark-build`, master and workers as their own JVMs, 1 core each), one after the
other in one run.

    .venv/bin/python benchmarks/bench_spark.py [--scale 1.0] [--seed N] [--landing DIR]
                                               [--driver-memory 4g] [--executor-memory 1g]
                                               [--engines duckdb,local,cluster]

Prints wall time and peak memory of each. Peak memory is the largest sum of the resident
set sizes of the build's whole process tree, sampled every 0.2 s from /proc: for Spark that
is the Python driver, the JVM (driver and local executors) and the Python UDF workers; for
the cluster also the master, the workers and their executors (and the executors' Python
workers). The cluster's start (master and workers) is not in the wall time; it is printed.
All builds read the same landing with the same key (on the cluster from a key file, mode
600, in the work folder), into fresh warehouse folders.
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

from process_tree import tree_rss  # benchmarks/process_tree.py, beside this script

PROJECT_DIR = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def measured(cmd: list[str], env: dict, log_path: Path, also=lambda: []) -> tuple[float, float]:
    """Run one command; return (wall seconds, peak RSS in GB of its process tree and of the
    trees of the pids `also()` returns)."""
    peak = 0
    with open(log_path, "w") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
        done = threading.Event()

        def sample():
            nonlocal peak
            while not done.is_set():
                peak = max(peak, tree_rss(proc.pid) + sum(tree_rss(pid) for pid in also()))
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


def cluster_build(env: dict, work: Path, executor_memory: str) -> tuple[float, float]:
    """A master and two workers (1 core each) on 127.0.0.1, the build through the
    spark_cluster target, the package shipped as a zip, the key from a key file."""
    from wse_impact.engines.spark_cluster import StandaloneCluster, package_zip

    key_file = work / "secrets" / "pseudonym.key"
    key_file.parent.mkdir(mode=0o700, exist_ok=True)
    key_file.write_text(env.pop("WSE_PSEUDONYM_KEY") + "\n")
    key_file.chmod(0o600)
    started = time.perf_counter()
    with StandaloneCluster(work / "cluster", workers=2, cores=1, memory=executor_memory) as cluster:
        print(f"  cluster started in {time.perf_counter() - started:.1f} s", flush=True)
        env = dict(env, WSE_SPARK_TARGET="spark_cluster", WSE_SPARK_MASTER=cluster.master_url,
                   WSE_PSEUDONYM_KEY_FILE=str(key_file), WSE_SPARK_PY_FILES=str(package_zip(work / "wse_impact.zip")),
                   WSE_SPARK_EXECUTOR_PYTHON=str(BIN / "python"), WSE_SPARK_EXECUTOR_MEMORY=executor_memory)
        return measured([str(BIN / "wse-impact"), "spark-build"], env, work / "cluster.log", also=cluster.pids)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=20230905)
    parser.add_argument("--landing", default=None, help="an existing landing folder (default: generate one)")
    parser.add_argument("--driver-memory", default="4g", help="Spark driver memory (local mode: the whole JVM)")
    parser.add_argument("--executor-memory", default="1g", help="the cluster's executor memory (each worker offers it)")
    parser.add_argument("--engines", default="duckdb,local,cluster", help="which builds, in order")
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
    for engine in args.engines.split(","):
        warehouse = work / f"warehouse-{engine}"
        warehouse.mkdir(parents=True, exist_ok=True)
        env = dict(base_env, WSE_WAREHOUSE_DIR=str(warehouse), DBT_TARGET_PATH=str(work / f"target-{engine}"),
                   DBT_LOG_PATH=str(work / f"logs-{engine}"))
        print(f"building on {engine} ...", flush=True)
        if engine == "duckdb":
            results[engine] = measured([str(BIN / "dbt"), "build"], env, work / f"{engine}.log")
        elif engine == "local":
            results[engine] = measured([str(BIN / "wse-impact"), "spark-build"], env, work / f"{engine}.log")
        elif engine == "cluster":
            results[engine] = cluster_build(env, work, args.executor_memory)
        else:
            sys.exit(f"unknown engine {engine}: duckdb, local or cluster")
        print(f"  {engine}: {results[engine][0]:.1f} s wall, {results[engine][1]:.2f} GB peak", flush=True)

    print(f"\nlanding {landing} (scale {args.scale}, seed {args.seed}); local: Spark local[2]; cluster: standalone, "
          f"2 workers x 1 core, executor memory {args.executor_memory}; driver memory {args.driver_memory}")
    print(f"{'engine':<8} {'wall (s)':>10} {'peak memory (GB)':>18}")
    for engine, (wall, peak) in results.items():
        print(f"{engine:<8} {wall:>10.1f} {peak:>18.2f}")
    for engine in ("local", "cluster"):
        if engine in results and "duckdb" in results:
            print(f"{engine} / duckdb wall time: {results[engine][0] / results['duckdb'][0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
