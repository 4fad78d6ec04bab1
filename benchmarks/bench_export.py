"""Benchmark: `wse-impact export` on a built warehouse (issue 11: aim for under a minute at
scale 1.0).

    WSE_WAREHOUSE_DIR=warehouse .venv/bin/python benchmarks/bench_export.py [--round-to 5]

Exports into a temporary folder (the warehouse is only read; the release log and the
custodian's report go to a temporary restricted folder too), then prints the export's wall
time and peak memory, per output the counts below the threshold (what the primary rule
suppresses), the counts suppressed after secondary suppression, and the cells suppressed;
the suppression program's cost and the audit's figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse-dir", default=os.environ.get("WSE_WAREHOUSE_DIR", "warehouse"))
    parser.add_argument("--round-to", type=int, default=None, metavar="BASE")
    args = parser.parse_args()

    started = time.perf_counter()
    from wse_impact.release.disclosure import DisclosureRules
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "python"))
    from releases import export_outputs  # check and publish at once, as the tests do

    rules = DisclosureRules(rounding_base=args.round_to)
    with tempfile.TemporaryDirectory() as tmp:
        result = export_outputs(args.warehouse_dir, Path(tmp) / "exports", today=date(2026, 6, 1), rules=rules,
                                restricted_dir=Path(tmp) / "restricted")
        wall = time.perf_counter() - started
        custodian = json.loads(result.custodian_report.read_text())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"export of {args.warehouse_dir} (rounding: {args.round_to or 'none'})")
    print(f"  {'output':38s} {'rows':>6s} {'counts<10':>10s} {'counts suppressed':>18s} {'cells suppressed':>17s}")
    for name, entry in custodian["outputs"].items():
        print(f"  {name:38s} {entry['rows']:>6d} {entry['counts_below_threshold']:>10d} "
              f"{entry['counts_suppressed']:>18d} {entry['cells_suppressed']:>8d} of {entry['cells']:<6d}")
    selection, audit = custodian["selection"], custodian["audit"]
    print(f"  suppression program: cost {selection['total_cost']:.3f}, proved optimal {selection['proved_optimal']}, "
          f"{selection['programs_solved']} programs, {selection['seconds']:.1f} s")
    print(f"  audit: {audit['status']}, {audit['integer_programs_solved']} integer programs over "
          f"{audit['unknown_counts']} unknown counts, smallest upper bound {audit['smallest_upper_bound']}, "
          f"smallest width {audit['smallest_interval_width']}, {audit['seconds']:.1f} s")
    print(f"wall time {wall:.1f} s, peak memory {peak_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
