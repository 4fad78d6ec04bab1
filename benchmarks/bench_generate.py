"""Benchmark of `wse-impact generate`: wall time, peak memory and rows written.

Runs the generator in a child process (so its peak memory is measured alone) into a temporary
directory, then prints the figures. Not a test: run it by hand, e.g.

    .venv/bin/python benchmarks/bench_generate.py            # scale 1.0, the deliberation's sizes
    .venv/bin/python benchmarks/bench_generate.py --scale 0.1

Target at scale 1.0 on the 2-core reference machine: <= 60 s wall and <= 4 GB peak memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WALL_LIMIT_S = 60.0
MEMORY_LIMIT_MB = 4096.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=20230905)
    parser.add_argument("--progress", action="store_true", help="show the generator's progress bar")
    parser.add_argument("--keep", action="store_true", help="keep the generated files (path is printed)")
    args = parser.parse_args(argv)

    out = Path(tempfile.mkdtemp(prefix="wse_bench_")) / "landing"
    cmd = [sys.executable, "-m", "wse_impact.cli", "generate", "--scale", str(args.scale),
           "--seed", str(args.seed), "--out", str(out)]
    if not args.progress:
        cmd.append("--quiet")
    start = time.perf_counter()
    proc = subprocess.run(cmd)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_mb = usage.ru_maxrss / 1024  # KiB on Linux
    cpu = usage.ru_utime + usage.ru_stime
    if proc.returncode != 0:
        print(f"generator failed with exit code {proc.returncode}", file=sys.stderr)
        return proc.returncode

    manifest = json.loads((out / "_generated.json").read_text())
    size_mb = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 2**20
    rows = manifest["rows"]
    print(f"scale {args.scale}, seed {args.seed}")
    print(f"  wall time        {wall:8.1f} s    (target <= {WALL_LIMIT_S:.0f} s at scale 1.0)")
    print(f"  cpu time         {cpu:8.1f} s    (user + system; wall time also depends on other load)")
    print(f"  peak memory      {peak_mb:8.0f} MB   (target <= {MEMORY_LIMIT_MB:.0f} MB; RSS of the child)")
    print(f"  snapshot rows    {rows['snapshots']:>10,}")
    print(f"  measure rows     {rows['measures']:>10,}")
    print(f"  control persons  {manifest['files']['dwh/control_sample.csv']:>10,}")
    print(f"  persons          {manifest['persons']['total']:>10,} ({manifest['persons']['beneficiaries']:,} "
          f"beneficiaries, {manifest['persons']['control_and_beneficiary']:,} also in the control group)")
    print(f"  files            {len(manifest['files']):>10} ({size_mb:,.0f} MB)")
    if args.keep:
        print(f"  kept in          {out}")
    else:
        shutil.rmtree(out.parent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
