"""The study's results belong to its reproduction: where figures and tables go, what they record, what the report
refuses to gather, and every notebook's first call (start), which checks its parameters as the runner does."""

import ast
import json
import os
from pathlib import Path

import matplotlib.pyplot as plt
import nbformat
import pandas as pd
import pytest

from vireid_lib import notebooks as NB
from vireid_lib import paths
from vireid_lib.errors import VireidError
from vireid_lib.paths import results_dir
from vireid_lib.report import check_provenance
from vireid_lib.tables import save_table, table_provenance
from vireid_lib.viz import figure_provenance, savefig

SPEC = NB.get("02")  # parameters: profile, data_root, seed, n_images
PARAMS_CELL = "".join(line + "\n" for line in (
    'profile: str = "cpu"  # smoke | cpu | paper', 'data_root: str = ""  # a folder', "seed: int = 0  # a seed",
    "n_images: int = 4  # rows"))
DEFAULTS = {"profile": "cpu", "data_root": "", "seed": 0, "n_images": 4}


@pytest.fixture
def provenance():
    """Restores this process's record of what its figures and tables are made with (start() sets it)."""
    before = paths.provenance()
    yield
    paths.set_provenance(**before)


@pytest.fixture
def results(tmp_path, monkeypatch):
    monkeypatch.setenv("VIREID_RESULTS_DIR", str(tmp_path))
    monkeypatch.delenv(paths.STUDY_RUN_ENV, raising=False)
    return tmp_path


def test_outputs_go_to_results_only_in_the_study_run(results, provenance, monkeypatch):
    paths.set_provenance(profile="smoke", data="d", notebook="02_rcc_augmentation")
    assert paths.figures_dir() == results / "scratch" / "smoke" / "figures"
    assert paths.tables_dir() == results / "scratch" / "smoke" / "tables"
    monkeypatch.setenv(paths.STUDY_RUN_ENV, "1")
    assert (paths.figures_dir(), paths.tables_dir()) == (results / "figures", results / "tables")
    assert paths.runs_dir() == results / "runs"  # finished runs are shared whatever the run
    monkeypatch.delenv(paths.STUDY_RUN_ENV)
    paths.set_provenance()
    assert paths.figures_dir() == results / "scratch" / "no-profile" / "figures"  # a script, outside notebooks


def test_the_study_run_is_the_study_profile_with_mechanics_only(results):
    assert NB.is_study("cpu", {}) and NB.is_study("cpu", {"profile": "cpu", "budget_minutes": 0, "workers": 1})
    assert not NB.is_study("smoke", {}) and not NB.is_study("paper", {})
    assert not NB.is_study("cpu", {"seed": 1}) and not NB.is_study("cpu", {"seeds": "0", "budget_minutes": 0})
    assert NB.outputs_root("cpu", {"workers": 2}) == results
    assert NB.outputs_root("cpu", {"data_root": "/x"}) == results / "scratch" / "cpu"


def test_figures_and_tables_record_what_they_were_made_with(results, provenance):
    made = {"notebook": "02_rcc_augmentation", "profile": "smoke", "data": "synthetic (SYSU-MM01 layout)"}
    paths.set_provenance(**made)
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    png = savefig(fig, "t_fig", close=True)
    assert png == results / "scratch" / "smoke" / "figures" / "t_fig.png"
    assert figure_provenance(png) == made
    csv = save_table(pd.DataFrame({"a": [1.0]}), "t_table", caption="cap")
    assert table_provenance(csv) == made
    assert pd.read_csv(csv).columns.tolist() == ["a"]  # the CSV stays a plain table
    md = csv.with_suffix(".md").read_text()
    assert md.rstrip().endswith("*Made by notebook 02_rcc_augmentation, profile smoke, "
                                "data: synthetic (SYSU-MM01 layout).*")
    paths.set_provenance()  # outside a notebook: no record, and no stale one left beside the table
    csv = save_table(pd.DataFrame({"a": [2.0]}), "t_table")
    assert table_provenance(csv) == {} and "Made by" not in csv.with_suffix(".md").read_text()


def _write(name, profile, data="synthetic (SYSU-MM01 layout)"):
    """A figure and a table of notebook 02 made with ``profile`` and ``data`` (None: without a record)."""
    paths.set_provenance(**({"notebook": "02_rcc_augmentation", "profile": profile, "data": data} if profile else {}))
    fig, _ = plt.subplots()
    savefig(fig, name, close=True)
    save_table(pd.DataFrame({"a": [1]}), name)


def _two_figures(results, monkeypatch):
    """A registry of one notebook with two figures and a table, all written to ``results/`` (as if by the runner's
    study run) whatever the profile: the mixture that the report must refuse."""
    monkeypatch.setenv(paths.STUDY_RUN_ENV, "1")
    return [NB.NotebookSpec("02_rcc_augmentation", "t", "t", figures=("f1", "f2"), tables=("f1",))], results


def test_the_report_refuses_files_made_with_different_profiles_or_data(results, provenance, monkeypatch):
    specs, root = _two_figures(results, monkeypatch)
    _write("f1", "smoke")
    _write("f2", "smoke")
    check_provenance(specs, "smoke", root)  # one profile, one dataset: gathered
    with pytest.raises(VireidError, match=r"(?s)made with different profiles.*profile smoke.*"
                                          r"figures/f1.png, figures/f2.png, tables/f1.csv"):
        check_provenance(specs, "cpu", root)  # the report would claim another profile
    _write("f2", "cpu")
    with pytest.raises(VireidError, match=r"(?s)profile smoke, data: synthetic.*: figures/f1.png, tables/f1.csv\n"
                                          r"  profile cpu, data: synthetic.*: figures/f2.png"):
        check_provenance(specs, "smoke", root)
    _write("f2", "smoke", data="SYSU-MM01 (/data/SYSU-MM01)")
    with pytest.raises(VireidError, match=r"data: SYSU-MM01 \(/data/SYSU-MM01\): figures/f2.png"):
        check_provenance(specs, "smoke", root)
    _write("f2", None)
    with pytest.raises(VireidError, match="no record of what they were made with: figures/f2.png"):
        check_provenance(specs, "smoke", root)


def test_write_report_refuses_before_writing(results, provenance, monkeypatch):
    from vireid_lib.report import write_report

    specs, root = _two_figures(results, monkeypatch)
    _write("f1", "smoke")
    _write("f2", "cpu")
    with pytest.raises(VireidError, match="different profiles or data"):
        write_report(specs, "smoke", root)
    assert not (root / "README.md").exists()


# ------------------------------------------------------------------------------------------------------------
# start(): the first call of every notebook, as its kernel runs it
# ------------------------------------------------------------------------------------------------------------
def _kernel(*cells: str, **values) -> dict:
    """A kernel's namespace after running ``cells`` (IPython's ``In`` history ends with the running cell)."""
    return {**DEFAULTS, **values, "In": ["", *cells, 'start("02_rcc_augmentation", globals())'],
            "np": object(), "_i1": ""}


def test_start_refuses_a_name_papermill_injected_and_the_runner_refuses_it_alike(results, provenance):
    injected = '# Parameters\nprofil = "smoke"\n'
    with pytest.raises(NB.ParameterError) as in_kernel:
        NB.start(SPEC.name, _kernel(PARAMS_CELL, injected, profil="smoke"))
    with pytest.raises(NB.ParameterError) as by_runner:
        NB.reproduce("smoke", only=["02"], params={"profil": "smoke"})
    assert str(in_kernel.value) == str(by_runner.value) == (
        "notebook 02_rcc_augmentation has no parameter(s) profil (did you mean profile?); its parameters are "
        "data_root, n_images, profile, seed (papermill would only warn and run with the default)")


def test_start_refuses_a_misspelt_name_typed_into_the_parameters_cell(results, provenance):
    edited = PARAMS_CELL + "n_image = 8\n"
    with pytest.raises(NB.ParameterError, match=r"no parameter\(s\) n_image \(did you mean n_images\?\)"):
        NB.start(SPEC.name, _kernel(edited, n_image=8))


def test_start_refuses_a_value_of_the_wrong_type_up_front(results, provenance):
    for value, runner in (("abc", True), (1.5, True), (True, False)):
        with pytest.raises(NB.ParameterError, match=rf"parameter seed must be an integer .*`seed: int = 0`.*got "
                                                    rf"{value!r}"):
            NB.start(SPEC.name, _kernel(PARAMS_CELL, f"# Parameters\nseed = {value!r}\n", seed=value))
        if runner:  # the same check before any kernel starts
            with pytest.raises(NB.ParameterError, match=r"parameter seed must be an integer"):
                NB.reproduce("smoke", only=["02"], params={"seed": value})
    with pytest.raises(VireidError, match="unknown profile 'smok'"):
        NB.start(SPEC.name, _kernel(PARAMS_CELL, profile="smok"))


def test_start_ignores_what_the_learner_ran_before_outside_the_parameters_cell(results, provenance, capsys):
    # JupyterLab: the notebook ran before, then a scratch cell `x = 1`, then the start cell again
    out = NB.start(SPEC.name, _kernel(PARAMS_CELL, "cfg = data_config(profile)", "x = 1", profile="smoke", x=1))
    assert out == results / "scratch" / "smoke"
    assert paths.provenance() == {"notebook": "02_rcc_augmentation", "profile": "smoke",
                                  "data": "synthetic (SYSU-MM01 layout)"}
    said = capsys.readouterr().out
    assert "outputs:" in said and "scratch" in said and "written only by `make reproduce`" in said


def test_start_asks_for_the_parameters_cell_when_it_has_not_run(results, provenance):
    ns = _kernel()
    del ns["n_images"]
    with pytest.raises(NB.ParameterError, match="n_images not defined: run the parameters cell"):
        NB.start(SPEC.name, ns)


def test_start_in_the_study_run_writes_results(results, provenance, capsys, monkeypatch):
    monkeypatch.setenv(paths.STUDY_RUN_ENV, "1")
    assert NB.start(SPEC.name, _kernel(PARAMS_CELL)) == results
    assert "the study's own results" in capsys.readouterr().out


def test_no_module_of_the_library_imports_one_that_imports_it_back():
    """Issue 11: the runner (notebooks.py) imports the report, which imported the registry back; imports inside
    functions count too."""
    pkg = Path(NB.__file__).parent
    graph: dict[str, set[str]] = {}
    for path in pkg.rglob("*.py"):
        parts = path.relative_to(pkg.parent).with_suffix("").parts
        mod = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        here = mod.split(".") if parts[-1] == "__init__" else mod.split(".")[:-1]
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                source = ".".join(here[: len(here) - node.level + 1] + [node.module or ""]).strip(".") \
                    if node.level else node.module
                imported |= {source} | {f"{source}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                imported |= {a.name for a in node.names}
        graph[mod] = imported
    graph = {m: {d for d in deps if d in graph and d != m} for m, deps in graph.items()}

    def reachable(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            new = graph[todo.pop()] - seen
            seen |= new
            todo += new
        return seen

    assert "vireid_lib.notebooks" in graph and "vireid_lib.report" in graph["vireid_lib.notebooks"]
    assert sorted(m for m in graph if m in reachable(m)) == []


def test_table_provenance_names_a_damaged_record(results, provenance):
    paths.set_provenance(notebook="02_rcc_augmentation", profile="smoke", data="d")
    csv = save_table(pd.DataFrame({"a": [1]}), "t_bad")
    csv.with_name("t_bad.provenance.json").write_text("<<<<<<< HEAD")
    with pytest.raises(VireidError, match=r"t_bad.provenance.json is not a JSON record.*rerun the notebook"):
        table_provenance(csv)


# ------------------------------------------------------------------------------------------------------------
# In a kernel (kept out of test_notebooks.py, the suite's longest file under pytest-xdist's --dist loadfile)
# ------------------------------------------------------------------------------------------------------------
def test_papermill_run_directly_refuses_a_misspelt_parameter_as_the_runner_does(tmp_path):
    """Issue 14: `papermill notebooks/01_….ipynb out.ipynb -p profil smoke` only warned and ran the cpu profile;
    the notebook's first code cell now refuses it, with the runner's own message, before any work."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    spec = NB.get("01")
    with pytest.raises(PapermillExecutionError) as direct:
        papermill.execute_notebook(str(spec.path), str(tmp_path / "out.ipynb"), parameters={"profil": "smoke"},
                                   kernel_name="python3", cwd=str(NB.NOTEBOOK_DIR), progress_bar=False)
    with pytest.raises(NB.ParameterError) as runner:
        NB.run_notebook(spec, "smoke", profil="smoke")
    assert direct.value.ename == "ParameterError"
    assert direct.value.evalue == str(runner.value) == (
        "notebook 01_data_exploration has no parameter(s) profil (did you mean profile?); its parameters are "
        "data_root, profile, seed (papermill would only warn and run with the default)")
    ran = [c for c in json.loads((tmp_path / "out.ipynb").read_text())["cells"] if c.get("execution_count")]
    assert 'start("01_data_exploration", globals())' in "".join(ran[-1]["source"]), "it stopped in start()"


def test_the_runner_tells_its_kernels_when_they_are_the_study_run(tmp_path, monkeypatch):
    """The study's profile with mechanics-only parameters writes results/: the kernel learns it from the runner
    (VIREID_STUDY_RUN, for its kernels only), and the executed copy lands beside the outputs. (Other runs going to
    scratch: the smoke-profile runs above.)"""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    params = nbformat.v4.new_code_cell('profile: str = "cpu"  # the profile\nworkers: int = 1  # mechanics')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(
        "from vireid_lib import paths\npaths.set_provenance(profile=profile)\nprint(paths.figures_dir())")]
    nbformat.write(nb, tmp_path / "98_where.ipynb")
    monkeypatch.setattr(NB, "NOTEBOOK_DIR", tmp_path)
    out = NB.run_notebook(NB.NotebookSpec("98_where", "where", "prints where its figures go"), "cpu",
                          progress=False, workers=2)
    assert out == results_dir() / "notebooks" / "98_where.ipynb"
    printed = "".join(json.loads(out.read_text())["cells"][-1]["outputs"][0]["text"]).strip()
    out.unlink()
    assert printed == str(results_dir() / "figures")
    assert NB.STUDY_RUN_ENV not in os.environ, "set for the runner's kernels, not for the caller's process"
