"""``python -m vireid_lib.make_site [--profile cpu] [--root FOLDER]`` (``make site``): rebuild the course website
from the executed notebooks that ``make reproduce`` left, running none of them (:func:`vireid_lib.site.build_site`
with the notebook registry; a module of its own, above both, because the runner imports the site module)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import VireidError
from .notebooks import NOTEBOOKS, STUDY_PROFILE, outputs_root
from .site import build_site


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m vireid_lib.make_site",
                                description="Rebuild the course website from the executed notebooks (none is run).")
    p.add_argument("--profile", default=STUDY_PROFILE, help="the profile the notebooks were executed with")
    p.add_argument("--root", type=Path, help="the results folder (default: results/ for the study's profile, "
                                              "results/scratch/<profile>/ for another)")
    args = p.parse_args(argv)
    try:
        build_site(NOTEBOOKS, args.profile, args.root or outputs_root(args.profile, {}))
    except VireidError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
