"""The notebook registry, the papermill runner behind ``make reproduce``, and :func:`start`, the first call of
every notebook.

One registry (:data:`NOTEBOOKS`) says, for every notebook, its order, what it shows, and which files it
must produce; the runner, the tests and the report (which is given it) all read it. The runner (per
``../shared/NOTEBOOK-CONVENTIONS.md``):

- checks the parameters it passes against the notebook's ``parameters`` cell (papermill only warns about a
  misspelt one, and injects it anyway), as each notebook's :func:`start` does again in its kernel;
- writes ``results/`` only for the study's own run (the study's profile, parameters that are mere mechanics:
  :func:`is_study`), setting ``VIREID_STUDY_RUN=1`` for its kernels; any other run goes to the git-ignored
  ``results/scratch/<profile>/``, as a notebook run by hand does;
- runs with the ``python3`` kernel (the venv's), in ``notebooks/`` as working directory, figures inline;
- writes the executed copy to a temporary file and renames it into ``results/notebooks/`` only on success;
  a failed run is kept as ``<name>.failed.ipynb`` and reported with the failing cell;
- scrubs the executed copy (nbstripout, keeping outputs; stream chunks merged, process ids and memory addresses
  dropped) so that reruns do not change bytes needlessly;
- runs two notebooks at a time on a machine with two or more cores, each in its own process (:func:`_run_parallel`),
  when nothing is to be trained (:func:`runs_to_train`), else one at a time;
- checks that every promised figure and table exists, records times in ``results/timings.json`` and the
  run's provenance in ``results/manifest.json``.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import os
import pickle
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .config import check_profile
from .errors import ConfigError, VireidError
from .io import atomic_path, atomic_write_json, sha256_file
from .paths import (
    REPO_ROOT,
    STUDY_RUN_ENV,
    outputs_dir,
    results_dir,
    runs_dir,
    scratch_dir,
    set_provenance,
    shown,
    study_run,
)
from .site import COURSE_LINK, SOURCE_DIR

NOTEBOOK_DIR = REPO_ROOT / "notebooks"
STUDY_PROFILE = "cpu"  # the profile of the committed study under results/
# Parameters that change how a run goes, not what it shows: the runner may set them and still write results/
# (budget_minutes: how long notebooks 05/06 train pending grid runs; workers: how many at once).
MECHANICS = frozenset({"budget_minutes", "workers"})


@dataclass(frozen=True)
class NotebookSpec:
    name: str  # file stem, e.g. "01_data_exploration"
    title: str
    shows: str  # one paragraph for the report
    figures: tuple[str, ...] = ()  # promised files under results/figures/ (stems, .png)
    tables: tuple[str, ...] = ()  # promised files under results/tables/ (stems, .csv and .md)
    timeout: int = 1800  # per cell, seconds

    @property
    def path(self) -> Path:
        return NOTEBOOK_DIR / f"{self.name}.ipynb"

    def promised(self, root: Path | None = None) -> list[Path]:
        """The figures and tables it must produce under ``root`` (default ``results/``; see :func:`outputs_root`)."""
        r = root or results_dir()
        return [r / "figures" / f"{f}.png" for f in self.figures] + [
            r / "tables" / f"{t}.{ext}" for t in self.tables for ext in ("csv", "md")]


NOTEBOOKS: tuple[NotebookSpec, ...] = (
    NotebookSpec(
        "01_data_exploration", "Data exploration: the visible-infrared re-identification task",
        "What VI-ReID is; the dataset's layout and statistics (identities, images per camera and modality, "
        "splits); the same people seen by visible and infrared cameras; intensity histograms; and the modality "
        "gap measured with hand-crafted features under the evaluation protocol, against chance, within each "
        "modality and across the two.",
        figures=("01_identities_across_cameras", "01_intensity_histograms", "01_modality_gap"),
        tables=("01_dataset_statistics", "01_camera_statistics", "01_modality_gap"),
    ),
    NotebookSpec(
        "02_rcc_augmentation", "Random Combination of Channels (RCC) and the other augmentations",
        "The seven RCC variants (six channel orders and grayscale, paper Fig. 2) on dataset images, next to "
        "colour jitter, CRE and random erasing; their measured cost per image, batched against a per-image PIL "
        "pipeline; and why channel order matters when the other modality has no colour.",
        figures=("02_rcc_variants", "02_augmentations", "02_channel_order_retrieval"),
        tables=("02_augmentation_cost", "02_channel_order_retrieval"),
    ),
    NotebookSpec(
        "03_model_building", "Building the model: two streams, mid-layer fusion, a joint branch",
        "The two-stream ResNet (Eq. 1), GeM pooling and the BN-neck (Eq. 4), the fusion module (Eq. 2) and the "
        "joint branch (Eq. 3), built piece by piece on a real batch with every shape printed; each equation next "
        "to the function that implements it; parameters and FLOPs of the baseline and of the model with fusion, "
        "at this profile's size and at the paper's.",
        figures=("03_feature_shapes", "03_weight_maps_shape"),
        tables=("03_model_complexity",),
    ),
    NotebookSpec(
        "04_training", "Training the method: identity losses, deep mutual learning, WRT",
        "The losses of §3.5 (Eqs. 5–13) beside their functions; a full training run of the method (reused when "
        "it has finished before), its loss parts and intermediate evaluations per epoch, the protocol's result "
        "with its spread over gallery trials, how far it is above chance, the paper's headline numbers beside it "
        "(labelled: they are on the real data), and the fusion weight maps the model learned.",
        figures=("04_training_curves", "04_learned_weight_maps"),
        tables=("04_results", "04_vs_paper"),
    ),
    NotebookSpec(
        "05_ablation_tables", "Ablations: Tables 1–4, paper beside ours, with seed spread",
        "Every row of Tables 1–4 as a configuration, trained with several seeds (runs shared between tables are "
        "one run); each table beside the paper's numbers with mean ± std over seeds and each row's difference "
        "from the reference row with its 95 % confidence interval; every claim tested (Table 1 stepwise, Welch's t, "
        "Holm over the report's whole family) with a verdict in one vocabulary; whether the paper's ambiguous "
        "readings change a verdict; which runs diverged in training (kept in every test); Tables 5–6 with our "
        "measured row, marked not comparable on synthetic data, and how hard each synthetic dataset is for the "
        "baseline beside the real ordering.",
        figures=("05_ablation_deltas",),
        tables=("table1", "table2", "table3", "table4", "05_verdicts", "05_sensitivity", "05_training_health",
                "table5", "table6", "05_regdb_difficulty"),
        timeout=4 * 3600,
    ),
    NotebookSpec(
        "06_theta_sweep", "The θ sweeps of Fig. 4",
        "Rank-1 and mAP against θ1 (θ2 = 1.0) and θ2 (θ1 = 0.6) over [0, 2], mean over seeds with ±1 sd bands, "
        "the paper's chosen values and reported θ2 peaks marked; whether θ matters at all (one-way ANOVA) and the "
        "paper's θ tested against every other θ (Holm over the report's family).",
        figures=("06_theta_sweep",),
        tables=("06_theta_sweep", "06_theta_verdicts", "06_training_health"),
        timeout=4 * 3600,
    ),
    NotebookSpec(
        "07_gradcam", "What the branches look at: Grad-CAM maps (Fig. 5)",
        "Grad-CAM maps of the global and fusion branches for the same visible and infrared test images, with a "
        "target suited to re-identification (similarity to the same person in the other modality); and, on a grid "
        "common to both branches, how spread out each branch's attention is over many images and over the method's "
        "trained seeds, testing the paper's claim that the fusion branch attends to a wider area.",
        figures=("07_gradcam", "07_attention_spread"),
        tables=("07_attention_spread", "07_spread_by_seed", "07_fig5"),
    ),
    NotebookSpec(
        "08_retrieval", "Retrieval results: the top-10 of infrared queries (Fig. 6)",
        "Chosen and random infrared queries with their top-10 visible gallery images from the protocol's gallery, "
        "framed green or red (with ✓/✗), ranks and distances; the same queries ranked by the baseline beside "
        "the full method; and the metrics of the drawn ranking next to those recorded at evaluation, which agree.",
        figures=("08_retrieval", "08_retrieval_vs_baseline"),
        tables=("08_retrieval_metrics", "08_camera_rule_effect", "08_method_agreement"),
    ),
    NotebookSpec(
        "09_findings", "What the study found: the paper's claims, tested",
        "Every claim of the paper's ablations, θ sweeps and attention maps in one table: the paper's difference, ours "
        "with its 95 % confidence interval, the p-value of a test over seeds and the p-value adjusted over the whole "
        "family (Holm), a verdict in one vocabulary, and what would resolve it; whether any of our readings of the "
        "paper's open points changes a verdict; what would settle the claims on the real data.",
        tables=("verdicts",),
    ),
)


def get(name: str) -> NotebookSpec:
    for nb in NOTEBOOKS:
        if nb.name == name or nb.name.startswith(f"{name}_") or nb.name[:2] == name:
            return nb
    raise VireidError(f"no notebook {name!r}; known: {', '.join(nb.name for nb in NOTEBOOKS)}")


# one definition of the parameters cell, as papermill's Python translator reads it:
# ``name[: type] = value  [# [type: type] help]``
_PARAMETER = re.compile(r"^(?P<name>\w+)\s*(?::\s*[\"']?(?P<type>\w[\w\[\],\s]*?)[\"']?\s*)?=\s*(?P<default>.*?)"
                        r"(?:\s*#\s*(?:type:\s*(?P<type_comment>\S*)\s*)?(?P<help>.*))?$")


def notebook_parameters(path: Path) -> dict[str, dict]:
    """The names, types and defaults of a notebook's ``parameters`` cell, as ``papermill.inspect_notebook`` gives
    them (``{name: {"name", "inferred_type_name", "default", "help"}}``; a test checks that both agree on every
    notebook), read without importing papermill: its import (nbformat's schema validator builds dozens of
    grammars) takes seconds, and every notebook's :func:`start` calls this. The cell holds one definition per line
    (and comments), as in every notebook of the course; any other line (a definition over several lines, two ``=``
    on a line, an import) is refused with the line named, where papermill would skip or misread it."""
    import json

    try:
        cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError) as e:
        raise VireidError(f"{path}: not a readable notebook ({type(e).__name__}: {e}); restore it "
                          f"(`git checkout -- {path}` for a notebook of the course)") from None
    cell = next((c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if cell is None:
        return {}
    source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
    out = {}
    for n, raw in enumerate(source.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _PARAMETER.match(line) if line.count("=") == 1 and not raw[:1].isspace() else None
        if m is None:
            raise ParameterError(f"{path}: line {n} of the parameters cell, {line!r}, is not one definition "
                                 f"`name: type = value  # help` on one line (the parameters cell holds nothing else)")
        out[m["name"]] = {"name": m["name"], "inferred_type_name": m["type"] or m["type_comment"] or "None",
                          "default": m["default"], "help": m["help"] or ""}
    return out


class ParameterError(ConfigError):
    """A notebook was given a parameter its ``parameters`` cell does not declare, or a value of the wrong type."""


# the declared types checked, with the Python types accepted (None for a string: "the default", as "") and a name
_TYPES = {"str": ((str, type(None)), "a string"), "int": ((int,), "an integer"), "float": ((int, float), "a number"),
          "bool": ((bool,), "True or False")}


def check_parameters(spec: NotebookSpec, params: dict) -> None:
    """Refuse a name the notebook's ``parameters`` cell does not declare (papermill only warns and injects it)
    and a value of another type than the declared one. The runner calls it before starting a kernel and every
    notebook's :func:`start` calls it on what its kernel received, so both say the same."""
    known = notebook_parameters(spec.path)
    unknown = set(params) - set(known)
    if unknown:
        raise ParameterError(
            f"notebook {spec.name} has no parameter(s) {_unknown(unknown, known)}; its parameters are "
            f"{', '.join(sorted(known))} (papermill would only warn and run with the default)"
        )
    for name, value in params.items():
        want = known[name]["inferred_type_name"]
        accepted, what = _TYPES.get(want, (object, ""))
        if not isinstance(value, accepted) or (want != "bool" and isinstance(value, bool)):
            example = known[name]["default"]
            raise ParameterError(
                f"notebook {spec.name}: parameter {name} must be {what} (its parameters cell declares "
                f"`{name}: {want} = {example}`), got {value!r} (a {type(value).__name__}); e.g. "
                f"`{name} = {example}` in the cell, `-p {name} {example}` for papermill, "
                f"`--param {name}={example}` for vireid reproduce"
            )


def _unknown(names, known) -> str:
    return ", ".join(f"{u} (did you mean {m[0]}?)" if (m := difflib.get_close_matches(u, known, 1)) else u
                     for u in sorted(names))


def is_study(profile: str, params: dict) -> bool:
    """Whether a runner's run is the study's own reproduction, so writes ``results/``: the study's profile, and
    no parameter but ``profile`` and the mechanics (:data:`MECHANICS`)."""
    return profile == STUDY_PROFILE and set(params) - {"profile"} <= MECHANICS


def outputs_root(profile: str, params: dict) -> Path:
    """Where a runner's run writes its figures, tables, executed notebooks and report (:func:`is_study`)."""
    return results_dir() if is_study(profile, params) else scratch_dir(profile)


def start(name: str, namespace: dict) -> Path:
    """The first code cell of every notebook: ``start("01_data_exploration", globals())``.

    Checks the parameters this kernel received (the ``parameters`` cell as it ran and papermill's injected
    cell, read back from the kernel's input history) against those the registered notebook declares, with the
    runner's :func:`check_parameters`; records the profile and data that this run's figures and tables are made
    with; and says where they go (``results/`` in the study's reproduction, else ``results/scratch/<profile>/``).
    Returns that folder."""
    from .config import data_config

    spec = get(name)
    declared = notebook_parameters(spec.path)
    missing = sorted(k for k in declared if k not in namespace)
    if missing:
        raise ParameterError(f"{', '.join(missing)} not defined: run the parameters cell of {spec.name} first "
                             "(or Run All)")
    names = set(declared) | _assigned_by_parameter_cells(namespace.get("In"), set(declared))
    check_parameters(spec, {k: namespace.get(k) for k in names})
    profile = check_profile(namespace["profile"])
    data = data_config(profile, root=namespace.get("data_root") or None).label
    set_provenance(notebook=spec.name, profile=profile, data=data)
    out = outputs_dir()
    if study_run():
        print(f"outputs: {shown(out)}/ (figures/, tables/): the study's own results, as `make reproduce` runs it")
    else:
        print(f"outputs: {shown(out)}/ (figures/, tables/), a git-ignored scratch folder: the study's results/ "
              f"are written only by `make reproduce`. Finished runs of the study ({shown(runs_dir())}/) are reused; "
              f"runs trained here go to {shown(results_dir() / 'scratch' / 'runs')}/")
    return out


def _assigned_by_parameter_cells(history, declared: set[str]) -> set[str]:
    """Names assigned by the cells that ran just before this one and hold only literal assignments: the
    parameters cell as the learner edited it (it assigns a declared name) and papermill's injected cell (it
    starts with ``# Parameters``). ``history`` is IPython's ``In``, whose last entry is the running cell."""
    names: set[str] = set()
    for source in reversed(history[:-1] if isinstance(history, list) else []):
        assigned = _literal_assignments(source)
        if assigned is None or not (declared & assigned or source.startswith("# Parameters")):
            break
        names |= assigned
    return names


def _literal_assignments(source: str) -> set[str] | None:
    """The names a cell assigns if it holds only ``name = literal`` or ``name: type = literal``, else None."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return None
    names = set()
    for node in body:
        target = (node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1
                  else node.target if isinstance(node, ast.AnnAssign) and node.value is not None else None)
        if not isinstance(target, ast.Name):
            return None
        try:
            ast.literal_eval(node.value)
        except (ValueError, TypeError, SyntaxError, RecursionError):
            return None
        names.add(target.id)
    return names


class NotebookFailed(VireidError):
    pass


def scrub(path: Path) -> None:
    """Remove volatile metadata (timestamps, papermill run info, cell ids' execution times) but keep outputs; make
    what varies between executions of the same code stable (:func:`coalesce_streams`, :func:`stable_styler_ids`,
    :func:`stable_object_reprs`, :func:`stable_kernel_paths`)."""
    from .launch import skip_iri_format_checkers

    skip_iri_format_checkers()  # nbformat's import in a tenth of the time (vireid_lib.launch)
    import nbformat

    subprocess.run(
        [sys.executable, "-m", "vireid_lib.launch", "nbstripout", "--keep-output", "--keep-count", "--extra-keys",
         "metadata.papermill cell.metadata.papermill cell.metadata.execution metadata.widgets", str(path)],
        check=True,
    )
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    if coalesce_streams(nb):
        nbformat.write(nb, path)
    text = path.read_text(encoding="utf-8")
    stable = stable_kernel_paths(stable_object_reprs(stable_styler_ids(text)))
    if stable != text:
        path.write_text(stable, encoding="utf-8")


def relink_course(path: Path, folder: Path) -> None:
    """Point the executed copy's links to the course's pages (``../course/glossary.md#…`` in ``notebooks/``) at
    ``course/`` from ``folder``, where the copy lands (``results/notebooks/``: ``../../course/…``), so that they
    work there too, on a forge and in JupyterLab. The website's staging points them at its own pages. A folder
    outside the repository (``VIREID_RESULTS_DIR`` elsewhere) keeps the source's links: no machine's path in a file."""
    folder = Path(folder).resolve()
    if not folder.is_relative_to(REPO_ROOT):
        return
    rel = Path(os.path.relpath(SOURCE_DIR, folder)).as_posix()
    text = path.read_text(encoding="utf-8")
    new = COURSE_LINK.sub(f"]({rel}/", text)
    if new != text:
        path.write_text(new, encoding="utf-8")


def coalesce_streams(nb) -> bool:
    """Merge each cell's consecutive outputs of one stream (stdout, stderr) into one: the kernel sends printed text
    in chunks whose boundaries depend on timing (one line may arrive as one output or as two). Returns whether
    anything changed."""
    changed = False
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        merged = []
        for out in cell.get("outputs", []):
            last = merged[-1] if merged else None
            if (out.get("output_type") == "stream" and last is not None and last.get("output_type") == "stream"
                    and last.get("name") == out.get("name")):
                last["text"] = "".join(last["text"]) + "".join(out["text"])
                changed = True
            else:
                merged.append(out)
        cell["outputs"] = merged
    return changed


def stable_kernel_paths(text: str) -> str:
    """A warning or traceback names the kernel's temporary file of the cell, ``/tmp/ipykernel_<pid>/<hash>.py``:
    the process id is dropped."""
    return re.sub(r"ipykernel_\d+/", "ipykernel/", text)


def stable_styler_ids(text: str) -> str:
    """pandas' Styler names each HTML table ``T_<random 5 hex>``: renamed ``T_t0``, ``T_t1``... in order of
    appearance, so that re-executing a notebook leaves its executed copy unchanged."""
    names: dict[str, str] = {}
    return re.sub(r"(?<![0-9A-Za-z])T_[0-9a-f]{5}(?![0-9a-f])",
                  lambda m: names.setdefault(m.group(0), f"T_t{len(names)}"), text)


def stable_object_reprs(text: str) -> str:
    """Default object reprs carry a memory address (``<pandas.io.formats.style.Styler at 0x7fc9b7e3c990>``, the
    plain-text twin of every displayed Styler): the address is dropped, so that re-executions leave them unchanged."""
    return re.sub(r"<([A-Za-z_][\w.]*)( object)? at 0x[0-9a-f]+>", r"<\1 object>", text)


def run_notebook(spec: NotebookSpec, profile: str, out_dir: Path | None = None, progress: bool = True,
                 study: bool | None = None, threads: int | None = None, **params) -> Path:
    """Execute one notebook with papermill; return the path of the executed (scrubbed) copy.

    The study's own run writes its figures, tables and executed copy under ``results/``, any other under
    ``results/scratch/<profile>/``. ``study`` says which (default: :func:`is_study` of these parameters);
    ``out_dir`` moves the executed copy; ``threads`` caps the kernel's CPU threads (``OMP_NUM_THREADS``; default:
    the caller's setting, or PyTorch's own choice of one per core)."""
    from .launch import skip_iri_format_checkers

    skip_iri_format_checkers()  # papermill imports nbformat: 3 s less per process (vireid_lib.launch)
    import papermill
    from papermill.exceptions import PapermillExecutionError

    check_profile(profile)
    params = {"profile": profile, **params}
    check_parameters(spec, params)
    study = is_study(profile, params) if study is None else study
    root = results_dir() if study else scratch_dir(profile)
    out_dir = out_dir or root / "notebooks"
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / f"{spec.name}.ipynb"
    failed = out_dir / f"{spec.name}.failed.ipynb"
    kernel_env = {
        # figures are shown inline (the executed copy is what the reader sees) whatever the caller's backend
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "VIREID_BATCH_RUN": "1",  # progress bars print sparse text lines, not widgets
        STUDY_RUN_ENV: "1" if study else None,  # the only way to write results/ (paths.py)
        "OMP_NUM_THREADS": str(threads) if threads else os.environ.get("OMP_NUM_THREADS"),
    }
    env_before = {k: os.environ.get(k) for k in kernel_env}
    _set_env(kernel_env)
    try:
        with atomic_path(final, suffix=".ipynb") as tmp:
            try:
                papermill.execute_notebook(
                    str(spec.path), str(tmp), parameters=params, kernel_name="python3", cwd=str(NOTEBOOK_DIR),
                    execution_timeout=spec.timeout, progress_bar=progress, log_output=False,
                )
            except PapermillExecutionError as e:
                os.replace(tmp, failed)
                raise NotebookFailed(
                    f"notebook {spec.name} failed in cell {e.cell_index} (execution count {e.exec_count}): "
                    f"{e.ename}: {e.evalue}\n  the executed notebook up to the error is at {failed}"
                ) from None
            scrub(tmp)
            relink_course(tmp, final.parent)
    finally:
        _set_env(env_before)
    with contextlib.suppress(FileNotFoundError):
        failed.unlink()
    missing = [str(p) for p in spec.promised(root) if not p.exists()]
    if missing:
        raise NotebookFailed(f"notebook {spec.name} ran but did not produce {', '.join(missing)}")
    return final


def _set_env(values: dict[str, str | None]) -> None:
    for k, v in values.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def environment_info() -> dict[str, str]:
    import numpy
    import torch

    from .engine import cpu_name

    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": numpy.__version__,
            "platform": platform.platform(), "cpu": cpu_name(), "cpu_count": str(os.cpu_count()),
            "cuda": str(torch.cuda.is_available())}


def reproduce(profile: str = "cpu", only: list[str] | None = None, progress: bool = True,
              params: dict | None = None, jobs: int | None = None) -> dict[str, float]:
    """Run every registered notebook (or ``only`` some) in order, then rewrite the report and the course website
    (:func:`vireid_lib.site.build_site`, from the executed copies). Returns times (s).

    ``params`` (e.g. ``{"budget_minutes": 0}``) go to every notebook whose parameters cell declares them; a
    name no selected notebook declares is an error. The study's profile with no parameters but the mechanics
    (:func:`is_study`) rewrites ``results/``; any other call writes everything, report included, to
    ``results/scratch/<profile>/``. ``jobs``: notebooks at once (default :func:`default_jobs`; with more than
    one, each runs in its own process without a progress bar, see :func:`_run_parallel`), reduced to one when
    something is to be trained (:func:`runs_to_train`)."""
    from .report import write_report  # here, not at the top: a kernel's start() needs no torch
    from .site import build_site

    check_profile(profile)
    specs = [get(n) for n in only] if only else list(NOTEBOOKS)
    params = params or {}
    declared = {s.name: set(notebook_parameters(s.path)) for s in specs}
    every = set().union(*declared.values())
    if len(specs) == 1:  # the notebook's own message, as its start() would say it
        check_parameters(specs[0], params)
    if set(params) - every:
        raise ParameterError(f"no selected notebook has the parameter(s) {_unknown(set(params) - every, every)}; "
                             f"their parameters are {', '.join(sorted(every))} (see `vireid notebooks`)")
    for spec in specs:  # every value checked before the first kernel starts
        check_parameters(spec, {k: v for k, v in params.items() if k in declared[spec.name]})
    study = is_study(profile, params)
    root = results_dir() if study else scratch_dir(profile)
    print(f"==> outputs: {shown(root)}/ " + ("(the study's results)" if study else
          f"(scratch: only the {STUDY_PROFILE} profile with no parameters but {', '.join(sorted(MECHANICS))} "
          "rewrites the study's results/)"), flush=True)
    jobs = max(1, min(default_jobs() if jobs is None else int(jobs), len(specs)))
    # what is to be trained decides whether notebooks may run in parallel; worked out in another process while
    # this one generates the data (both take seconds on a fresh clone)
    # (one notebook at a time needs no answer, but the study's run still records the code fingerprints)
    with _in_background(_run_status if jobs > 1 or study else None, profile, params, study) as to_train:
        if not params.get("data_root"):  # the profile's SYSU-MM01 data (the one the notebooks open) generated before
            from .config import data_config  # any kernel starts: notebook 01's output is the same on a fresh clone
            from .data import dataset_root

            t0 = time.perf_counter()
            data = dataset_root(data_config(profile))
            print(f"==> synthetic data: {shown(data)} ({time.perf_counter() - t0:.1f} s)", flush=True)
        import matplotlib.font_manager  # noqa: F401 - builds matplotlib's font cache on a fresh machine here, so
        # that its "Matplotlib is building the font cache" never lands in a notebook's output
        ahead = to_train()
    if ahead:
        print(f"==> one notebook at a time: {ahead} (notebooks 07-09 read what 05-06 train, and a run trains "
              "with the thread count of one process)", flush=True)
        jobs = 1
    timings_path = root / "timings.json"
    timings = _read_json(timings_path).get(profile, {})
    t_start, started = time.perf_counter(), time.time()

    def record(name: str, seconds: float) -> None:
        timings[name] = round(seconds, 1)
        print(f"    {name}: {timings[name]:.1f} s", flush=True)
        all_t = _read_json(timings_path)
        all_t[profile] = timings
        atomic_write_json(timings_path, all_t)

    kwargs = {s.name: {k: v for k, v in params.items() if k in declared[s.name]} for s in specs}
    if jobs == 1:
        for spec in specs:
            print(f"==> {spec.name} (profile={profile})", flush=True)
            t0 = time.perf_counter()
            run_notebook(spec, profile, progress=progress, study=study, **kwargs[spec.name])
            record(spec.name, time.perf_counter() - t0)
    else:
        _run_parallel(specs, profile, study, kwargs, jobs, record)
    if not only:  # the whole course ran: what it no longer writes goes, and its wall-clock is kept
        removed = prune_outputs(root, started)
        if removed:
            print(f"==> removed {len(removed)} output(s) that no notebook writes any more: {', '.join(removed)}",
                  flush=True)
        all_t = _read_json(timings_path)
        all_t.setdefault("wall_clock", {})[profile] = {"seconds": round(time.perf_counter() - t_start, 1),
                                                       "jobs": jobs}
        atomic_write_json(timings_path, all_t)
    manifest = {
        "profile": profile, "parameters": params, "environment": environment_info(),
        "files": {str(p.relative_to(root)): sha256_file(p)
                  for spec in NOTEBOOKS for p in spec.promised(root) if p.exists()},
    }
    atomic_write_json(root / "manifest.json", manifest)
    write_report(NOTEBOOKS, profile, root)
    build_site(NOTEBOOKS, profile, root)  # the course website, from the executed copies (none run again)
    print("summary: " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items())
          + f"; {sum(timings.values()) / 60:.1f} min of notebook time, {(time.perf_counter() - t_start) / 60:.1f} "
          f"min wall-clock with {jobs} notebook(s) at a time", flush=True)
    return timings


def prune_outputs(root: Path, since: float) -> list[str]:
    """After a complete run of every notebook: remove the figures, tables and executed copies under ``root`` that
    this run did not write (every output is rewritten by each run, so a file older than ``since``, a ``time.time()``,
    is a leftover of a notebook or figure that no longer exists). Returns their paths relative to ``root``."""
    removed = []
    for folder in ("figures", "tables", "notebooks"):
        for p in sorted((root / folder).glob("*")):
            if p.is_file() and p.stat().st_mtime < since:
                p.unlink()
                removed.append(p.relative_to(root).as_posix())
    return removed


def default_jobs() -> int:
    """Notebooks at once in :func:`reproduce`: two on a machine with at least two cores (each kernel then gets
    cores ÷ 2 threads), else one."""
    return 2 if (os.cpu_count() or 1) >= 2 else 1


def runs_to_train(profile: str, params: dict) -> str:
    """What the notebooks would train with these parameters, in words (``""``: nothing): pending or stale runs of the
    study's grids (unless ``budget_minutes`` is 0) and missing models that figures are drawn from. Notebooks run in
    parallel only when this is empty, so that a parallel run only reads committed runs and evaluates committed
    weights (which gives the same numbers with one thread or several; a run trained with another thread count would
    be another model). With ``data_root`` or ``seeds`` it is not worked out: assumed not empty."""
    from .experiments import grid_runs, is_finished, showcased_runs, status, unique_runs
    from .grids import GRIDS

    if params.get("data_root") or params.get("seeds"):
        return "real data or chosen seeds"
    missing = [c for c in showcased_runs(profile) if not is_finished(c)]
    pending = []
    if float(params.get("budget_minutes", 1)) != 0:
        states = [status(c) for c in unique_runs(grid_runs(list(GRIDS), profile))]
        pending = [st for st in states if st == "pending" or st.startswith("stale")]
    parts = [f"{len(pending)} grid run(s) pending or stale"] if pending else []
    parts += [f"{len(missing)} model(s) that figures are drawn from to train"] if missing else []
    return ", ".join(parts)


def _run_status(profile: str, params: dict, study: bool) -> str:
    """:func:`runs_to_train`; for the study (unless ``budget_minutes=0``, which looks at no grid run), then also
    the record of the code fingerprints of every grid run, pending ones included, of their pretrainings and of the
    showcased models (:func:`vireid_lib.fingerprint.write_code_record`: committed, so that a fresh clone traces
    none of them)."""
    ahead = runs_to_train(profile, params)
    if study and float(params.get("budget_minutes", 1)) != 0:
        from .experiments import grid_runs, showcased_runs, unique_runs
        from .fingerprint import write_code_record
        from .grids import GRIDS
        from .runs import run_fingerprint

        for cfg in unique_runs(grid_runs(list(GRIDS), profile)) + showcased_runs(profile):
            run_fingerprint(cfg)  # its code fingerprints and its pretraining's: read, or traced when not recorded
        write_code_record()
    return ahead


@contextlib.contextmanager
def _in_background(fn, *args):
    """Start ``fn(*args)`` in a spawned process (a fresh interpreter: none of this one's state) and yield a function
    that waits for its result and returns it, or raises its exception (a :class:`VireidError` with its traceback
    when the exception cannot be rebuilt here, or when the process died without an answer). The process is stopped
    on leaving the block, finished or not (an error or Ctrl-C in the block does not wait for it); it ignores Ctrl-C
    itself. ``fn`` None yields a function returning ``""``."""
    if fn is None:
        yield lambda: ""
        return
    import multiprocessing
    from multiprocessing.connection import wait

    ctx = multiprocessing.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_answer, args=(send, fn, args))  # not a daemon: fn may start processes itself
    proc.start()
    send.close()

    def result():
        wait([receive, proc.sentinel])
        try:
            kind, value, text = receive.recv()
        except EOFError:  # the process ended without an answer: killed, out of memory, crashed
            proc.join()
            raise VireidError(f"{getattr(fn, '__name__', fn)} ended without an answer (its process exited with "
                              f"code {proc.exitcode}: killed, out of memory or crashed); run again, or with "
                              f"`--jobs 1` (one notebook at a time, no such check)") from None
        if kind == "ok":
            return value
        try:
            exc = pickle.loads(value)
        except Exception:  # an exception class that cannot be rebuilt from its pickle
            raise VireidError(f"{getattr(fn, '__name__', fn)} failed:\n{text}") from None
        raise exc

    try:
        yield result
    finally:
        receive.close()
        if proc.is_alive():
            proc.terminate()
        proc.join()


def _answer(conn, fn, args) -> None:
    """In :func:`_in_background`'s process: ``("ok", result, "")`` or ``("error", pickled exception, traceback)``."""
    import signal
    import traceback

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent, which stops this process
    try:
        answer = ("ok", fn(*args), "")
    except BaseException as e:  # noqa: BLE001 - every failure goes back to the parent
        text = traceback.format_exc()
        try:
            answer = ("error", pickle.dumps(e), text)
        except Exception:
            answer = ("error", b"", text)
    conn.send(answer)
    conn.close()


def _run_one(spec: NotebookSpec, notebook_dir: Path, profile: str, study: bool, threads: int,
             out_dir: Path | None, params: dict) -> float:
    """One notebook, in a worker process of :func:`_run_parallel` (a fresh interpreter: it is told the notebooks'
    folder); returns its wall-clock seconds."""
    global NOTEBOOK_DIR
    NOTEBOOK_DIR = notebook_dir
    t0 = time.perf_counter()
    run_notebook(spec, profile, out_dir=out_dir, progress=False, study=study, threads=threads, **params)
    return time.perf_counter() - t0


def _run_parallel(specs: list[NotebookSpec], profile: str, study: bool, kwargs: dict[str, dict], jobs: int,
                  record, out_dir: Path | None = None) -> None:
    """Run ``specs`` ``jobs`` at a time, in registry order, each in its own process and kernel with cores ÷ jobs
    threads (:func:`reproduce` does so only when nothing is to be trained: :func:`runs_to_train`). After a failure
    nothing new starts; the notebooks running finish, then the first failure is raised. The notebooks write
    disjoint files."""
    import concurrent.futures as cf
    import multiprocessing

    threads = max(1, (os.cpu_count() or 1) // jobs)
    print(f"==> {len(specs)} notebooks, {jobs} at a time ({threads} thread(s) each), profile={profile}", flush=True)
    pending, running, failure = list(specs), {}, None
    with cf.ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        while pending or running:
            while pending and len(running) < jobs and failure is None:
                nxt = pending.pop(0)
                print(f"==> {nxt.name} started", flush=True)
                running[pool.submit(_run_one, nxt, NOTEBOOK_DIR, profile, study, threads, out_dir,
                                    kwargs[nxt.name])] = nxt
            done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
            for future in done:
                spec = running.pop(future)
                try:
                    record(spec.name, future.result())
                except Exception as e:  # the first failure is raised once the notebooks running have finished
                    print(f"    {spec.name} failed", flush=True)
                    failure = failure or e
                    pending.clear()
    if failure is not None:
        raise failure


def _read_json(path: Path) -> dict:
    import json

    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}
