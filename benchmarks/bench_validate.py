"""Benchmark: the Great Expectations suites of the marts on a built warehouse.

    WSE_WAREHOUSE_DIR=warehouse .venv/bin/python benchmarks/bench_validate.py [--docs-dir DIR] [--groups marts]
        [--manifest target/manifest.json]

Issue 4 asks for ≤ 60 s at scale 1.0 (≈ 9.3 million person-quarter rows); issue 13 for
≤ 2 GB peak memory for the marts at scale 1.0 and 10 (the suites run in DuckDB). Prints the
wall time, the seconds per suite and the peak memory; exits 1 when an expectation fails.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse-dir", default=os.environ.get("WSE_WAREHOUSE_DIR", "warehouse"))
    parser.add_argument("--groups", default="marts", help="comma-separated suite groups (reference, staging, intermediate, marts)")
    parser.add_argument("--docs-dir", default=None, help="also write Data Docs there (not timed by default)")
    parser.add_argument("--manifest", default=None, help="dbt's manifest (default: target/manifest.json)")
    args = parser.parse_args()

    started = time.perf_counter()
    from wse_impact.quality import validate  # GX's import time counts: it is part of a run

    report = validate(Path(args.warehouse_dir), tuple(args.groups.split(",")), args.docs_dir, manifest=args.manifest)
    wall = time.perf_counter() - started
    for suite, seconds in report.timings.items():
        print(f"  {suite:45s} {seconds:6.1f} s")
    print(report.summary())
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(f"wall time {wall:.1f} s (validation {report.seconds:.1f} s), peak memory {peak_gb:.1f} GB, "
          f"warehouse {args.warehouse_dir}")
    return 0 if report.success else 1


if __name__ == "__main__":
    sys.exit(main())
