"""``python -m vireid_lib.launch MODULE [ARGS...]``: run ``python -m MODULE ARGS...`` without jsonschema's IRI
format checkers, the way the notebook runner starts nbstripout and Sphinx.

Why: nbformat imports jsonschema, and jsonschema imports ``rfc3987_syntax`` when it is installed (JupyterLab's
``jupyter-events`` asks for ``jsonschema[format-nongpl]``), which builds about 40 Lark grammars at import: 2-3 s of
CPU in every process that reads a notebook. ``make reproduce`` starts about a dozen such processes (nbstripout once
per notebook, papermill in each worker, Sphinx). None of them checks the ``iri`` formats those grammars serve
(nbformat validates without a format checker), so the runner goes without them: in the processes it starts, and in
the process that calls :func:`~vireid_lib.notebooks.run_notebook`, :func:`~vireid_lib.notebooks.scrub` or the
site's staging (:func:`skip_iri_format_checkers`; in such a process jsonschema then checks no ``iri`` format).
JupyterLab and a kernel that calls none of them are left alone.
"""

from __future__ import annotations

import runpy
import sys


def skip_iri_format_checkers() -> None:
    """Make ``import rfc3987_syntax`` fail in this process (unless it is already imported), so that jsonschema
    registers no ``iri`` / ``iri-reference`` format checker and nbformat imports in a tenth of the time. Nothing
    else changes: validation without a format checker never consults them."""
    sys.modules.setdefault("rfc3987_syntax", None)


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        raise SystemExit("usage: python -m vireid_lib.launch MODULE [ARGS...] (runs `python -m MODULE ARGS...`)")
    skip_iri_format_checkers()
    sys.argv = args
    runpy.run_module(args[0], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
