"""The course website: the executed notebooks, the report and the course's own pages as one static site,
``results/site/`` (open ``results/site/index.html`` in a browser; it works offline, from a clone).

Built by Sphinx with myst-nb and sphinx-book-theme from the sources in ``course/`` (configuration, home page,
prerequisites, glossary, bibliography, a stylesheet and a script) and from what ``make reproduce`` wrote: the
executed notebooks (never executed again here), the report ``README.md``, ``figures/`` and ``tables/``. They are
staged together in a temporary folder:

- ``notebooks/<name>.ipynb``: each executed copy, with papermill's ``injected-parameters`` cell removed from the
  page; cells tagged ``solution`` collapsed behind "Show solution" (a code cell's code and output, a Markdown
  cell's text); and each displayed figure that is a saved figure (the same pixels as a PNG under ``figures/``)
  shown from that file, so the site holds every figure once (the report shows the same files);
- ``report.md``: the report, its links to the site's pages made links between pages;
- ``_static/mathjax/``: MathJax 3 (one combined component and its fonts) from the ``sphinx-mathjax-offline``
  package: maths is typeset with no network;
- ``_generated/notebook_map.md``: the notebooks' table of the home page, from the registry.

The site is written to a temporary folder and renamed into place, as every result file is; the former flat
HTML rendering (``html/``) is removed, so there is one rendering. A non-study run of the runner builds into
its scratch folder like the rest of its outputs (the caller passes the root). Rebuilding from the same inputs
gives the same bytes (no dates, no absolute paths, content-hashed names), so a rerun of ``make reproduce``
does not change committed pages needlessly.

``python -m vireid_lib.make_site`` (``make site``) rebuilds the study's site from ``results/`` alone, without
running any notebook (the command is a module of its own: the runner imports this one, and the command needs the
runner's registry).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from .errors import VireidError
from .paths import REPO_ROOT, results_dir, shown

SOURCE_DIR = REPO_ROOT / "course"  # conf.py, the course's own pages, _static/
#: a Markdown link into ``course/``, however many folders up (``](../course/`` in ``notebooks/``, ``](../../course/``
#: in ``results/notebooks/``): the notebooks' links to the glossary and the bibliography
COURSE_LINK = re.compile(r"\]\((?:\.\./)+course/")
#: the course pages' link to the report as a forge and JupyterLab open it (``course/`` → ``results/README.md``)
REPORT_LINK = "](../results/README.md)"
SOLUTION_TAG = "solution"  # on a cell: hidden on the website until "Show solution" is clicked
INJECTED_TAG = "injected-parameters"  # papermill's cell of parameters: removed from the pages
SITE_DIR_NAME = "site"
LEGACY_HTML = "html"  # the flat nbconvert rendering the site replaces
MATHJAX_FILES = ("tex-chtml-full.js", "output/chtml/fonts/woff-v2")  # the component and the fonts it loads


class SiteBuildError(VireidError):
    pass


def mathjax_dir() -> Path:
    """The MathJax 3 copy shipped by the ``sphinx-mathjax-offline`` package (its folder name is not an
    importable module name, so it is found through the distribution's files)."""
    from importlib import metadata

    try:
        dist = metadata.distribution("sphinx-mathjax-offline")
    except metadata.PackageNotFoundError:
        raise SiteBuildError("the course website needs the sphinx-mathjax-offline package (pinned in "
                             "pyproject.toml): `make venv`") from None
    path = Path(dist.locate_file("sphinx-mathjax-offline/static/mathjax"))
    if not (path / MATHJAX_FILES[0]).exists():
        raise SiteBuildError(f"no {MATHJAX_FILES[0]} in {path}: reinstall sphinx-mathjax-offline")
    return path


def _pixels(data: bytes) -> str:
    """A PNG's identity by its pixels, not its bytes (saved figures carry provenance text chunks, inline ones
    do not)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return hashlib.sha256(f"{im.mode}{im.size}".encode() + im.tobytes()).hexdigest()


def figure_index(figures: Path) -> dict[str, str]:
    """Pixel identity → figure name, for every PNG under ``figures``."""
    return {_pixels(p.read_bytes()): p.stem for p in sorted(figures.glob("*.png"))} if figures.is_dir() else {}


def prepare_notebook(nb, figures: dict[str, str]):
    """A copy of the executed notebook ``nb`` (nbformat) as the website shows it: the injected-parameters cell
    removed, ``solution`` cells collapsed, displayed figures that are saved ones shown from ``../figures/``, links to
    the course's pages (``../../course/glossary.md#…`` in ``results/notebooks/``) made links to the site's."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = COURSE_LINK.sub("](../", cell.source)
        tags = list(cell.get("metadata", {}).get("tags", []))
        if INJECTED_TAG in tags:
            tags.append("remove-cell")
        if SOLUTION_TAG in tags:
            if cell.cell_type == "code":
                tags.append("hide-cell")
                cell.metadata["mystnb"] = {**cell.metadata.get("mystnb", {}), "code_prompt_show": "Show solution",
                                           "code_prompt_hide": "Hide solution"}
            elif cell.cell_type == "markdown":
                fence = ":" * max(6, 1 + max((len(m) for m in re.findall(r"^:{3,}", cell.source, re.M)), default=0))
                cell.source = f"{fence}{{solution}}\n{cell.source.strip()}\n{fence}"
        if tags:
            cell.metadata["tags"] = tags
        if cell.cell_type == "code":
            for out in cell.get("outputs", []):
                png = out.get("data", {}).get("image/png")
                name = figures.get(_pixels(base64.b64decode(png))) if png else None
                if name:
                    out["data"] = {"text/markdown": f"![{name}](../figures/{name}.png)"}
                    out["metadata"] = {}
    return nb


def prepare_report(text: str) -> str:
    """The report (``README.md``) as a page of the site: links into the site become links between pages."""
    text = re.sub(r" · \[[^\]]*\]\((?:site/notebooks|html)/[^)]*\.html\)", "", text)  # the page itself
    return text.replace("](site/index.html)", "](index.md)").replace("](html/index.html)", "](index.md)")


def notebook_map(specs: Sequence, names: set[str]) -> str:
    lines = ["| notebook | what it shows |", "| --- | --- |"]
    lines += [f"| [{s.name[:2]} · {s.title}](notebooks/{s.name}.ipynb) | {s.shows} |"
              for s in specs if s.name in names]
    return "\n".join(lines) + "\n"


def stage(specs: Sequence, root: Path, dest: Path) -> list[str]:
    """Lay out the site's sources in ``dest``: ``course/`` and what ``root`` holds. Returns the notebooks staged."""
    from .launch import skip_iri_format_checkers

    skip_iri_format_checkers()  # nbformat's import in a tenth of the time (vireid_lib.launch)
    import nbformat

    shutil.copytree(SOURCE_DIR, dest, ignore=shutil.ignore_patterns("_build", "__pycache__", ".ipynb_checkpoints"))
    for page in dest.glob("*.md"):  # the course's link to the report (results/README.md) is the site's report page
        text = page.read_text(encoding="utf-8")
        if REPORT_LINK in text:
            page.write_text(text.replace(REPORT_LINK, "](report.md)"), encoding="utf-8")
    for sub in ("figures", "tables"):
        if (root / sub).is_dir():
            shutil.copytree(root / sub, dest / sub, ignore=shutil.ignore_patterns(".*", "*.pdf"))
    figures = figure_index(root / "figures")
    staged = []
    for spec in specs:
        src = root / "notebooks" / f"{spec.name}.ipynb"
        if src.exists():
            nb = prepare_notebook(nbformat.read(src, as_version=4), figures)
            (dest / "notebooks").mkdir(exist_ok=True)
            nbformat.write(nb, dest / "notebooks" / src.name)
            staged.append(spec.name)
    if not staged:
        raise SiteBuildError(f"no executed notebook under {shown(root)}/notebooks/ to build the site from: "
                             "`make reproduce` first")
    (dest / "_generated").mkdir()
    (dest / "_generated" / "notebook_map.md").write_text(notebook_map(specs, set(staged)), encoding="utf-8")
    report = root / "README.md"
    text = prepare_report(report.read_text(encoding="utf-8")) if report.exists() else (
        "# The report\n\nNot written yet: `make reproduce` writes it.\n")
    (dest / "report.md").write_text(text, encoding="utf-8")
    mj = mathjax_dir()
    for rel in MATHJAX_FILES:
        target = dest / "_static" / "mathjax" / rel
        if (mj / rel).is_dir():
            shutil.copytree(mj / rel, target)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(mj / rel, target)
    return staged


def _tidy(out: Path) -> None:
    """Drop what a reader never loads: Sphinx's build stamp (it records the build's environment), the themes'
    source maps (development aids, a third of the themes' size) and their template fragments copied to
    ``_static/``."""
    with contextlib.suppress(FileNotFoundError):
        (out / ".buildinfo").unlink()
    for p in [*out.rglob("*.map"), *(out / "_static").glob("*.html")]:
        p.unlink()
    for page in [*out.rglob("*.html"), out / "searchindex.js"]:
        if page.exists():
            text = page.read_text(encoding="utf-8")
            stable = stable_equation_ids(text)
            if stable != text:
                page.write_text(stable, encoding="utf-8")
    for d in sorted((d for d in out.rglob("*") if d.is_dir()), reverse=True):  # deepest first
        if not any(d.iterdir()):
            d.rmdir()  # e.g. _sources/, empty without copied sources


_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def stable_equation_ids(text: str) -> str:
    """MyST names an unlabelled ``\\begin{align}`` block ``equation-<random uuid4>``: renamed
    ``equation-amsmath-1``, ``-2``... in order of appearance, so that a rebuild leaves the page unchanged."""
    names: dict[str, str] = {}
    return re.sub(rf"equation-({_UUID})",
                  lambda m: "equation-amsmath-" + names.setdefault(m.group(1), str(len(names) + 1)), text)


def build_site(specs: Sequence, profile: str, root: Path | None = None, quiet: bool = True) -> Path:
    """Build the course website from the executed notebooks of the registry ``specs`` under ``root`` (default
    ``results/``) into ``<root>/site/``, replacing the former one and the flat ``<root>/html/`` rendering.
    Returns the site's folder. Sphinx's warnings are printed (and kept in ``<root>/site-warnings.txt`` while
    there are any)."""
    from .report import check_provenance

    r = Path(root or results_dir())
    check_provenance(specs, profile, r)
    final = r / SITE_DIR_NAME
    warnings_file = r / "site-warnings.txt"
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="vireid-site-") as tmp:
        src, doctrees = Path(tmp) / "src", Path(tmp) / "doctrees"
        stage(specs, r, src)
        # built inside a temporary folder of root (renamed into place at the end): myst-nb writes the notebooks'
        # output images to <the build folder's parent>/jupyter_execute, which must not land in root
        staging = Path(tempfile.mkdtemp(prefix=f".{SITE_DIR_NAME}.", suffix=".tmp", dir=r))
        out = staging / "html"
        try:
            cmd = [sys.executable, "-m", "vireid_lib.launch", "sphinx", "-b", "html", "-d", str(doctrees),
                   "-w", str(Path(tmp) / "warn"),
                   "-j", "1", "-E", *(["-q"] if quiet else []), str(src), str(out)]
            env = {**os.environ, "SOURCE_DATE_EPOCH": "0"}  # any date Sphinx would print is fixed
            done = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True)
            warnings = (Path(tmp) / "warn").read_text() if (Path(tmp) / "warn").exists() else ""
            if done.returncode:
                raise SiteBuildError(f"the course website did not build (sphinx exited {done.returncode}):\n"
                                     f"{done.stderr[-4000:] or done.stdout[-4000:]}")
            _tidy(out)
            os.chmod(out, 0o777 & ~_umask())
            old = final.with_name(f".{SITE_DIR_NAME}.old.tmp")
            if old.exists():
                shutil.rmtree(old)
            if final.exists():
                os.replace(final, old)
            os.replace(out, final)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    warnings = warnings.replace(str(src) + os.sep, "")
    if warnings.strip():
        warnings_file.write_text(warnings, encoding="utf-8")
        print(f"    course website: {len(warnings.strip().splitlines())} Sphinx warning line(s), kept in "
              f"{shown(warnings_file)}:\n{warnings.rstrip()}", flush=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            warnings_file.unlink()
    legacy = r / LEGACY_HTML
    if legacy.is_dir():
        shutil.rmtree(legacy)
    print(f"    course website: {shown(final / 'index.html')} ({time.perf_counter() - t0:.1f} s)", flush=True)
    return final


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
