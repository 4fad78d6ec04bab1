"""The `wse-impact` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wse_impact.settings import DEFAULT_LANDING_DIR


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
    from wse_impact.landing.pseudonym import ensure_demo_key

    print(ensure_demo_key())
    return 0


def _check_landing(args: argparse.Namespace) -> int:
    from wse_impact.landing.check import check_sources, format_problems, sources_from_yaml

    sources = sources_from_yaml(Path(args.project_dir), args.landing_dir)
    problems = check_sources(sources, base_dir=Path(args.project_dir))
    if problems:
        print(format_problems(problems), file=sys.stderr)
        return 1
    print(f"Landing files: {len(sources)} declared sources checked, no structural problem.")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from wse_impact.quality import GROUPS, validate
    from wse_impact.settings import warehouse_dir

    groups = tuple(g.strip() for g in args.suites.split(",")) if args.suites else GROUPS
    unknown = set(groups) - set(GROUPS)
    if unknown:
        print(f"unknown suite group(s) {sorted(unknown)}; choose from {', '.join(GROUPS)}", file=sys.stderr)
        return 2
    report = validate(warehouse_dir(args.warehouse_dir), groups, None if args.no_docs else args.docs_dir,
                      manifest=args.manifest, engine=args.engine)
    print(report.summary())
    return 0 if report.success else 1


def _serve(args: argparse.Namespace) -> int:
    from wse_impact.review.roles import ReviewRefused
    from wse_impact.review.service import ReleaseService, initialise_state
    from wse_impact.review.server import serve
    from wse_impact.settings import export_dir, restricted_dir_of, warehouse_dir

    state = Path(args.state_dir or restricted_dir_of(args.warehouse_dir))
    socket_path = args.socket or str(state / "release.sock")
    try:
        if args.init or args.demo:
            initialise_state(state, researchers=_names(args.researchers), custodians=_names(args.custodians),
                             approvals_required=args.approvals_required, today=args.today, demo=args.demo)
        service = ReleaseService(state, warehouse_dir(args.warehouse_dir), export_dir(args.export_dir),
                                 engine=args.engine or "duckdb")
    except (ReviewRefused, FileNotFoundError, ValueError) as refused:
        print(f"wse-impact serve: {refused}", file=sys.stderr)
        return 2
    serve(service, socket_path)
    return 0


def _names(text: str | None) -> list[str]:
    return [n.strip() for n in (text or "").split(",") if n.strip()]


def _add_pipeline_commands(sub) -> None:
    """generate, demo-key, check-landing, validate, spark-build."""

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
    val.add_argument("--manifest", default=None,
                     help="dbt's manifest.json with the column declarations (default: target/manifest.json)")
    val.add_argument("--engine", choices=["duckdb", "spark"], default=None,
                     help="which engine's build to read (default: $ENGINE, else duckdb); on Spark every suite "
                          "group, staging views included, is computed by Spark in a session on the build's metastore")
    val.set_defaults(func=_validate)

    spk = sub.add_parser("spark-build", help="build on Apache Spark (local session, `spark` target): check and register "
                                             "the landing files and the project's functions, then `dbt build`",
                         add_help=False)
    spk.add_argument("--docs", action="store_true", help="also `dbt docs generate --static` in the same session")
    spk.add_argument("dbt_args", nargs=argparse.REMAINDER, help="passed to dbt build")
    spk.set_defaults(func=_spark_build)


def _add_service_command(sub) -> None:

    srv = sub.add_parser("serve", help="run the release service (as its own account, e.g. wse-release): the only "
                                       "reader and writer of the review's state, on a Unix socket")
    srv.add_argument("--state-dir", default=None, help="its state folder, mode 0700 (default: "
                                                       "$WSE_WAREHOUSE_DIR/disclosure)")
    srv.add_argument("--socket", default=None, help="where it listens (default: STATE_DIR/release.sock)")
    srv.add_argument("--warehouse-dir", default=None, help="the build it reads (default: $WSE_WAREHOUSE_DIR or warehouse)")
    srv.add_argument("--export-dir", default=None, help="where releases go (default: $WSE_EXPORT_DIR or exports)")
    srv.add_argument("--engine", choices=["duckdb", "spark"], default=None, help="which engine's build (default duckdb)")
    srv.add_argument("--init", action="store_true", help="create the state folder, the audit key and the policy "
                                                         "(seeded from dbt_project.yml's vars) if missing")
    srv.add_argument("--researchers", help="with --init: comma-separated accounts")
    srv.add_argument("--custodians", help="with --init: comma-separated accounts")
    srv.add_argument("--approvals-required", type=int, default=None, help="with --init (default: dbt_project.yml's "
                                                                          "release_approvals_required)")
    srv.add_argument("--today", default=None, help=argparse.SUPPRESS)  # with --init: a test's fixed date
    srv.add_argument("--demo", action="store_true", help="a single-machine try-out as the current user: state under "
                                                         "the warehouse, this account researcher and custodian")
    srv.set_defaults(func=_serve)


def build_parser() -> argparse.ArgumentParser:
    from wse_impact.review.client import add_commands

    parser = argparse.ArgumentParser(prog="wse-impact", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_pipeline_commands(sub)
    add_commands(sub)  # request, review, release, audit, purge: clients of the release service
    _add_service_command(sub)
    return parser


def _spark_build(args: argparse.Namespace) -> int:
    from wse_impact.engines import spark

    return spark.main([*(["--docs"] if args.docs else []), *args.dbt_args])


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
