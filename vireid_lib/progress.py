"""Progress reporting that suits both a terminal / JupyterLab and a papermill batch run.

Interactively: a tqdm bar per epoch (``tqdm.auto``: a widget in JupyterLab). In a batch run (the runner sets
``VIREID_BATCH_RUN=1``) widget bars would be stored frozen at 0 % and plain bars would write one output per
refresh, so a batch run prints one line per epoch instead.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator


def batch_run() -> bool:
    return os.environ.get("VIREID_BATCH_RUN") == "1"


class _Silent:
    """Stands in for a tqdm bar when bars are off."""

    def __init__(self, iterable: Iterable):
        self._it = iterable

    def __iter__(self) -> Iterator:
        return iter(self._it)

    def set_postfix_str(self, s: str) -> None:
        pass

    def close(self) -> None:
        pass


def bar(iterable: Iterable, total: int | None = None, desc: str = "", enabled: bool = True):
    """A tqdm bar over ``iterable`` (with ``set_postfix_str``), silent in batch runs or when disabled."""
    if not enabled or batch_run():
        return _Silent(iterable)
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, leave=False, dynamic_ncols=True, file=sys.stdout)


def line(text: str, enabled: bool = True) -> None:
    if enabled:
        print(text, flush=True)
