"""The `wse-impact` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wse_impact.landing_check import DEFAULT_LANDING_DIR


def _generate(args: argparse.Namespace) -> int:
    from wse_impact.generate import LandingFolderRefused, generate_landing

    try:
        generate_landing(out=Path(args.out), scale=args.scale, seed=args.seed,
                         if_missing=args.if_missing, progress=not args.quiet)
    except LandingFolderRefused as refused:
        print(refused, file=sys.stderr)
        return 2
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


def _export(args: argparse.Namespace) -> int:
    import warnings
    from datetime import date

    from wse_impact.disclosure import DisclosureRules
    from wse_impact.export import ExportRefused, export_outputs

    rules = DisclosureRules(rounding_base=args.round_to) if args.round_to else DisclosureRules()
    today = date.fromisoformat(args.today) if args.today else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = export_outputs(warehouse_dir=args.warehouse_dir, export_dir=args.export_dir,
                                    today=today, rules=rules, engine=args.engine)
        except ExportRefused as refused:
            print(f"wse-impact export: {refused}", file=sys.stderr)
            return 2
    for warning in caught:
        print(f"wse-impact export: warning: {warning.message}", file=sys.stderr)
    for name, entry in result.report["outputs"].items():
        print(f"{name}: {entry['status']}, {entry['cells_suppressed']} of {entry['cells']} cells suppressed")
    print(f"Export written to {result.folder}")
    return 0


def _purge(args: argparse.Namespace) -> int:
    from datetime import date

    from wse_impact.export import purge_exports

    purged = purge_exports(args.export_dir, date.fromisoformat(args.today) if args.today else None)
    for folder in purged:
        print(f"purged {folder}")
    if not purged:
        print("nothing to purge")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wse-impact", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write synthetic landing files (measures, warehouse snapshots, control sample)")
    gen.add_argument("--scale", type=float, default=1.0, help="1.0 = the deliberation's sizes")
    gen.add_argument("--seed", type=int, default=20230905)
    gen.add_argument("--out", default=DEFAULT_LANDING_DIR,
                     help=f"a missing or empty folder, or one the generator wrote (default {DEFAULT_LANDING_DIR}, the demo's); "
                          "a folder holding anything else, such as a delivery, is refused untouched")
    gen.add_argument("--if-missing", action="store_true",
                     help="do nothing when OUT already holds data generated with this scale and seed")
    gen.add_argument("--quiet", action="store_true", help="no progress bar")
    gen.set_defaults(func=_generate)

    key = sub.add_parser("demo-key", help="print the synthetic demo's pseudonymisation key, creating it on first use")
    key.set_defaults(func=_demo_key)

    chk = sub.add_parser("check-landing", help="check the landing files' structure (files, columns, delimiter, UTF-8, "
                                               "snapshot schema) against the declared sources; exit 1 listing every problem")
    chk.add_argument("--landing-dir", default=None, help=f"default: $WSE_LANDING_DIR or {DEFAULT_LANDING_DIR}")
    chk.add_argument("--project-dir", default=".", help="the dbt project (its models/**/_*__sources.yml)")
    chk.set_defaults(func=_check_landing)

    val = sub.add_parser("validate", help="run the Great Expectations suites on the built warehouse (read-only) "
                                          "and write Data Docs; exit 1 when an expectation fails")
    val.add_argument("--warehouse-dir", default=None, help="default: $WSE_WAREHOUSE_DIR or warehouse")
    val.add_argument("--docs-dir", default="reports/gx", help="where the Data Docs HTML goes")
    val.add_argument("--suites", default=None, help="comma-separated suite names (default: all)")
    val.add_argument("--no-docs", action="store_true", help="do not write Data Docs")
    val.add_argument("--engine", choices=["duckdb", "spark"], default=None,
                     help="which engine's build to read (default: $ENGINE, else duckdb); on Spark the tables are "
                          "read from the warehouse's parquet files, so the staging group (views) is not available")
    val.set_defaults(func=_validate)
    exp = sub.add_parser("export", help="disclosure-check the output tables and write the passing ones to exports/<date>/")
    exp.add_argument("--warehouse-dir", default=None, help="default: $WSE_WAREHOUSE_DIR or warehouse")
    exp.add_argument("--export-dir", default=None, help="default: $WSE_EXPORT_DIR or exports")
    exp.add_argument("--round-to", type=int, default=None, metavar="BASE", help="round published counts to BASE (e.g. 5)")
    exp.add_argument("--today", default=None, help=argparse.SUPPRESS)
    exp.add_argument("--engine", choices=["duckdb", "spark"], default=None,
                     help="which engine's build to read (default: $ENGINE, else duckdb)")
    exp.set_defaults(func=_export)

    spk = sub.add_parser("spark-build", help="build on Apache Spark (local session, `spark` target): check and register "
                                             "the landing files and the project's functions, then `dbt build`",
                         add_help=False)
    spk.add_argument("--docs", action="store_true", help="also `dbt docs generate --static` in the same session")
    spk.add_argument("dbt_args", nargs=argparse.REMAINDER, help="passed to dbt build")
    spk.set_defaults(func=_spark_build)

    purge = sub.add_parser("purge", help="delete exports whose retention date has passed")
    purge.add_argument("--export-dir", default=None, help="default: $WSE_EXPORT_DIR or exports")
    purge.add_argument("--today", default=None, help=argparse.SUPPRESS)
    purge.set_defaults(func=_purge)
    return parser


def _spark_build(args: argparse.Namespace) -> int:
    from wse_impact import spark

    return spark.main([*(["--docs"] if args.docs else []), *args.dbt_args])


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
