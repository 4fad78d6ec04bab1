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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
