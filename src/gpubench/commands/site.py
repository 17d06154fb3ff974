"""gpubench site: a static site of the store (overview, machines, runs, case histories, fleet,
verify, Atom feed) that works from file:// with no network; see docs/site.md."""

from __future__ import annotations

import argparse

NAME = "site"
HELP = "write a static site of the store: fleet health, regressions, every case's history (works offline)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--results", default="results", help="results store: a folder or an fsspec URL (default: results/)"
    )
    parser.add_argument("--out", default="site", help="where the site is written (default: site/)")


def main(args: argparse.Namespace) -> int:
    from gpubench.views.site.build import build_site

    built = build_site(args.results, args.out)
    print(
        f"site {built.out / 'index.html'}: {built.pages} pages, {len(built.written)} written, "
        f"{built.unchanged} unchanged, {len(built.removed)} removed ({built.seconds:.1f} s)"
    )
    return 0
