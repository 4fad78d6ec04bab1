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
    from wse_impact.quality import main_validate

    return main_validate(args)


def _review(args: argparse.Namespace):
    from wse_impact.review.workflow import Review

    return Review.of(args.warehouse_dir)


def _today(args: argparse.Namespace):
    from datetime import date

    return date.fromisoformat(args.today) if getattr(args, "today", None) else None


def _refusal(command: str, error: Exception) -> int:
    print(f"wse-impact {command}: {error}", file=sys.stderr)
    return 2


def _request(args: argparse.Namespace) -> int:
    """Researcher: ask for outputs to be released (or see one's own requests)."""
    import warnings

    from wse_impact.release.disclosure import DisclosureRules
    from wse_impact.release.export import read_output_tables, read_outputs
    from wse_impact.settings import engine_name, research_db_path
    from wse_impact.release.output_persons import OutputPersons
    from wse_impact.release.researcher_query import QueryRefused, aggregate, connect_research_db
    from wse_impact.review.workflow import ReviewRefused, current_user

    user = current_user()
    try:
        review = _review(args)
        if args.status:
            for entry in review.requests_of(user):
                suppressed = "; ".join(f"{k}: {v} suppressed" for k, v in entry.get("suppressed", {}).items())
                print(f"{entry['request']}: {entry['status']}, {entry['approvals']} approval(s)"
                      + (f" ({suppressed})" if suppressed else ""))
            return 0
        if not args.output and not args.aggregate:
            raise ReviewRefused("name what to release: --output MODEL and/or --aggregate NAME --sql-file FILE --dimensions ...")
        db = research_db_path(args.warehouse_dir)
        outputs, specs, definition = {}, {}, {"outputs_requested": args.output or [], "aggregates": []}
        person_sets = {}
        spark_build = engine_name(args.engine) == "spark"
        if spark_build and args.aggregate:
            raise ReviewRefused("a researcher's aggregate runs on the DuckDB research database; on a Spark build "
                                "request output models only")
        if args.output:
            if spark_build:
                from wse_impact.engines.spark import research_connection

                with research_connection(args.warehouse_dir) as con:
                    available = read_output_tables(con, "outputs", "wse_impact")
            else:
                available = read_outputs(db)
            unknown = sorted(set(args.output) - set(available))
            if unknown:
                raise ReviewRefused(f"no output model {', '.join(unknown)} in {db} (there are: {', '.join(sorted(available))})")
            outputs.update({name: available[name] for name in args.output})
            if not spark_build:
                import duckdb

                from wse_impact.project import output_specs
                from wse_impact.release.output_persons import read_output_persons

                declared, _links = output_specs()
                with duckdb.connect(str(db), read_only=True) as con:
                    person_sets.update(read_output_persons(con, {n: declared[n] for n in args.output if n in declared}))
        if args.aggregate:
            if not (args.sql_file and args.dimensions):
                raise ReviewRefused("--aggregate needs --sql-file and --dimensions")
            con = connect_research_db(db)
            try:
                result = aggregate(con, args.aggregate, Path(args.sql_file).read_text(encoding="utf-8"),
                                   [d.strip() for d in args.dimensions.split(",") if d.strip()])
            finally:
                con.close()
            if result.name in outputs:
                raise ReviewRefused(f"{result.name} is also an output model's name")
            outputs[result.name], specs[result.name] = result.table, result.spec
            person_sets[result.name] = OutputPersons(result.persons)
            definition["aggregates"].append(result.definition())
        rules = DisclosureRules(rounding_base=args.round_to) if args.round_to else None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            request_id = review.create_request(user, outputs, specs, definition, today=_today(args), rules=rules,
                                               person_sets=person_sets)
        for warning in caught:
            print(f"wse-impact request: warning: {warning.message}", file=sys.stderr)
    except QueryRefused as refused:
        if refused.problems:  # offending values (maybe row-level data): for the custodians, in the audit log
            review.log.append("request refused", user, request=review._next_id(), reason=refused.headline,
                              problems=refused.problems)
        return _refusal("request", refused)
    except ReviewRefused as refused:
        return _refusal("request", refused)
    print(f"Request {request_id}: checked by the disclosure gate, waiting for {review.approvals_required} custodians' "
          "approval. See it with `wse-impact request --status`.")
    return 0


def _review_command(args: argparse.Namespace) -> int:
    """Custodian: list, read, approve or reject requests."""
    from wse_impact.review.workflow import ReviewRefused, current_user

    user = current_user()
    try:
        review = _review(args)
        if args.action in (None, "list"):
            pending = review.pending_requests(user)
            if not pending:
                print("no request waiting")
            for entry in pending:
                print(f"{entry['request']}: {entry['status']}, by {entry['requester']}, approved by "
                      f"{', '.join(entry['approvals']) or 'nobody yet'} ({len(entry['approvals'])} of "
                      f"{review.approvals_required})")
            return 0
        if not args.request:
            raise ReviewRefused(f"review {args.action} needs a request id")
        if args.action == "show":
            import json

            print(json.dumps(review.describe_request(user, args.request), indent=2, default=str))
            return 0
        entry = review.decide(user, args.request, approve=args.action == "approve", comment=args.comment or "")
    except ReviewRefused as refused:
        return _refusal("review", refused)
    print(f"{args.request}: {entry['event']} by {user} recorded (audit log entry {entry['seq']})")
    return 0


def _release(args: argparse.Namespace) -> int:
    from wse_impact.review.workflow import ReviewRefused, current_user

    user = current_user()
    try:
        folder = _review(args).release_request(user, args.request, export_dir=args.export_dir, today=_today(args))
    except ReviewRefused as refused:
        return _refusal("release", refused)
    print(f"{args.request} released to {folder}")
    return 0


def _audit(args: argparse.Namespace) -> int:
    from wse_impact.review.workflow import audit_problems

    problems = audit_problems(_review(args), export_dir=args.export_dir)
    if problems:
        print("The audit log or a release does not match its record:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print("Audit log whole; every release present matches its record.")
    return 0


def _purge(args: argparse.Namespace) -> int:
    from datetime import date

    from wse_impact.release.export import purge_exports
    from wse_impact.settings import restricted_dir_of

    restricted = restricted_dir_of(args.warehouse_dir)
    purged = purge_exports(args.export_dir, date.fromisoformat(args.today) if args.today else None,
                           restricted_dir=restricted)
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
    val.add_argument("--manifest", default=None,
                     help="dbt's manifest.json with the column declarations (default: target/manifest.json)")
    val.add_argument("--engine", choices=["duckdb", "spark"], default=None,
                     help="which engine's build to read (default: $ENGINE, else duckdb); on Spark the tables are "
                          "read from the warehouse's parquet files, so the staging group (views) is not available")
    val.set_defaults(func=_validate)

    spk = sub.add_parser("spark-build", help="build on Apache Spark (local session, `spark` target): check and register "
                                             "the landing files and the project's functions, then `dbt build`",
                         add_help=False)
    spk.add_argument("--docs", action="store_true", help="also `dbt docs generate --static` in the same session")
    spk.add_argument("dbt_args", nargs=argparse.REMAINDER, help="passed to dbt build")
    spk.set_defaults(func=_spark_build)
    where = {"default": None, "help": "default: $WSE_WAREHOUSE_DIR or warehouse"}
    req = sub.add_parser("request", help="researcher: ask for outputs to be released; the disclosure gate runs now and "
                                         "what would leave waits, on the restricted side, for the custodians")
    req.add_argument("--output", action="append", metavar="MODEL", help="an output model of the research database")
    req.add_argument("--aggregate", metavar="NAME", help="a researcher's own aggregate, named")
    req.add_argument("--sql-file", help="its SQL over the research database: rows with person_id and the dimensions")
    req.add_argument("--dimensions", help="comma-separated columns to group by (the tool counts distinct persons)")
    req.add_argument("--round-to", type=int, default=None, metavar="BASE", help="round published counts to BASE (e.g. 5)")
    req.add_argument("--status", action="store_true", help="list your own requests and their status")
    req.add_argument("--engine", choices=["duckdb", "spark"], default=None,
                     help="which engine's build the output models are read from (default: $ENGINE, else duckdb)")
    req.add_argument("--warehouse-dir", **where)
    req.add_argument("--today", default=None, help=argparse.SUPPRESS)
    req.set_defaults(func=_request)

    rev = sub.add_parser("review", help="custodian: list pending requests, show one, approve or reject it")
    rev.add_argument("action", nargs="?", choices=["list", "show", "approve", "reject"], default="list")
    rev.add_argument("request", nargs="?", help="request id, e.g. R0001")
    rev.add_argument("--comment", default="", help="why (required to approve or reject)")
    rev.add_argument("--warehouse-dir", **where)
    rev.set_defaults(func=_review_command)

    rel = sub.add_parser("release", help="write an approved request, unchanged since approval, to exports/<date>/")
    rel.add_argument("request", help="request id, e.g. R0001")
    rel.add_argument("--export-dir", default=None, help="default: $WSE_EXPORT_DIR or exports")
    rel.add_argument("--warehouse-dir", **where)
    rel.add_argument("--today", default=None, help=argparse.SUPPRESS)
    rel.set_defaults(func=_release)

    aud = sub.add_parser("audit", help="check the audit log's hash chain and every release against its record; exit 1 "
                                       "naming what was edited or removed")
    aud.add_argument("--export-dir", default=None, help="default: $WSE_EXPORT_DIR or exports")
    aud.add_argument("--warehouse-dir", **where)
    aud.set_defaults(func=_audit)

    purge = sub.add_parser("purge", help="delete the exports once the retention date (dbt_project.yml, "
                                         "vars: retain_until) has passed")
    purge.add_argument("--export-dir", default=None, help="default: $WSE_EXPORT_DIR or exports")
    purge.add_argument("--warehouse-dir", default=None, help="where the restricted release log is "
                                                             "(default: $WSE_WAREHOUSE_DIR or warehouse)")
    purge.add_argument("--today", default=None, help=argparse.SUPPRESS)
    purge.set_defaults(func=_purge)
    return parser


def _spark_build(args: argparse.Namespace) -> int:
    from wse_impact.engines import spark

    return spark.main([*(["--docs"] if args.docs else []), *args.dbt_args])


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
