"""CLI: `python -m vaxclean.scenario generate --out DIR --people N --seed S`."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from vaxclean.scenario import generate
from vaxclean.scenario.sites import SITE_CONVENTIONS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vaxclean.scenario")
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="write a scenario directory")
    gen.add_argument("--out", type=Path, required=True)
    gen.add_argument("--people", type=int, default=20_000)
    gen.add_argument("--seed", type=int, default=7)
    gen.add_argument("--site-convention", choices=SITE_CONVENTIONS, default=None,
                     help="how site codes are written (default: the seed picks one)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    started = time.perf_counter()
    manifest = generate(args.out, args.people, args.seed, args.site_convention)
    summary = {"out": str(args.out), "seconds": round(time.perf_counter() - started, 1), **manifest["counts"],
               **manifest["person_rates"]}
    json.dump(summary, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
