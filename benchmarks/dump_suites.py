"""Dump the Great Expectations suites built on a DuckDB build as JSON (name, group, relation,
SQL with white space folded, each expectation's type and arguments), to compare the suites
before and after a change of how they are made:

    python benchmarks/dump_suites.py WAREHOUSE_DIR MANIFEST > before.json
    ... change ...
    python benchmarks/dump_suites.py WAREHOUSE_DIR MANIFEST > after.json
    diff before.json after.json
"""

from __future__ import annotations

import json
import re
import sys


def dump(warehouse_dir: str, manifest: str) -> list[dict]:
    from wse_impact.quality import Declarations, Warehouse, build_suites

    wh = Warehouse(warehouse_dir)
    try:
        suites = build_suites(wh, declarations=Declarations.load(manifest))
    finally:
        wh.close()
    out = []
    for suite in suites:
        expectations = sorted(
            json.dumps({"type": e.expectation_type,
                        "kwargs": {k: v for k, v in e.configuration.kwargs.items() if v is not None}},
                       sort_keys=True, default=str)
            for e in suite.expectations)
        out.append({"name": suite.name, "group": suite.group, "relation": suite.relation,
                    "sql": re.sub(r"\s+", " ", suite.sql).strip(), "expectations": expectations})
    return out


if __name__ == "__main__":
    suites = dump(sys.argv[1], sys.argv[2])
    print(json.dumps(suites, indent=1, sort_keys=True))
    n = sum(len(s["expectations"]) for s in suites)
    print(f"{len(suites)} suites, {n} expectations", file=sys.stderr)
