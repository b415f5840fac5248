"""The paper's numbers, as data: every row of Tables 1–6 and the θ choices of Fig. 4 (§4.4).

One file, ``resources/paper_numbers.json``, transcribed from the paper; every number keeps its table, row and
protocol, and whatever shows it labels it as the paper's (measured on the real SYSU-MM01 / RegDB with
ResNet-50 at 288×144, which the embedded synthetic data is not).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pandas as pd

PATH = Path(__file__).parent / "resources" / "paper_numbers.json"


@lru_cache(maxsize=1)
def _doc() -> dict:
    return json.loads(PATH.read_text())


def metrics() -> list[str]:
    return list(_doc()["metrics"])


def table(name: str, protocol: str | None = None) -> pd.DataFrame:
    """The paper's rows of ``name`` ("Table 1" ... "Table 6"), optionally of one protocol, in the paper's order."""
    recs = [r for r in _doc()["records"] if r["table"] == name and (protocol is None or r["protocol"] == protocol)]
    if not recs:
        doc = _doc()["records"]
        tables = sorted({r["table"] for r in doc})
        protocols = sorted({r["protocol"] for r in doc if r["table"] == name})
        raise KeyError(f"no paper numbers for {name!r}" + (f" / {protocol!r}" if protocol else "")
                       + f": tables are {', '.join(tables)}"
                       + (f"; {name}'s protocols are {', '.join(protocols)}" if protocols else ""))
    return pd.DataFrame(recs)


def row(name: str, row: str, protocol: str | None = None) -> dict[str, float]:
    """One row's metrics, e.g. ``row("Table 6", "Ours", "SYSU-MM01 all-search")``."""
    df = table(name, protocol)
    hit = df[df["row"] == row]
    if len(hit) != 1:
        raise KeyError(f"{name} has no single row {row!r} (protocol {protocol!r}); its rows: "
                       f"{', '.join(dict.fromkeys(df['row']))}")
    rec = hit.iloc[0]
    return {m: float(rec[m]) for m in metrics() if m in rec and pd.notna(rec[m])}


def headline(protocol: str = "SYSU-MM01 all-search") -> dict[str, float]:
    """The paper's result for its method under ``protocol`` (Table 6 for SYSU-MM01, Table 5 for RegDB)."""
    return row("Table 6" if protocol.startswith("SYSU") else "Table 5", "Ours", protocol)


def figure4() -> dict:
    return dict(_doc()["figure4"])


def settings() -> dict:
    return dict(_doc()["settings"])


def source() -> str:
    return _doc()["source"]
