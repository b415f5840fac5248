"""How realistic is the synthetic world? HOG and LOMO on the cpu profile's synthetic datasets, beside the published
real-data numbers, with issue 10's acceptance bands (the same as ``vireid realism``).

SYSU-MM01 all-search (single-shot, 10 gallery trials) on the test ids; RegDB visible→thermal on the test ids,
mean of the 10 splits; Euclidean distance. Generates the datasets on first use; a few minutes on 2 cores.

    .venv/bin/python benchmarks/bench_realism.py [--ids calibration]
"""

import sys

from vireid_lib.cli import main

if __name__ == "__main__":
    sys.exit(main(["realism", "--profile", "cpu", *sys.argv[1:]]))
