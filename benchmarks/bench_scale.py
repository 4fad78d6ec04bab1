"""Benchmark: the whole pipeline at several scales in one run, to see how it grows.

    .venv/bin/python benchmarks/bench_scale.py --scales 1.0,10 --work-dir /work/shared-data/bench

For each scale, in order: `wse-impact generate` into <work-dir>/landing-<scale>, `dbt build`
into <work-dir>/warehouse-<scale>, `wse-impact validate` of the marts, then of every suite
group. Each step runs as its own child process under /usr/bin/time, which reports its wall
time and peak resident memory. Prints one table and the ratio of each step's time and memory
between the largest and the smallest scale (issue 13: time about linear, <= 11x for scale 10
against 1.0; validation <= 2 GB at both).

The folders the benchmark writes are its own; each run starts by removing them (they hold
nothing but generated data). Settings are the project's defaults unless the environment
overrides them (WSE_DUCKDB_MEMORY_LIMIT for dbt, WSE_VALIDATE_MEMORY_LIMIT for validation).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def timed(cmd: list[str], env: dict, log: Path) -> tuple[float, float, int]:
    """(wall seconds, peak GB, exit code) of a command run under /usr/bin/time -v."""
    times = log.with_suffix(".time")
    with open(log, "w") as out:
        proc = subprocess.run(["/usr/bin/time", "-v", "-o", str(times), *cmd], cwd=PROJECT_DIR, env=env,
                              stdout=out, stderr=subprocess.STDOUT)
    text = times.read_text()
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text).group(1)
    seconds = sum(float(part) * 60 ** i for i, part in enumerate(reversed(wall.split(":"))))
    peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    return seconds, peak_kb / 1e6, proc.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default="1.0,10", help="comma-separated scales, e.g. 1.0,10")
    parser.add_argument("--seed", type=int, default=20230905)
    parser.add_argument("--work-dir", type=Path, required=True, help="where landings, warehouses and logs go")
    parser.add_argument("--keep", action="store_true", help="keep the warehouses and landings afterwards")
    parser.add_argument("--no-validate", action="store_true", help="generate and dbt build only")
    args = parser.parse_args(argv)

    scales = [float(s) for s in args.scales.split(",")]
    args.work_dir.mkdir(parents=True, exist_ok=True)
    key = subprocess.run([str(BIN / "wse-impact"), "demo-key"], cwd=PROJECT_DIR, capture_output=True,
                         text=True, check=True).stdout.strip()
    rows: list[tuple[float, str, float, float, int]] = []
    for scale in scales:
        landing, warehouse = args.work_dir / f"landing-{scale:g}", args.work_dir / f"warehouse-{scale:g}"
        target, logs = args.work_dir / f"target-{scale:g}", args.work_dir / f"logs-{scale:g}"
        for folder in (landing, warehouse, target, logs):
            shutil.rmtree(folder, ignore_errors=True)
        warehouse.mkdir()
        logs.mkdir()
        env = dict(os.environ, WSE_LANDING_DIR=str(landing), WSE_WAREHOUSE_DIR=str(warehouse),
                   WSE_PSEUDONYM_KEY=key, DBT_PROFILES_DIR=str(PROJECT_DIR), DBT_LOG_PATH=str(logs),
                   DBT_SEND_ANONYMOUS_USAGE_STATS="false")
        manifest = target / "manifest.json"
        steps = [
            ("generate", [str(BIN / "wse-impact"), "generate", "--scale", f"{scale:g}", "--seed", str(args.seed),
                          "--out", str(landing), "--quiet"]),
            ("dbt build", [str(BIN / "dbt"), "build", "--target-path", str(target)]),
            ("validate marts", [str(BIN / "wse-impact"), "validate", "--warehouse-dir", str(warehouse),
                                "--manifest", str(manifest), "--no-docs", "--suites", "marts"]),
            ("validate all", [str(BIN / "wse-impact"), "validate", "--warehouse-dir", str(warehouse),
                              "--manifest", str(manifest), "--no-docs"]),
        ]
        if args.no_validate:
            steps = steps[:2]
        for name, cmd in steps:
            wall, peak, rc = timed(cmd, env, logs / f"{name.replace(' ', '_')}.log")
            rows.append((scale, name, wall, peak, rc))
            print(f"scale {scale:>5g}  {name:15s} {wall:8.1f} s  {peak:6.2f} GB  exit {rc}", flush=True)
            if rc != 0 and name in ("generate", "dbt build"):
                print(f"  stopped: see {logs / (name.replace(' ', '_') + '.log')}", flush=True)
                break
        if not args.keep:
            shutil.rmtree(warehouse, ignore_errors=True)
            shutil.rmtree(landing, ignore_errors=True)

    print("\n| scale | step | wall s | peak GB | exit |\n|---|---|---|---|---|")
    for scale, name, wall, peak, rc in rows:
        print(f"| {scale:g} | {name} | {wall:.1f} | {peak:.2f} | {rc} |")
    if len(scales) > 1:
        low, high = min(scales), max(scales)
        print(f"\nratio scale {high:g} / scale {low:g} (data x{high / low:g}):")
        by = {(s, n): (w, p, rc) for s, n, w, p, rc in rows}
        for name in ("generate", "dbt build", "validate marts", "validate all"):
            if (low, name) in by and (high, name) in by:
                (w1, p1, _), (w2, p2, _) = by[(low, name)], by[(high, name)]
                print(f"  {name:15s} time x{w2 / w1:5.2f}   peak memory x{p2 / p1:5.2f}")
    return 0 if all(rc in (0, 1) for *_, rc in rows) and all(
        rc == 0 for _, n, _, _, rc in rows if n in ("generate", "dbt build")) else 1


if __name__ == "__main__":
    sys.exit(main())
