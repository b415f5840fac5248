"""The report a reader browses on the forge without running anything: ``results/README.md``, which the course
website (:mod:`vireid_lib.site`, ``results/site/``) also shows as a page beside the executed notebooks.

Built from the notebook registry, which the caller passes (the runner, :mod:`vireid_lib.notebooks`, imports
this module, not the other way round): for each notebook, what it shows, its figures and tables inline, a link to
the executed notebook, how long it took; and, first, the paper's claims beside what this study measured. It gathers
only figures and tables made with one profile and one dataset (:func:`check_provenance`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from . import paper
from .errors import VireidError
from .io import atomic_write_text
from .paths import results_dir, shown
from .tables import markdown, table_provenance
from .viz import figure_provenance


def _provenance(profile: str) -> str:
    from .config import data_config
    from .errors import VireidError

    try:
        cfg = data_config(profile)
        data, size = cfg.label, f"{cfg.height}×{cfg.width}"
    except VireidError:
        data, size = "real data (not present on the machine that wrote this report)", "288×144"
    return f"profile **{profile}**, data: **{data}**, images {size}"


def _read(name: str, root: Path | None = None) -> pd.DataFrame | None:
    path = (root or results_dir()) / "tables" / f"{name}.csv"
    try:
        return pd.read_csv(path)
    except (FileNotFoundError, pd.errors.EmptyDataError):
        return None


def _headline_claim(table: str, protocol: str) -> str:
    """The paper's own row of a comparison table, read from the paper's numbers (`paper_numbers.json`)."""
    r = paper.headline(protocol)
    return f"the method reaches rank-1 {r['R1']:.2f} / mAP {r['mAP']:.2f} on {protocol} ({table})"


def claims(root: Path | None = None) -> pd.DataFrame:
    """The paper's claims, each beside what this study measured, from the tables the notebooks wrote under ``root``
    (default ``results/``): the headline results (Tables 5, 6; not comparable on synthetic data) and the verdict
    table of notebook 09 (:mod:`vireid_lib.verdicts`: Δ, 95 % CI, p, Holm-adjusted p over the whole family)."""
    rows = []
    for table, protocol in (("Table 6", "SYSU-MM01 all-search"), ("Table 5", "RegDB visible-to-thermal")):
        t = _read(table.lower().replace(" ", ""), root)  # our row over all seeds (and splits), as notebook 05 wrote it
        if t is None or "chance R1" not in t.columns:
            continue
        ours = t[(t["method"] == "ours (this study)") & (t["protocol"] == protocol)]
        if len(ours):
            o = ours.iloc[0]
            rows.append({"claim (paper)": _headline_claim(table, protocol),  # the row as the table wrote it
                         "this study": f"rank-1 {o['R1']:.2f} / mAP {o['mAP']:.2f}, {o['source'].split(';')[0]}; "
                                       f"chance {o['chance R1']:.2f}",
                         "verdict": "not comparable (other data, model, budget)"
                         if "NOT comparable" in str(o["source"]) else "measured on the real data"})
    v = _read("verdicts", root)
    if v is not None:
        v = v[v["metric"] != "mAP"]
        for _, r in v.iterrows():
            ci = "" if pd.isna(r["CI low"]) else f" [{r['CI low']:+.2f}, {r['CI high']:+.2f}]"
            p = "" if pd.isna(r["p"]) else f", p = {r['p']:.2g}, adjusted p = {r['adjusted p']:.2g}"
            rows.append({"claim (paper)": f"{r['claim']}: {r['the paper says']}"
                                          + (f" (paper Δ {r['paper Δ']:+.2f})" if r["table"].startswith("Table")
                                             else ""),
                         "this study": f"Δ {r['ours Δ']:+.2f}{ci}{p}, "
                                       + (str(r["seeds"]) if "split" in str(r["seeds"]) else f"seeds {r['seeds']}")
                                       + (f" (second stage; the first stage's seeds gave: "
                                          f"{r.get('first-stage verdict', '')})"
                                          if str(r.get("second stage", "")) == "yes" else ""),
                         "verdict": r["verdict"]})
    th = _read("06_theta_verdicts", root)
    if th is not None:
        for _, r in th.iterrows():
            rows.append({"claim (paper)": f"Fig. 4: rank-1 is highest at {r['sweep']} = {r['chosen']:g}",
                         "this study": r["reading"], "verdict": r["verdict"]})
    return pd.DataFrame(rows, columns=["claim (paper)", "this study", "verdict"])


def _health(root: Path) -> str:
    """One sentence on the runs whose training diverged, from notebooks 05 and 06's training-health tables."""
    parts = [t for t in (_read("05_training_health", root), _read("06_training_health", root)) if t is not None]
    if not parts:
        return ""
    t = pd.concat(parts, ignore_index=True)
    bad = t[t["diverged"] > 0]
    text = (f"Training health: {int(t['diverged'].sum())} of the {int(t['finished runs'].sum())} finished runs "
            "(counted per grid) diverged on the way (a later epoch's mean loss above twice the first epoch's)")
    if len(bad):
        text += ": " + "; ".join(f"{g}: {w}" for g, w in zip(bad["grid"], bad["diverged runs"], strict=True))
    text += ". They are kept in every table and test (notebooks 05 and 06 list them)."
    n_failed = int(t["failed"].sum()) if "failed" in t.columns else 0
    if n_failed:
        text += (f" {n_failed} run(s) failed (the loss became non-finite): they have no result and are missing from "
                 "the tables; notebooks 05 and 06 name them.")
    return text


def check_provenance(specs: Sequence, profile: str, root: Path | None = None) -> None:
    """Refuse to gather figures and tables (the registry's ``specs``' files under ``root``) that were made with
    another profile than ``profile``, with different data, or that record neither (made by hand or by an older
    version): the error names them, grouped by what they record."""
    r = root or results_dir()
    groups: dict[tuple, list[str]] = {}
    for spec in specs:
        for path in spec.promised(r):
            if path.suffix == ".md" or not path.exists():
                continue  # a table's record is the CSV's
            made = figure_provenance(path) if path.suffix == ".png" else table_provenance(path)
            groups.setdefault((made.get("profile"), made.get("data")), []).append(str(path.relative_to(r)))
    if len(groups) > 1 or any(p != profile for p, _ in groups):
        made_with = "\n".join(
            f"  {f'profile {p}, data: {d}' if p or d else 'no record of what they were made with'}: "
            f"{', '.join(files)}" for (p, d), files in groups.items())
        raise VireidError(
            f"the report of {shown(r)}/ ({profile} profile) would gather figures and tables made with different "
            f"profiles or data:\n{made_with}\nrerun the notebooks of the odd ones out with this profile and data "
            "(`vireid reproduce --only NN`), or `make reset-results` to return to the committed study")


def write_report(specs: Sequence, profile: str, root: Path | None = None) -> str:
    """Write ``<root>/README.md`` (default ``results/``) for the notebooks of the registry ``specs``."""
    r = root or results_dir()
    check_provenance(specs, profile, r)
    try:
        all_timings = json.loads((r / "timings.json").read_text())
    except (FileNotFoundError, ValueError):
        all_timings = {}
    timings, wall = all_timings.get(profile, {}), all_timings.get("wall_clock", {}).get(profile)
    lines = [
        "# Results: Visible-Infrared Person Re-Identification via Feature Fusion and Deep Mutual Learning",
        "",
        "*A reproducible study of Lin & Wang (ACML 2024). This page is generated by `make reproduce`; "
        "do not edit it by hand. The executed notebooks, this report, a glossary and a bibliography are also a "
        "[course website](site/index.html) (`results/site/`: open `index.html` in a browser, offline).*",
        "",
        f"Produced with {_provenance(profile)}. Numbers labelled *paper* are the paper's (real SYSU-MM01 / RegDB, "
        "ResNet-50, 288×144); every other number was measured by the executed notebooks linked below, on the data "
        "named here, with the seeds each table states.",
        "",
        "| notebook | what it shows | time on this machine |",
        "| --- | --- | --- |",
    ]
    for nb in specs:
        t = timings.get(nb.name)
        ts = f"{t / 60:.1f} min" if t is not None else "not run"
        lines.append(f"| [{nb.name}](notebooks/{nb.name}.ipynb) | {nb.title} | {ts} |")
    if timings:
        total = f"Total: {sum(timings.values()) / 60:.1f} min of notebook time ({profile} profile)"
        if wall:
            total += (f"; {wall['seconds'] / 60:.1f} min wall-clock for the notebooks, {wall['jobs']} "
                      "at a time")
        lines += ["", total + "."]
    c = claims(r)
    if len(c):
        from .stats import vocabulary_markdown

        sens = _read("05_sensitivity", r)
        changed = (f"Under the paper's ambiguous readings ({', '.join(dict.fromkeys(sens['reading']))}), "
                   + (f"{int(sens['changes the verdict'].sum())} verdict(s) of the method's claims change: see "
                      "notebook 05's sensitivity table." if sens["changes the verdict"].any() else
                      "no verdict of the method's claims changes (notebook 05's sensitivity table).")
                   if sens is not None and len(sens) else "")
        lines += ["", "## The paper's claims beside this study's findings", "",
                  "Each claim is a comparison the paper draws (Table 1 read stepwise), tested over seeds with Welch's "
                  "t on rank-1 of SYSU-MM01 all-search (Table 5's on RegDB visible→thermal, paired over its splits); "
                  "Δ is ours with its 95 % confidence interval; the p-values are Holm-adjusted over the whole family "
                  "of the report's claims (notebook 09). The words:", "",
                  vocabulary_markdown(), "", markdown(c, "g"), "", changed, "", _health(r)]
    for nb in specs:
        lines += ["", f"## {nb.name}: {nb.title}", "", nb.shows, "",
                  f"Executed notebook: [notebooks/{nb.name}.ipynb](notebooks/{nb.name}.ipynb) · "
                  f"[web page](site/notebooks/{nb.name}.html)", ""]
        for t in nb.tables:
            md = r / "tables" / f"{t}.md"
            if md.exists():
                lines += [f"**{t}** ([csv](tables/{t}.csv))", "", md.read_text().strip(), ""]
        for f in nb.figures:
            if (r / "figures" / f"{f}.png").exists():
                lines += [f"![{f}](figures/{f}.png)", ""]
    text = "\n".join(lines).rstrip() + "\n"
    atomic_write_text(r / "README.md", text)
    return text
