"""Notebooks: structure (cheap), and every registered notebook executed by papermill in the smoke profile."""

import json
from pathlib import Path

import nbformat
import pytest

from vireid_lib import notebooks as NB
from vireid_lib.errors import VireidError
from vireid_lib.paths import results_dir

SPECS = list(NB.NOTEBOOKS)
MAX_CODE_LINES = 30  # "a cell longer than a screen belongs in the library"


def smoke_root():
    """Where smoke-profile runs go: not the study's profile, so results/scratch/smoke/ (conftest's results dir)."""
    return NB.outputs_root("smoke", {})


def test_every_notebook_is_registered_and_every_registered_one_exists():
    on_disk = sorted(p.stem for p in NB.NOTEBOOK_DIR.glob("*.ipynb"))
    assert on_disk == sorted(s.name for s in SPECS)
    assert [s.name[:2] for s in SPECS] == [f"{i:02d}" for i in range(1, len(SPECS) + 1)]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_notebook_structure(spec):
    nb = nbformat.read(spec.path, as_version=4)
    assert nb.metadata.kernelspec.name == "python3"
    first, second = nb.cells[0], nb.cells[1]
    assert first.cell_type == "markdown" and first.source.startswith(f"# {spec.name[:2]} · ")
    assert "What you will learn" in first.source and "Run time" in first.source
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert tagged == [second], "exactly one parameters cell, right after the title"
    params = NB.notebook_parameters(spec.path)
    assert {"profile", "data_root", "seed"} <= set(params)
    assert all(p["help"] for p in params.values()), "every parameter says what it is for"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, "notebooks/ holds no outputs"
            assert len(cell.source.splitlines()) <= MAX_CODE_LINES, f"cell too long:\n{cell.source[:200]}"
    assert_ends_with_summary_next_and_exercises(nb)
    setup = nb.cells[2]
    assert setup.cell_type == "code" and f'start("{spec.name}", globals())' in setup.source, \
        "the first code cell after the parameters checks them and says where the outputs go"
    assert "results/scratch/<profile>/" in first.source, "the title cell says where the outputs go"


def test_parameters_are_read_as_papermill_reads_them_without_importing_it(tmp_path):
    """notebook_parameters (every notebook's start() calls it) agrees with papermill.inspect_notebook on every
    notebook, imports neither papermill nor nbformat (seconds per kernel), and refuses a cell papermill would read
    otherwise."""
    import subprocess
    import sys

    import papermill

    for spec in SPECS:
        assert NB.notebook_parameters(spec.path) == papermill.inspect_notebook(str(spec.path)), spec.name
    probe = ("import sys; from vireid_lib.notebooks import NOTEBOOKS, notebook_parameters; "
             "[notebook_parameters(s.path) for s in NOTEBOOKS]; "
             "print(sorted(m for m in ('papermill', 'nbformat', 'torchvision') if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                          cwd=tmp_path).stdout.strip() == "[]"
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell('# a comment\nprofile: str = "cpu"  # the profile\nn = 3  # type: int rows\n'
                                     "rate = 0.5\nname: 'str' = 'a#b'  # quoted")
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell]
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nbformat.write(nb, tmp_path / "good.ipynb")
    assert NB.notebook_parameters(tmp_path / "good.ipynb") == papermill.inspect_notebook(str(tmp_path / "good.ipynb"))
    cell = nbformat.v4.new_code_cell('profile: str = "cpu"  # the profile\nseeds = [0,\n         1]')
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell]
    nbformat.write(nb, tmp_path / "bad.ipynb")
    with pytest.raises(NB.ParameterError, match=r"line 3 of the parameters cell, '1\]'"):
        NB.notebook_parameters(tmp_path / "bad.ipynb")


def _child_pid() -> int:
    import os

    return os.getpid()


class _TwoArgumentError(Exception):
    def __init__(self, message, summary):  # its pickle cannot rebuild it (Exception pickles args only)
        super().__init__(message)
        self.summary = summary


def _raise_two_argument_error():
    raise _TwoArgumentError("cannot be rebuilt", {"runs": 3})


def test_in_background_returns_raises_and_stops_when_left_early():
    import os
    import time

    with NB._in_background(_child_pid) as result:
        assert result() != os.getpid()
    with NB._in_background(int, "not a number") as result, pytest.raises(ValueError, match="not a number"):
        result()
    with NB._in_background(_raise_two_argument_error) as result, \
            pytest.raises(VireidError, match=r"(?s)_raise_two_argument_error failed:.*cannot be rebuilt"):
        result()
    with NB._in_background(os._exit, 3) as result, \
            pytest.raises(VireidError, match=r"_exit ended without an answer .*exited with code 3"):
        result()
    t0 = time.perf_counter()
    with pytest.raises(KeyError), NB._in_background(time.sleep, 60):
        raise KeyError("the block failed")
    assert time.perf_counter() - t0 < 30, "leaving the block stops the process instead of waiting for it"
    with NB._in_background(None) as result:
        assert result() == ""


def assert_ends_with_summary_next_and_exercises(nb):
    """The course's closing cells: "## Summary" (with a "**Next**" pointer), then "## Exercises", each exercise's
    solution a code cell tagged ``solution`` and collapsed in JupyterLab (the website toggles it; the smoke run
    executes it, so it stays right)."""
    heads = {c.source.splitlines()[0]: i for i, c in enumerate(nb.cells)
             if c.cell_type == "markdown" and c.source.startswith("## ")}
    assert "## Summary" in heads and "## Exercises" in heads, list(heads)
    summary, exercises = heads["## Summary"], heads["## Exercises"]
    assert summary < exercises and "**Next**" in "".join(c.source for c in nb.cells[summary:exercises])
    assert max(heads.values()) == exercises, "the exercises are the last section"
    solutions = [c for c in nb.cells if "solution" in c.metadata.get("tags", [])]
    assert solutions and all(c.metadata.get("jupyter", {}).get("source_hidden") for c in solutions)
    assert all("solution" in c.metadata.get("tags", []) for c in nb.cells[exercises:] if c.cell_type == "code"), \
        "every code cell of the exercises is a hidden solution"
    for c in nb.cells[exercises:]:
        if c.cell_type == "markdown" and c.source.lstrip().startswith("**"):
            assert "*Hint*" in c.source and "*Expected*" in c.source, c.source[:120]


def test_a_misspelt_parameter_is_an_error_naming_the_valid_ones():
    with pytest.raises(VireidError, match=r"no parameter\(s\) sede.*data_root, profile, seed"):
        NB.run_notebook(SPECS[0], "smoke", sede=1)


def test_a_failing_notebook_names_the_cell_and_keeps_the_partial_copy(tmp_path, monkeypatch):
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    params = nbformat.v4.new_code_cell('profile: str = "cpu"  # the profile')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# 99 · broken"), params,
                nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("raise ValueError('on purpose')")]
    nbformat.write(nb, tmp_path / "99_broken.ipynb")
    monkeypatch.setattr(NB, "NOTEBOOK_DIR", tmp_path)
    spec = NB.NotebookSpec("99_broken", "broken", "fails")
    with pytest.raises(NB.NotebookFailed, match=r"99_broken failed in cell \d+ .*ValueError: on purpose"):
        NB.run_notebook(spec, "smoke", out_dir=tmp_path / "out", progress=False)
    assert (tmp_path / "out" / "99_broken.failed.ipynb").exists()
    assert not (tmp_path / "out" / "99_broken.ipynb").exists()  # never a half-run notebook under the final name


@pytest.mark.slow
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_notebook_runs_in_the_smoke_profile(spec):
    out = NB.run_notebook(spec, "smoke", progress=False)
    assert out == smoke_root() / "notebooks" / f"{spec.name}.ipynb"
    assert not (results_dir() / "figures").exists() and not (results_dir() / "tables").exists(), \
        "a run with another profile than the study's leaves results/ alone"
    nb = json.loads(out.read_text())
    assert "papermill" not in nb["metadata"], "executed copies are scrubbed"
    errors = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"] if o["output_type"] == "error"]
    assert not errors
    images = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]
              if "image/png" in o.get("data", {})]
    assert len(images) >= len(spec.figures), "each saved figure is also shown in the notebook"
    for p in spec.promised(smoke_root()):
        assert p.stat().st_size > 0, p
        if p.suffix == ".csv":
            assert len(p.read_text().strip().splitlines()) >= 2, f"{p} has no rows"


@pytest.mark.slow
def test_report_and_course_website_link_only_to_files_that_exist():
    """The report, and the course website built from the real executed notebooks without a Sphinx warning
    (tests/test_site.py opens a website in a browser)."""
    import re

    from vireid_lib.report import write_report
    from vireid_lib.site import build_site

    for spec in SPECS:  # normally already run by the test above (same file: same xdist worker)
        if not (smoke_root() / "notebooks" / f"{spec.name}.ipynb").exists():
            NB.run_notebook(spec, "smoke", progress=False)
    text = write_report(SPECS, "smoke", smoke_root())
    assert "## The paper's claims beside this study's findings" in text
    links = re.findall(r"\]\(([^)]+)\)", text)
    assert any(link.startswith("figures/") for link in links)
    assert "site/index.html" in links and {f"site/notebooks/{s.name}.html" for s in SPECS} <= set(links)
    build_site(SPECS, "smoke", smoke_root())
    assert not (smoke_root() / "jupyter_execute").exists(), "myst-nb's output images stay out of the results folder"
    warnings = smoke_root() / "site-warnings.txt"
    assert not warnings.exists(), warnings.read_text()
    missing = [link for link in links if not (smoke_root() / link).exists()]
    assert not missing, missing


def _marker_notebook(path: Path, code: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    params = nbformat.v4.new_code_cell('profile: str = "cpu"  # the profile')
    params.metadata["tags"] = ["parameters"]
    helpers = nbformat.v4.new_code_cell(
        "import pathlib, time\n"
        f"d = pathlib.Path({str(path.parent / 'markers')!r})\n"
        "def wait_for(name):\n"
        "    for _ in range(600):\n"
        "        if (d / name).exists():\n"
        "            return\n"
        "        time.sleep(0.1)\n"
        "    raise TimeoutError(name)\n")
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {path.stem}"), params, helpers, nbformat.v4.new_code_cell(code)]
    nbformat.write(nb, path)


def test_parallel_reproduce_overlaps_notebooks_and_raises_the_first_failure(tmp_path, monkeypatch):
    """Two notebooks at once (each proves it by waiting for the other's marker); after a failure nothing new starts,
    the notebook running beside it finishes, the failure is raised."""
    (tmp_path / "markers").mkdir()
    _marker_notebook(tmp_path / "91_a.ipynb", "(d / 'a.start').touch(); wait_for('b.start')")
    _marker_notebook(tmp_path / "92_b.ipynb", "(d / 'b.start').touch(); wait_for('a.start')")
    _marker_notebook(tmp_path / "94_fails.ipynb", "raise ValueError('on purpose')")
    _marker_notebook(tmp_path / "95_slow.ipynb", f"wait_for({str(tmp_path / 'out' / '94_fails.failed.ipynb')!r})\n"
                     "time.sleep(5); (d / 'slow.end').touch()")
    _marker_notebook(tmp_path / "96_never.ipynb", "(d / 'never.start').touch()")
    monkeypatch.setattr(NB, "NOTEBOOK_DIR", tmp_path)
    specs = {p.stem: NB.NotebookSpec(p.stem, p.stem, "a test") for p in sorted(tmp_path.glob("9*.ipynb"))}
    times: dict[str, float] = {}
    kwargs = {name: {} for name in specs}
    NB._run_parallel([specs["91_a"], specs["92_b"]], "smoke", False, kwargs, 2, times.__setitem__,
                     out_dir=tmp_path / "out")
    assert set(times) == {"91_a", "92_b"} and (tmp_path / "out" / "92_b.ipynb").exists()
    then = [specs["94_fails"], specs["95_slow"], specs["96_never"]]
    with pytest.raises(NB.NotebookFailed, match=r"94_fails failed in cell \d+ .*ValueError: on purpose"):
        NB._run_parallel(then, "smoke", False, kwargs, 2, times.__setitem__, out_dir=tmp_path / "out")
    assert (tmp_path / "markers" / "slow.end").exists(), "the notebook running when the other failed finished"
    assert not (tmp_path / "markers" / "never.start").exists(), "nothing starts after a failure"
    assert not (tmp_path / "out" / "96_never.ipynb").exists()


def test_notebooks_run_in_parallel_only_when_nothing_is_to_be_trained(monkeypatch):
    """A parallel run only reads committed runs and evaluates committed weights: pending grid runs (unless the
    budget is 0) or a missing showcased model make reproduce run one notebook at a time."""
    from vireid_lib import experiments

    monkeypatch.setattr(experiments, "showcased_runs", lambda profile: ["m"])
    monkeypatch.setattr(experiments, "grid_runs", lambda grids, profile: ["x", "y"])
    monkeypatch.setattr(experiments, "unique_runs", lambda runs: runs)
    states = {"x": "finished", "y": "finished", "m": True}
    monkeypatch.setattr(experiments, "status", lambda c: states[c])
    monkeypatch.setattr(experiments, "is_finished", lambda c: states[c])
    assert NB.runs_to_train("cpu", {}) == ""
    states["y"] = "stale (code changed)"
    assert NB.runs_to_train("cpu", {}) == "1 grid run(s) pending or stale"
    assert NB.runs_to_train("cpu", {"budget_minutes": 0}) == ""
    states["m"] = False
    assert NB.runs_to_train("cpu", {"budget_minutes": 0}) == "1 model(s) that figures are drawn from to train"
    assert NB.runs_to_train("cpu", {"data_root": "/real/SYSU-MM01"}) != ""


def test_reproduce_refuses_a_parameter_no_selected_notebook_declares():
    with pytest.raises(VireidError, match="budget_minutes"):
        NB.reproduce("smoke", only=["01"], params={"budget_minutes": 1})


def test_styler_table_ids_are_made_stable_and_kept_distinct():
    from vireid_lib.notebooks import stable_styler_ids

    a = '<table id="T_fd577"><th id="T_fd577_level0_col0"></th></table>#T_fd577 td {} <table id="T_0a1b2">'
    b = a.replace("fd577", "b158f").replace("0a1b2", "9c9c9")
    assert stable_styler_ids(a) == stable_styler_ids(b)
    assert stable_styler_ids(a) == ('<table id="T_t0"><th id="T_t0_level0_col0"></th></table>#T_t0 td {} '
                                    '<table id="T_t1">')
    assert stable_styler_ids("RIGHT_abcde T_abcdef") == "RIGHT_abcde T_abcdef"  # not a Styler id


def test_object_reprs_lose_their_memory_address():
    from vireid_lib.notebooks import stable_object_reprs

    a = '"<pandas.io.formats.style.Styler at 0x7fc9b7e3c990>", "<Foo object at 0x7f5e14f68e90>"'
    assert stable_object_reprs(a) == '"<pandas.io.formats.style.Styler object>", "<Foo object>"'
    assert stable_object_reprs("address 0x7fc9 <b>bold</b>") == "address 0x7fc9 <b>bold</b>"


def test_scrub_merges_stream_chunks_and_drops_kernel_pids(tmp_path):
    """Two executions of the same code give the same executed copy: printed text split into chunks by timing is
    merged (stdout and stderr kept apart, other outputs kept in place), a kernel's process id is dropped."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print('ab'); 1")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="a"),
                    nbformat.v4.new_output("stream", name="stdout", text="b\n"),
                    nbformat.v4.new_output("stream", name="stderr", text="/tmp/ipykernel_16611/3458273219.py:13: "
                                                                         "UserWarning: w\n"),
                    nbformat.v4.new_output("stream", name="stdout", text="c\n"),
                    nbformat.v4.new_output("execute_result", data={"text/plain": "1"}, execution_count=1)]
    nb.cells = [cell]
    one, two = tmp_path / "one.ipynb", tmp_path / "two.ipynb"
    nbformat.write(nb, one)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="ab\n"), *cell.outputs[2:]]
    cell.outputs[1]["text"] = cell.outputs[1]["text"].replace("16611", "16962")
    nbformat.write(nb, two)
    NB.scrub(one)
    NB.scrub(two)
    assert one.read_text() == two.read_text()
    outs = nbformat.read(one, as_version=4).cells[0].outputs
    assert [(o.output_type, o.get("name"), o.get("text")) for o in outs] == [
        ("stream", "stdout", "ab\n"), ("stream", "stderr", "/tmp/ipykernel/3458273219.py:13: UserWarning: w\n"),
        ("stream", "stdout", "c\n"), ("execute_result", None, None)]


def test_a_complete_run_removes_the_outputs_it_no_longer_writes(tmp_path):
    """Every output is rewritten by each run: after a complete run, what is older than its start is a leftover of a
    figure, table or notebook that no longer exists (and goes); anything outside the three output folders stays."""
    import os
    import time

    for rel in ("figures/old.png", "figures/new.png", "tables/old.csv", "notebooks/00_gone.ipynb", "runs/x/final.json",
                "README.md"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    since = time.time()
    for rel in ("figures/old.png", "tables/old.csv", "notebooks/00_gone.ipynb", "runs/x/final.json", "README.md"):
        os.utime(tmp_path / rel, (since - 3600, since - 3600))
    os.utime(tmp_path / "figures/new.png", (since + 1, since + 1))
    assert NB.prune_outputs(tmp_path, since) == ["figures/old.png", "tables/old.csv", "notebooks/00_gone.ipynb"]
    assert (tmp_path / "figures/new.png").exists() and (tmp_path / "runs/x/final.json").exists()
    assert (tmp_path / "README.md").exists()


def test_the_runners_processes_read_notebooks_without_jsonschemas_iri_grammars(tmp_path):
    """nbstripout, papermill and Sphinx run without rfc3987_syntax's Lark grammars (2-3 s per process at import):
    nbformat still reads and validates a notebook, and `python -m vireid_lib.launch MODULE ARGS` runs the module
    as `python -m` would, its exit status included."""
    import subprocess
    import sys

    probe = ("from vireid_lib.launch import skip_iri_format_checkers\n"
             "skip_iri_format_checkers()\n"
             "import sys, nbformat\n"
             f"nb = nbformat.read({str(NB.NOTEBOOKS[0].path)!r}, as_version=4)\n"
             "nbformat.validate(nb)\n"
             "print(len(nb.cells), 'lark' in sys.modules, sys.modules['rfc3987_syntax'])\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert int(out[0]) > 10 and out[1:] == ["False", "None"]
    (tmp_path / "a.json").write_text('{"b": 1, "a": [2]}')
    shown = subprocess.run([sys.executable, "-m", "vireid_lib.launch", "json.tool", "--sort-keys", "--compact",
                            str(tmp_path / "a.json")], capture_output=True, text=True)
    assert shown.returncode == 0 and shown.stdout.strip() == '{"a":[2],"b":1}'
    bad = subprocess.run([sys.executable, "-m", "vireid_lib.launch", "json.tool", str(tmp_path / "missing.json")],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "missing.json" in bad.stderr
    usage = subprocess.run([sys.executable, "-m", "vireid_lib.launch"], capture_output=True, text=True)
    assert usage.returncode != 0 and "usage: python -m vireid_lib.launch MODULE" in usage.stderr
