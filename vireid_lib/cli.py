"""The ``vireid`` command line: ``vireid reproduce``, ``vireid generate``, ``vireid info``, ``vireid notebooks``.

Errors the library raises on purpose (bad data, bad config, a failing notebook) are printed as one clear
message with exit status 2; anything else is a bug and shows its traceback.
"""

from __future__ import annotations

import argparse
import sys

from .config import PROFILES
from .errors import VireidError


def _cmd_reproduce(args) -> None:
    from .notebooks import reproduce

    reproduce(args.profile, only=args.only.split(",") if args.only else None, progress=not args.quiet)


def _cmd_generate(args) -> None:
    from .config import data_config
    from .data import dataset_root

    for ds in args.dataset.split(","):
        cfg = data_config(args.profile, dataset=ds)
        print(dataset_root(cfg))


def _cmd_info(args) -> None:
    from .notebooks import environment_info

    for k, v in environment_info().items():
        print(f"{k:10s} {v}")


def _cmd_notebooks(args) -> None:
    from .notebooks import NOTEBOOKS, notebook_parameters

    for nb in NOTEBOOKS:
        params = ", ".join(f"{k}={v['default']}" for k, v in notebook_parameters(nb.path).items())
        print(f"{nb.name}: {nb.title}\n    parameters: {params}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vireid", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("reproduce", help="run every notebook with papermill and regenerate results/")
    r.add_argument("--profile", default="cpu", choices=PROFILES)
    r.add_argument("--only", help="comma-separated notebook numbers or names, e.g. 01,02")
    r.add_argument("--quiet", action="store_true", help="no per-cell progress bar")
    r.set_defaults(fn=_cmd_reproduce)
    g = sub.add_parser("generate", help="generate (or find) the synthetic dataset of a profile; print its root")
    g.add_argument("--profile", default="cpu", choices=PROFILES)
    g.add_argument("--dataset", default="sysu", help="sysu, regdb or sysu,regdb")
    g.set_defaults(fn=_cmd_generate)
    sub.add_parser("info", help="versions, device, threads").set_defaults(fn=_cmd_info)
    sub.add_parser("notebooks", help="list the notebooks and their parameters").set_defaults(fn=_cmd_notebooks)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.fn(args)
    except VireidError as e:
        print(f"vireid: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vireid: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
