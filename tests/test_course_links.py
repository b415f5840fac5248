"""The notebooks' links to the course's own pages (glossary, bibliography under ``course/``) resolve wherever the
notebook is read: the source in ``notebooks/`` (JupyterLab, whose root is the repository, and a forge), its executed
copy in ``results/notebooks/`` (a forge), and its page on the website (``results/site/``)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from myst_parser.slugs import github_slugify

from vireid_lib import notebooks as NB
from vireid_lib import site as S
from vireid_lib.paths import REPO_ROOT

LINK = re.compile(r"\]\(((?:\.\./)+course/[^)#\s]+)(?:#([^)\s]+))?\)")


def _links(text: str) -> list[tuple[str, str | None]]:
    return [(m.group(1), m.group(2)) for m in LINK.finditer(text)]


def _slug(heading: str) -> str:
    """A heading's anchor as the website makes it (MyST's heading anchors, ``myst_heading_anchors`` in
    course/conf.py), which follows a forge's (GitHub's) rule."""
    return github_slugify(heading)


def _targets(page: Path) -> set[str]:
    """The anchors a link into ``page`` may name: its MyST targets ``(name)=`` (the website's only) and its headings'
    anchors (the glossary's terms, the bibliography's entries: a forge makes them too)."""
    text = page.read_text(encoding="utf-8")
    return (set(re.findall(r"^\s*\(([\w-]+)\)=\s*$", text, re.M))
            | {_slug(h) for h in re.findall(r"^#{1,3} (.+)$", text, re.M)})  # myst_heading_anchors = 3


@pytest.mark.parametrize("page, level, least, some", [
    ("glossary.md", "## ", 30, {"cmc", "camera-rule", "label-smoothing-lsr", "global-fusion-and-joint-branches"}),
    ("bibliography.md", "### ", 15, {"agw", "caj", "bot", "sysu-mm01", "lin-and-wang-2024-the-paper"})])
def test_the_glossary_and_the_bibliography_read_on_a_forge(page, level, least, some):
    """Their entries are headings (a forge renders them and jumps to their anchors), not MyST's glossary directive
    (a forge shows it as a code block) nor MyST targets (shown as text, no anchor); every anchor is unique."""
    text = (REPO_ROOT / "course" / page).read_text(encoding="utf-8")
    assert "```{" not in text and "{doc}" not in text and not re.search(r"^\s*\([\w-]+\)=", text, re.M)
    entries = re.findall(rf"^{level}(.+)$", text, re.M)
    headings = re.findall(r"^#{1,6} (.+)$", text, re.M)  # an entry's anchor is unique among all the page's headings
    assert len(entries) >= least and len({_slug(t) for t in headings}) == len(headings)
    assert some <= _targets(REPO_ROOT / "course" / page)


def test_every_source_link_to_the_course_resolves_with_its_anchor():
    found = 0
    for path in sorted(NB.NOTEBOOK_DIR.glob("*.ipynb")):
        nb = nbformat.read(path, 4)
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        assert "](../glossary.md" not in text and "](../bibliography.md" not in text, path.name  # the site's old form
        for target, anchor in _links(text):
            page = (path.parent / target).resolve()
            assert page.is_file(), (path.name, target)
            assert anchor is None or anchor in _targets(page), (path.name, target, anchor)
            found += 1
    assert found >= 20  # the glossary and bibliography links of notebooks 01-04, 08, 09


def test_the_executed_copy_links_from_where_it_lands(tmp_path):
    src = NB.NOTEBOOK_DIR / "04_training.ipynb"
    copy = tmp_path / "copy.ipynb"
    copy.write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    for folder in (REPO_ROOT / "results" / "notebooks", REPO_ROOT / "results" / "scratch" / "cpu" / "notebooks"):
        NB.relink_course(copy, folder)
        links = _links(copy.read_text(encoding="utf-8"))
        assert links and all((folder / target).resolve().is_file() for target, _ in links), links
    NB.relink_course(copy, NB.NOTEBOOK_DIR)  # back where it came from: the source's own links again
    assert copy.read_text(encoding="utf-8") == src.read_text(encoding="utf-8")
    NB.relink_course(copy, tmp_path / "elsewhere")  # outside the repository: no machine's path written into it
    assert copy.read_text(encoding="utf-8") == src.read_text(encoding="utf-8")


def test_the_website_points_them_at_its_own_pages():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "[CMC](../../course/glossary.md#cmc) and [AGW](../../course/bibliography.md#agw)")])
    page = S.prepare_notebook(nb, {})
    assert page.cells[0].source == "[CMC](../glossary.md#cmc) and [AGW](../bibliography.md#agw)"


def test_the_course_pages_links_resolve_on_a_forge_and_on_the_site(tmp_path):
    """Every relative link of the course's own pages (not the site's home page, index.md, which is made of Sphinx
    directives) opens a file of the repository from ``course/``; staged for the site, the report link is its page."""
    pages = sorted(p for p in (REPO_ROOT / "course").glob("*.md") if p.name != "index.md")
    found = 0
    for page in pages:
        for target, anchor in re.findall(r"\]\((?!https?:|#|mailto:)([^)#\s]+)(?:#([^)\s]+))?\)",
                                         page.read_text(encoding="utf-8")):
            linked = (page.parent / target).resolve()
            assert linked.is_file(), (page.name, target)
            assert not anchor or anchor in _targets(linked), (page.name, target, anchor)
            found += 1
    assert found >= 4 and "{doc}" not in "".join(p.read_text(encoding="utf-8") for p in pages)
    (tmp_path / "results" / "notebooks").mkdir(parents=True)
    src = NB.NOTEBOOK_DIR / "01_data_exploration.ipynb"
    (tmp_path / "results" / "notebooks" / src.name).write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    spec = next(s for s in NB.NOTEBOOKS if s.name == "01_data_exploration")
    S.stage([spec], tmp_path / "results", tmp_path / "site")
    staged = (tmp_path / "site" / "prerequisites.md").read_text(encoding="utf-8")
    assert S.REPORT_LINK in (REPO_ROOT / "course" / "prerequisites.md").read_text(encoding="utf-8")
    assert S.REPORT_LINK not in staged and "](report.md)" in staged and (tmp_path / "site" / "report.md").is_file()
