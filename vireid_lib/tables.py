"""Tables: written once as CSV (the truth), Markdown (for the report) and optionally LaTeX (booktabs)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .io import atomic_write_text
from .paths import tables_dir


def save_table(df: pd.DataFrame, name: str, tex: bool = False, floatfmt: str = ".1f", caption: str | None = None
               ) -> Path:
    """Write ``results/tables/<name>.csv`` and ``.md`` (and ``.tex``), atomically. Returns the CSV path."""
    out = tables_dir() / f"{name}.csv"
    atomic_write_text(out, df.to_csv(index=False, float_format="%.4g"))
    md = df.to_markdown(index=False, floatfmt=floatfmt)
    if caption:
        md = f"{md}\n\n{caption}"
    atomic_write_text(out.with_suffix(".md"), md + "\n")
    if tex:
        styler = df.style.hide(axis="index").format(precision=int(floatfmt.strip(".f") or 1))
        atomic_write_text(out.with_suffix(".tex"), styler.to_latex(hrules=True, caption=caption))
    return out
