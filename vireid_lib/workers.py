"""Grid worker processes' start-up, kept free of heavy imports (no torch here).

A worker of a parallel grid (:func:`vireid_lib.experiments.run_grid`) must exit as soon as its grid dies, or it would
train on as an orphan (and hold its run's lock). The watch starts first thing in the worker, before torch is imported
by the first run it receives, so a grid killed while its workers are still starting leaves none behind.
"""

from __future__ import annotations

import os
import threading
import time


def worker_init(queue, threads: int, parent: int) -> None:
    """Runs once in each worker: watch the grid's pid (passed in: it may have died before this worker started),
    take a slot number (one GPU per slot when there are GPUs), set the number of CPU threads."""

    def exit_with_parent() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)  # the run keeps its last checkpoint and resumes with the next grid

    threading.Thread(target=exit_with_parent, daemon=True).start()
    slot = queue.get()
    os.environ["VIREID_WORKER_SLOT"] = str(slot)
    import torch

    torch.set_num_threads(threads)
