"""Sphinx configuration of the course website (``results/site/``), built by :mod:`vireid_lib.site`.

Sphinx + myst-nb + sphinx-book-theme, built from the *executed* notebooks (never executed here), offline: MathJax is
a local copy from the ``sphinx-mathjax-offline`` package (only the one combined component and its fonts, not the
whole 24 MB it ships), no CDN, no launch buttons, no font downloads. ``vireid_lib.site`` stages this folder beside the
executed notebooks (``notebooks/``), the report (``report.md``), ``figures/`` and ``tables/``, then runs Sphinx.

Tags an exercise author uses in a notebook (``notebooks/*.ipynb``), read when the site is staged:

- ``solution`` on a code cell: the cell (code and output) is collapsed behind "Show solution" on the website; on a
  Markdown cell, its text is. Add ``"jupyter": {"source_hidden": true}`` to the cell's metadata too, and JupyterLab
  shows it collapsed (a test checks that every ``solution`` cell has it).
- ``hide-input`` / ``hide-output`` / ``hide-cell``, ``remove-input`` / ``remove-output`` / ``remove-cell``: myst-nb's
  own tags, as documented by myst-nb.
- papermill's ``injected-parameters`` cell is removed from the pages (``remove-cell``).
"""

from __future__ import annotations

project = "vireid: a course on visible-infrared person re-identification"
author = "the vireid authors"
copyright = "the vireid authors"  # no year: rebuilding next year does not change every page
html_title = "vireid course"
language = "en"

extensions = ["myst_nb", "sphinx.ext.mathjax"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "_generated", "figures", "tables"]  # included, not pages
root_doc = "index"

# notebooks: rendered from their stored outputs, never executed
nb_execution_mode = "off"
nb_render_markdown_format = "myst"  # Markdown outputs (tables, reports) with MyST's maths
nb_merge_streams = True  # one block per cell for stdout, not one per flushed line
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
suppress_warnings = ["mystnb.unknown_mime_type", "myst.header"]

# maths: MathJax from _static (copied there by vireid_lib.site from the sphinx-mathjax-offline package)
mathjax_path = "mathjax/tex-chtml-full.js"

html_theme = "sphinx_book_theme"
html_static_path = ["_static"]
html_css_files = ["vireid.css"]
html_js_files = ["vireid.js"]
html_copy_source = False  # no second copy of every notebook under _sources/
html_show_sourcelink = False
html_last_updated_fmt = None  # no build date: rebuilding without changes leaves the pages as they were
html_theme_options = {
    "use_download_button": False,  # it would link to _sources/
    "use_fullscreen_button": False,
    "use_repository_button": False,
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "show_toc_level": 2,
    "navigation_with_keys": False,
}


def setup(app):
    """The ``solution`` directive: its content collapsed behind "Show solution" (a ``<details>`` element, as myst-nb
    renders hidden code cells), for Markdown cells tagged ``solution``."""
    from docutils import nodes
    from docutils.parsers.rst import Directive

    class Solution(Directive):
        has_content = True
        optional_arguments = 1
        final_argument_whitespace = True

        def run(self):
            label = self.arguments[0] if self.arguments else "Solution"
            box = nodes.container(classes=["vireid-solution-body"])
            self.state.nested_parse(self.content, self.content_offset, box)
            name = label.lower()
            opening = (f'<details class="vireid-solution"><summary><span class="collapsed">Show {name}</span>'
                       f'<span class="expanded">Hide {name}</span></summary>')
            return [nodes.raw("", opening, format="html"), box, nodes.raw("", "</details>", format="html")]

    app.add_directive("solution", Solution)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
