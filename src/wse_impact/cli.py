"""The `wse-impact` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _generate(args: argparse.Namespace) -> int:
    from wse_impact.generate import generate_landing

    generate_landing(out=Path(args.out), scale=args.scale, seed=args.seed,
                     if_missing=args.if_missing, progress=not args.quiet)
    return 0


def _demo_key(args: argparse.Namespace) -> int:
    from wse_impact.pseudonym import ensure_demo_key

    print(ensure_demo_key())
    return 0


def _check_landing(args: argparse.Namespace) -> int:
    from wse_impact.landing_check import check_sources, format_problems, sources_from_yaml

    sources = sources_from_yaml(Path(args.project_dir), args.landing_dir)
    problems = check_sources(sources, base_dir=Path(args.project_dir))
    if problems:
        print(format_problems(problems), file=sys.stderr)
        return 1
    print(f"Landing files: {len(sources)} declared sources checked, no structural problem.")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from wse_impact.quality import main_validate

    return main_validate(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wse-impact", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write synthetic landing files (measures, warehouse snapshots, control sample)")
    gen.add_argument("--scale", type=float, default=1.0, help="1.0 = the deliberation's sizes")
    gen.add_argument("--seed", type=int, default=20230905)
    gen.add_argument("--out", default="data/landing")
    gen.add_argument("--if-missing", action="store_true",
                     help="do nothing when OUT already holds data generated with this scale and seed")
    gen.add_argument("--quiet", action="store_true", help="no progress bar")
    gen.set_defaults(func=_generate)

    key = sub.add_parser("demo-key", help="print the synthetic demo's pseudonymisation key, creating it on first use")
    key.set_defaults(func=_demo_key)

    chk = sub.add_parser("check-landing", help="check the landing files' structure (files, columns, delimiter, UTF-8, "
                                               "snapshot schema) against the declared sources; exit 1 listing every problem")
    chk.add_argument("--landing-dir", default=None, help="default: $WSE_LANDING_DIR or data/landing")
    chk.add_argument("--project-dir", default=".", help="the dbt project (its models/**/_*__sources.yml)")
    chk.set_defaults(func=_check_landing)

    val = sub.add_parser("validate", help="run the Great Expectations suites on the built warehouse (read-only) "
                                          "and write Data Docs; exit 1 when an expectation fails")
    val.add_argument("--warehouse-dir", default=None, help="default: $WSE_WAREHOUSE_DIR or warehouse")
    val.add_argument("--docs-dir", default="reports/gx", help="where the Data Docs HTML goes")
    val.add_argument("--suites", default=None, help="comma-separated suite names (default: all)")
    val.add_argument("--no-docs", action="store_true", help="do not write Data Docs")
    val.set_defaults(func=_validate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
