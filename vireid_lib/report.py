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
from .gradcam import spread_verdict
from .grids import THETAS
from .io import atomic_write_text
from .paths import results_dir, shown
from .tables import table_provenance, theta_summary
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


def theta_verdict(gap: float, noise: float) -> str:
    """Fig. 4's claim that the chosen θ gives the highest rank-1: *supported* when it does, *within noise* when
    the best value beats it by less than the seed std, *contradicted* when by more."""
    if gap <= 0:
        return "supported"
    return "within noise" if gap < noise else "contradicted"


def claims(root: Path | None = None) -> pd.DataFrame:
    """The paper's claims, each beside what this study measured (from the tables the notebooks wrote under
    ``root``, default ``results/``)."""
    rows = []
    for table, protocol in (("Table 6", "SYSU-MM01 all-search"), ("Table 5", "RegDB visible-to-thermal")):
        t = _read(table.lower().replace(" ", ""), root)  # our row over all seeds (and splits), as notebook 05 wrote it
        if t is None or "chance R1" not in t.columns:
            continue
        ours = t[(t["method"] == "ours (this study)") & (t["protocol"] == protocol)]
        if len(ours):
            o = ours.iloc[0]
            rows.append({"claim (paper)": _headline_claim(table, protocol),
                         "this study": f"rank-1 {o['R1']:.1f} / mAP {o['mAP']:.1f}, {o['source'].split(';')[0]}; "
                                       f"chance {o['chance R1']:.1f}",
                         "verdict": "not comparable (other data, model, budget)"
                         if "NOT comparable" in str(o["source"]) else "measured on the real data"})
    v = _read("05_verdicts", root)
    if v is not None:
        for _, r in v.iterrows():
            rows.append({"claim (paper)": f"{r['table']}: {r['row']} changes rank-1 by {r['paper ΔR1']:+.2f}",
                         "this study": "pending" if pd.isna(r["ours ΔR1"]) else f"{r['ours ΔR1']:+.2f}",
                         "verdict": r["verdict"]})
    th = _read("06_theta_sweep", root)
    if th is not None and len(th):
        fig4 = paper.figure4()
        for sweep, chosen in (("θ1", fig4["theta1_sweep"]["chosen"]), ("θ2", fig4["theta2_sweep"]["chosen"])):
            if not (th["sweep"] == sweep).any():
                continue
            t = theta_summary(th, sweep, chosen)
            if t["min_seeds"] < 2 or t["gap"] != t["gap"] or t["values"] < len(THETAS):
                verdict, text = "pending", f"{t['values']} of {len(THETAS)} values, at least {t['min_seeds']} seed(s)"
            else:
                verdict = theta_verdict(t["gap"], t["noise"])
                text = (f"highest mean rank-1 at {sweep} = {t['best_x']:g}; {sweep} = {chosen} is {t['gap']:.1f} "
                        f"points below it, seed std {t['noise']:.1f}")
            rows.append({"claim (paper)": f"Fig. 4: rank-1 is highest at {sweep} = {chosen}", "this study": text,
                         "verdict": verdict})
    sp = _read("07_attention_spread", root)
    if sp is not None and "both" in set(sp["images"]):
        d = float(sp.set_index("images").loc["both", "mean(fusion − global)"])
        rows.append({"claim (paper)": "Fig. 5: the fusion branch attends to a wider area than the global branch",
                     "this study": f"mean spread difference (fusion − global) {d:+.3f}, fusion wider in "
                                   f"{sp.set_index('images').loc['both', 'fusion wider in']} (the maps come from "
                                   "layers of different resolution, see 07_gradcam)",
                     "verdict": spread_verdict(d)})
    return pd.DataFrame(rows, columns=["claim (paper)", "this study", "verdict"])


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
        timings = json.loads((r / "timings.json").read_text()).get(profile, {})
    except (FileNotFoundError, ValueError):
        timings = {}
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
        lines += ["", f"Total: {sum(timings.values()) / 60:.1f} min ({profile} profile)."]
    c = claims(r)
    if len(c):
        lines += ["", "## The paper's claims beside this study's findings", "",
                  "*supported* / *contradicted*: same / opposite sign and beyond the seed noise; *within noise*: "
                  "not resolved by these runs. Fig. 4: *supported* when the paper's θ has the best mean rank-1, "
                  "*within noise* when another θ beats it by less than the seed std, *contradicted* when by more.", "",
                  c.to_markdown(index=False)]
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
