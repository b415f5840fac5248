"""The course website (``results/site/``), built by the real build code (staging, Sphinx, tidying) from two small
executed notebooks made here as papermill and the notebooks' library calls leave them (a parameters cell and
papermill's injected one, equations, a saved figure displayed inline, a table, a long code line, exercise
solutions tagged as the course's convention says), then opened page by page in headless Chromium: every link and
image inside the site resolves, maths is typeset with no network, search finds "WRT", prose does not overflow at
1280 and 760 px, the injected cell is not shown, and solutions stay hidden until toggled. Rebuilding without
changes gives the same bytes. (The real notebooks run in the smoke profile in tests/test_notebooks.py; running two
of them here would cost a minute more.)"""

import base64
import filecmp
import io
import json
import os
import shutil
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

from vireid_lib import notebooks as NB
from vireid_lib import paths
from vireid_lib import site as S
from vireid_lib.paths import REPO_ROOT

pytestmark = pytest.mark.slow

SPECS = [
    NB.NotebookSpec("01_first_steps", "First steps: a tiny notebook", "A figure, a table and a solution.",
                    figures=("01_first_curve",), tables=("01_first_table",)),
    NB.NotebookSpec("02_losses", "The losses: WRT and mutual learning", "Equations and a wide table.",
                    figures=("02_losses_curve",)),
]
WIDTHS = (1280, 760)
MARKDOWN_SOLUTION = "The answer in words: $x^2 = 4$ gives $x = \\pm 2$, so **two** solutions."
CODE_SOLUTION = "answer = 6 * 7\nprint('solution output', answer)"
EQUATIONS = (
    "The weighted regularisation triplet loss (WRT, Eqs. 11–12) of the joint feature:\n\n"
    "$$L_{WRT}(i, j, k) = \\ln \\left( 1 + \\exp(w_i^p d_{ij}^p - w_i^n d_{ik}^n) \\right)$$\n\n"
    "and the symmetric KL divergence of deep mutual learning, $\\tfrac12 [D_{KL}(p^j \\| p^g) + "
    "D_{KL}(p^g \\| p^j)]$, weighted by $\\theta_1 = 0.6$.\n\n"
    "\\begin{align}\nL_{total} &= \\tilde L_{id}^{global} + \\tilde L_{id}^{fusion} + L_{id}^{joint} + L_{WRT}\n"
    "\\end{align}"
)


def _figure(name: str) -> bytes:
    """Save a figure as a notebook does (viz.savefig, with its provenance) and return the inline PNG the kernel
    would display (same pixels, no provenance chunks)."""
    import matplotlib.pyplot as plt

    from vireid_lib.viz import DPI, savefig

    fig, ax = plt.subplots(figsize=(9, 3))
    ax.plot(range(50), [x**0.5 for x in range(50)], label="rank-1")
    ax.set_title(f"{name}: a curve", fontsize=9)
    ax.legend()
    savefig(fig, name)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _notebook(spec, root: Path, first: bool) -> None:
    """An executed notebook as the runner leaves it, with the files its registry entry promises."""
    import pandas as pd

    from vireid_lib.tables import save_table

    paths.set_provenance(notebook=spec.name, profile="smoke", data="synthetic (test)")
    c = nbformat.v4
    params = c.new_code_cell('profile: str = "cpu"  # smoke | cpu | paper\nseed: int = 0  # the seed',
                             execution_count=1)
    params.metadata["tags"] = ["parameters"]
    injected = c.new_code_cell('# Parameters\nprofile = "smoke"\n', execution_count=2)
    injected.metadata["tags"] = ["injected-parameters"]
    png = _figure(spec.figures[0])
    plot = c.new_code_cell("fig = curves(run)\nviz.savefig(fig, 'curve')", execution_count=3, outputs=[
        c.new_output("display_data", data={"image/png": base64.b64encode(png).decode(), "text/plain": "<Figure>"})])
    wide = pd.DataFrame({f"a rather long column name {i}": [1.23456, 2.5] for i in range(12)})
    table = c.new_code_cell("display(table.style)", execution_count=4, outputs=[c.new_output(
        "display_data", data={"text/html": wide.style.set_uuid("t0").to_html(), "text/plain": "<Styler>"})])
    long_line = c.new_code_cell("x = " + " + ".join(f"value_{i}" for i in range(40)), execution_count=5,
                                outputs=[c.new_output("stream", name="stdout", text="epoch 1: loss 4.1\n" * 3)])
    cells = [c.new_markdown_cell(f"# {spec.name[:2]} · {spec.title}\n\nA tiny notebook of the course: "
                                 "[CMC](../course/glossary.md#cmc), [AGW](../course/bibliography.md#agw)."), params,
             injected, c.new_markdown_cell(EQUATIONS), plot, table, long_line,
             c.new_markdown_cell("## Exercises\n\n1. Change $\\theta_2$ and look at the curve.")]
    if first:
        save_table(pd.DataFrame({"metric": ["R1", "mAP"], "value": [20.1, 18.3]}), spec.tables[0])
        md = c.new_markdown_cell(MARKDOWN_SOLUTION)
        code = c.new_code_cell(CODE_SOLUTION, execution_count=6,
                               outputs=[c.new_output("stream", name="stdout", text="solution output 42\n")])
        for cell in (md, code):
            cell.metadata.update({"tags": [S.SOLUTION_TAG], "jupyter": {"source_hidden": True}})
        cells += [md, code]
    nb = c.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                              "language": "python"},
                                               "language_info": {"name": "python"}})
    (root / "notebooks").mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, root / "notebooks" / f"{spec.name}.ipynb")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site of the two notebooks (in a results folder of its own), built twice: (site, the first build)."""
    results = tmp_path_factory.mktemp("site-results")
    old, before = os.environ.get("VIREID_RESULTS_DIR"), paths.provenance()
    os.environ["VIREID_RESULTS_DIR"] = str(results)
    try:
        root = NB.outputs_root("smoke", {})
        for i, spec in enumerate(SPECS):
            _notebook(spec, root, first=i == 0)
        from vireid_lib.report import write_report

        write_report(SPECS, "smoke", root)
        (root / "html").mkdir()  # the former flat rendering: the site replaces it
        first = S.build_site(SPECS, "smoke", root)
        assert not (root / "html").exists()
        assert not (root / "site-warnings.txt").exists(), (root / "site-warnings.txt").read_text()
        copy = tmp_path_factory.mktemp("first-build") / "site"
        shutil.copytree(first, copy)
        yield S.build_site(SPECS, "smoke", root), copy
    finally:
        paths.set_provenance(**before)
        if old is None:
            os.environ.pop("VIREID_RESULTS_DIR", None)
        else:
            os.environ["VIREID_RESULTS_DIR"] = old


def _pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if "_static" not in p.parts)


def _files(d: Path) -> set[str]:
    return {str(p.relative_to(d)) for p in d.rglob("*") if p.is_file()}


def _open(chrome, page: Path, width: int = 1280) -> None:
    """Load a page at a width, wait until it and its images are loaded and MathJax has typeset it."""
    chrome.set_window_size(width, 1000)
    chrome.get(page.as_uri())
    deadline = time.time() + 30
    while time.time() < deadline:
        if chrome.execute_script("return document.readyState === 'complete' && "
                                 "Array.from(document.images).every(i => i.complete);"):
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"{page.name} did not finish loading its images in 30 s")
    if chrome.execute_script("return !!document.querySelector('.math');"):
        chrome.set_script_timeout(30)
        typeset = chrome.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "const mj = window.MathJax;"
            "if (!(mj && mj.startup && mj.startup.promise)) { done('MathJax did not load'); return; }"
            "mj.startup.promise.then(() => done(true), e => done(String(e)));")
        assert typeset is True, f"{page.name}: {typeset}"


def test_the_site_builds_from_the_executed_notebooks_and_rebuilds_to_the_same_bytes(site):
    built, first = site
    assert {"index.html", "search.html", "report.html", "glossary.html", "bibliography.html",
            "prerequisites.html"} <= {p.name for p in built.iterdir()}
    assert {f"notebooks/{s.name}.html" for s in SPECS} <= _files(built)
    assert _files(built) == _files(first)
    changed = [f for f in sorted(_files(built)) if not filecmp.cmp(built / f, first / f, shallow=False)]
    assert not changed, f"a rebuild without changes changed {changed}"
    figures = {f"{f}.png" for s in SPECS for f in s.figures}
    assert figures <= {p.name for p in (built / "_images").iterdir()}, "saved figures are shown from their files"
    assert not list(built.rglob("*.map")) and not (built / "_sources").exists() and not (built / ".buildinfo").exists()
    assert (built / "_static" / "mathjax" / "tex-chtml-full.js").exists()
    for page in _pages(built):  # nothing on a page is fetched from the network
        text = page.read_text(encoding="utf-8")
        assert "cdn." not in text and "https://cdn" not in text and "googleapis" not in text, page.name


def test_every_page_loads_with_its_links_images_and_maths_resolved(site, chrome):
    built, _ = site
    base = built.as_uri() + "/"
    pages = _pages(built)
    assert len(pages) == 9, pages
    for page in pages:
        _open(chrome, page)
        refs = chrome.execute_script(
            "return Array.from(document.querySelectorAll('a[href], link[href], img[src], script[src]'))"
            "  .map(e => e.href || e.src);")
        local = [r for r in refs if r.startswith("file:")]
        outside = [r for r in local if not r.startswith(base)]
        assert not outside, f"{page.name} links outside the site: {outside}"
        missing = sorted({r for r in local if not Path(unquote(urlsplit(r).path)).exists()})
        assert not missing, f"{page.name}: broken links {missing}"
        for r in local:  # a link to a place on a page (a glossary term) finds it there
            target, anchor = urlsplit(r), unquote(urlsplit(r).fragment)
            if anchor and target.path.endswith(".html"):
                assert f'id="{anchor}"' in Path(unquote(target.path)).read_text(encoding="utf-8"), (page.name, r)
        broken = chrome.execute_script(
            "return Array.from(document.images).filter(i => !(i.naturalWidth > 0)).map(i => i.src);")
        assert not broken, f"{page.name}: images that did not load {broken}"
        raw = chrome.execute_script(
            "const a = document.querySelector('.bd-article') || document.body;"
            "const c = a.cloneNode(true);"
            "c.querySelectorAll('pre, code, script, style, mjx-assistive-mml, .highlight').forEach(e => e.remove());"
            "return c.textContent;")
        for token in ("$$", "\\(", "\\)", "\\[", "\\begin{"):
            assert token not in raw, f"{page.name}: raw maths {token!r} left in the text"
    _open(chrome, built / "notebooks" / f"{SPECS[1].name}.html")
    assert chrome.execute_script("return document.querySelectorAll('mjx-container').length") >= 5, \
        "the equations are typeset by the local MathJax"
    assert chrome.execute_script("return document.querySelectorAll('.bd-article img').length") >= len(SPECS[1].figures)
    assert chrome.execute_script(
        "return Array.from(document.querySelectorAll('.bd-article img')).every(i => i.closest('a.vireid-zoom'))"), \
        "every figure opens full size when clicked"


def test_search_for_wrt_returns_hits(site, chrome):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    built, _ = site
    _open(chrome, built / "index.html")
    button = next(b for b in chrome.find_elements(By.CSS_SELECTOR, "button.search-button__button") if b.is_displayed())
    button.click()
    field = chrome.find_element(By.CSS_SELECTOR, "#pst-search-dialog input[type=search]")
    field.send_keys("WRT", Keys.ENTER)
    deadline, hits = time.time() + 20, []
    while time.time() < deadline and not hits:
        hits = chrome.execute_script("return Array.from(document.querySelectorAll('#search-results li a'))"
                                     "  .map(a => a.getAttribute('href'));") or []
        time.sleep(0.2)
    assert "search.html" in chrome.current_url and "q=WRT" in chrome.current_url
    assert any(h.startswith("glossary.html") for h in hits), hits
    assert any(h.startswith(f"notebooks/{SPECS[1].name}.html") for h in hits), hits


def test_prose_does_not_overflow_at_1280_and_760_px(site, chrome, tmp_path):
    built, _ = site
    for width in WIDTHS:
        for page in _pages(built):
            _open(chrome, page, width)
            overflow = chrome.execute_script(
                "const doc = document.documentElement;"
                "const a = document.querySelector('.bd-article');"
                "const right = a ? a.getBoundingClientRect().right + 1 : window.innerWidth;"
                "const wide = a ? Array.from(a.querySelectorAll('p, li, dt, dd, h1, h2, h3, img, table, .cell_output'))"
                "  .filter(e => e.getBoundingClientRect().right > right)"
                "  .map(e => e.tagName + ': ' + e.textContent.slice(0, 60)) : [];"
                "return [doc.scrollWidth, window.innerWidth, wide];")
            assert overflow[0] <= overflow[1], f"{page.name} at {width} px: page {overflow[0]} px wide > {overflow[1]}"
            assert not overflow[2], f"{page.name} at {width} px: wider than the article: {overflow[2]}"
        chrome.save_screenshot(str(tmp_path / f"{width}.png"))  # the last page, for a human look when it fails


def test_injected_parameters_are_not_shown_and_solutions_are_hidden_until_toggled(site, chrome):
    from selenium.webdriver.common.by import By

    built, _ = site
    for spec in SPECS:
        _open(chrome, built / "notebooks" / f"{spec.name}.html")
        shown = [e.text for e in chrome.find_elements(By.CSS_SELECTOR, ".bd-article pre") if e.is_displayed()]
        assert not [t for t in shown if t.lstrip().startswith("# Parameters")], "papermill's injected cell is shown"
        assert any(t.startswith('profile: str = "cpu"') for t in shown), "the parameters cell itself is shown"
    _open(chrome, built / "notebooks" / f"{SPECS[0].name}.html")
    md = chrome.find_element(By.CSS_SELECTOR, "details.vireid-solution")
    code = chrome.find_element(By.CSS_SELECTOR, ".cell.tag_solution")
    md_text = md.find_element(By.CSS_SELECTOR, ".vireid-solution-body")
    code_text = code.find_element(By.XPATH, ".//pre[contains(., 'answer = 6 * 7')]")
    assert not md_text.is_displayed() and not code_text.is_displayed(), "solutions are hidden by default"
    assert "42" not in chrome.find_element(By.CSS_SELECTOR, ".bd-article").text, "a solution's output too"
    # Bottom box first: opening a box (and MathJax typesetting what it reveals) moves everything below it, so a
    # click computed before that shift can land beside the next summary (seen once in CI).
    for box in (code, md):
        summary = box.find_element(By.CSS_SELECTOR, "summary")
        assert "Show solution" in summary.text
        chrome.execute_script("arguments[0].scrollIntoView({block: 'center'});", summary)
        summary.click()
        details = box if box.tag_name == "details" else box.find_element(By.CSS_SELECTOR, "details")
        deadline = time.time() + 10
        while not details.get_attribute("open") and time.time() < deadline:
            time.sleep(0.1)
        assert details.get_attribute("open") is not None, "a click on 'Show solution' opens its box"
    assert md_text.is_displayed() and code_text.is_displayed(), "a click shows the solutions"
    assert "two" in md_text.text and md.find_elements(By.CSS_SELECTOR, "mjx-container"), "its maths typeset"
    assert "solution output 42" in code.text


def test_every_solution_cell_of_the_course_is_also_collapsed_in_jupyterlab():
    """The convention the site reads: a cell tagged ``solution`` also has ``jupyter.source_hidden`` set, so that
    JupyterLab shows it collapsed as the website does."""
    for path in sorted((REPO_ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text())
        for i, cell in enumerate(nb["cells"]):
            if S.SOLUTION_TAG in cell.get("metadata", {}).get("tags", []):
                assert cell["metadata"].get("jupyter", {}).get("source_hidden") is True, \
                    f"{path.name} cell {i}: tagged {S.SOLUTION_TAG!r} without metadata jupyter.source_hidden = true"
