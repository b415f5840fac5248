"""Docstrings shown in notebooks (vireid_lib.viz.model.describe): plain Markdown, no Sphinx markup."""

from vireid_lib.viz.model import describe, plain_docstring


def test_plain_docstring_turns_sphinx_roles_and_rest_literals_into_code():
    doc = ("Uses :meth:`layer0`, :func:`~vireid_lib.evaluation.ranking` and :class:`the net <VIReIDNet>`; "
           "``x`` is a literal.\n\nNotes\n-----\nA paragraph.")
    out = plain_docstring(doc)
    assert "`layer0`" in out and "`ranking`" in out and "`the net`" in out and "`x`" in out
    assert ":meth:" not in out and ":func:" not in out and "``" not in out
    assert "**Notes**" in out and "-----" not in out


def f(x: "int", y: "list[str]" = None) -> "float":  # noqa: F821 - string annotations on purpose
    """Eq. 0: see :func:`~vireid_lib.losses.wrt_loss`."""


def test_describe_shows_the_signature_unquoted_and_the_docstring_plain():
    md = describe(f)
    assert "(x: int, y: list[str] = None) -> float" in md and "'int'" not in md
    assert "> Eq. 0: see `wrt_loss`." in md
