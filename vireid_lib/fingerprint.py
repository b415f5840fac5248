"""Numeric fingerprints: what a finished run's numbers depend on, so that a stale result is never taken for a fresh one.

A run's *identity* (the name of its folder, :func:`vireid_lib.runs.run_identity`) is what was asked for: the
configuration and the data it names. Its *fingerprint*, recorded in ``final.json`` and in every checkpoint, is how
the numbers were computed:

- ``code``: the training and evaluation code, as it acts on this configuration. A few training steps of a tiny copy
  of the configuration's network (width 4, 32×16 images, float64, fixed random images) go through the very functions
  training uses (the sampler, :func:`~vireid_lib.transforms.train_transform`, the model, :func:`~vireid_lib.losses.
  total_loss`, the optimiser and its schedule, :func:`~vireid_lib.training.train_step`), and the protocols' metrics
  run on a fixed distance matrix. Loss values, parameter statistics, sampled indices, learning-rate factors and
  metrics, each rounded to 6 significant digits relative to its tensor's scale, are hashed, twice: ``code`` on the
  rounding grid, ``code_alt`` on the grid shifted by a quarter unit (:func:`trace_hashes`). The trace runs on one thread
  whatever the caller's thread count.
- ``train_data`` / ``test_data``: the data. For the synthetic datasets, the generator's own fingerprint for that
  dataset (the bytes of a small dataset it writes with a fixed spec, :func:`generator_fingerprint`; the values the
  committed runs were trained with are committed beside them); for real data, the content hashes of
  the training and test image files (:func:`vireid_lib.data.cache.file_digests`).
- ``pretraining``, for a run whose backbone starts from a synthetic pretraining (:mod:`vireid_lib.pretraining`):
  that run's identity, code and training-data fingerprints and the sha256 of its trained weights
  (:func:`vireid_lib.runs.pretraining_fingerprint`).

Editing :func:`~vireid_lib.losses.symmetric_kl` changes the ``code`` fingerprint of every configuration with deep
mutual learning and of no other; a rename, a reformatting or a rewrite that computes the same numbers changes
nothing (float64 and the rounding absorb the last-digit differences of another order of operations, or of another
CPU: such noise, about 1e-11 of the scale, can push a number across a boundary of one grid but then not across one
of the other, so the same code agrees on ``code`` or ``code_alt`` but in rare cases, :func:`_quantise`). A run
whose code fingerprint (both hashes) or training data fingerprint differs from today's is *stale*: the tables mark it
and the grid trains it again; one whose test data alone changed is evaluated again with its trained model.

Fingerprints are cached on disk (``data/cache/fingerprints-*.json``) under a hash of the library's source files and
of the torch and numpy versions, so they are computed once per version of the code (about 0.2 s per distinct
configuration). The study's are also committed, beside its runs: the code fingerprints of its grids
(:func:`code_record_path`) and the generator's (:func:`generator_record_path`), read first by a fresh clone.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .io import atomic_write_json, stable_hash

#: significant digits kept of every number that enters a fingerprint
DIGITS = 6
#: the tiny network and data the code fingerprint trains
TINY = {"width": 4, "fusion_channels": 4, "height": 32, "image_width": 16, "classes": 4, "steps": 3}

LIBRARY = Path(__file__).resolve().parent


class _Numbers:
    """Numbers of the trace, kept raw until :func:`_quantised` rounds them onto one of two grids."""

    __slots__ = ("a",)

    def __init__(self, a: np.ndarray):
        self.a = a


def _q(x: Any) -> _Numbers:
    """The numbers of ``x`` as they enter the trace (float64, raveled); quantised later by :func:`_quantise`."""
    return _Numbers(np.asarray(x, dtype=np.float64).ravel().copy())


def _quantise(x: Any, grid: str = "round") -> list:
    """Numbers quantised to ``DIGITS`` significant digits relative to their array's largest magnitude (so values
    that cancel to ~1e-17 become 0 instead of noise), as plain ints: stable under last-digit differences.

    ``grid="round"`` rounds to the nearest unit (boundaries at half units); ``grid="shifted"`` rounds on a grid
    shifted by a quarter unit (boundaries at three quarters of a unit: a quarter unit away from the rounding grid's,
    from whole units such as 0, 1 or an exact maximum, and from half units). Last-digit noise (another CPU's order of
    reduction: about 1e-11 of the scale after the tiny training) moves a number across a boundary of one grid only
    when it sits within that noise of the boundary, and then it is a quarter unit away from every boundary of the
    other grid. Both hashes change for the same code only in two rare cases: two numbers of the trace each on a
    boundary of a different grid, or an array's largest magnitude on a power of ten (its unit, and so every number of
    the array, changes on both grids)."""
    a = x.a if isinstance(x, _Numbers) else np.asarray(x, dtype=np.float64).ravel()
    if not len(a):
        return []
    if not np.all(np.isfinite(a)):
        return [repr(float(v)) for v in a]  # NaN/inf: exact
    scale = float(np.abs(a).max())
    if scale == 0.0:
        return [0] * len(a)
    unit = 10.0 ** (np.floor(np.log10(scale)) - DIGITS + 1)
    q = np.rint(a / unit) if grid == "round" else np.floor(a / unit + 0.25)
    return [int(v) for v in q] + [int(np.log10(unit))]


def _quantised(trace: Any, grid: str) -> Any:
    """The trace with every :class:`_Numbers` quantised onto ``grid`` (see :func:`_quantise`)."""
    if isinstance(trace, _Numbers):
        return _quantise(trace, grid)
    if isinstance(trace, dict):
        return {k: _quantised(v, grid) for k, v in trace.items()}
    if isinstance(trace, (list, tuple)):
        return [_quantised(v, grid) for v in trace]
    return trace


def trace_hashes(trace: dict) -> dict[str, str]:
    """``{"code": ..., "code_alt": ...}``: the trace hashed on the rounding grid and on the grid shifted by a quarter
    unit (:func:`_quantise`). Two fingerprints of the same code almost always agree on at least one of them (the
    rare exceptions: :func:`_quantise`). A change of the code that moves every number by less than a quarter unit
    (6 significant digits) may change one hash and not the other, and then goes unnoticed: such a change does not
    alter the numbers a run reports."""
    return {"code": stable_hash(_quantised(trace, "round"), n=16),
            "code_alt": stable_hash(_quantised(trace, "shifted"), n=16)}


def source_hash(*paths: Path) -> str:
    """sha256 of the ``.py`` files under ``paths`` (default: the whole library), names and contents, plus the torch
    (without a build's local tag, as in :func:`code_hash`) and numpy versions: the key under which fingerprints are
    cached on disk and the committed code fingerprints are recorded (a few milliseconds; :func:`code_hash` parses
    every file)."""
    import torch

    h = hashlib.sha256(f"torch {torch.__version__.split('+')[0]} numpy {np.__version__}".encode())
    for root in paths or (LIBRARY,):
        files = sorted(root.rglob("*.py")) if root.is_dir() else [root]
        for p in files:
            h.update(p.relative_to(LIBRARY).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def _without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


def _canonical(node: Any) -> str:
    """A syntax tree as text, fields by name, leaving out empty and ``None`` fields: unlike :func:`ast.dump`, whose
    output gains fields that are empty here (``type_params=[]`` in Python 3.12) and drops defaults (3.13), it stays
    the same across Python versions for the same code."""
    if isinstance(node, ast.AST):
        fields = [(k, v) for k, v in ast.iter_fields(node) if v is not None and v != []]
        return f"{type(node).__name__}({', '.join(f'{k}={_canonical(v)}' for k, v in fields)})"
    if isinstance(node, list):
        return f"[{', '.join(_canonical(x) for x in node)}]"
    return repr(node)


def code_hash(*paths: Path) -> str:
    """Like :func:`source_hash`, but of what the code *does*: each file's syntax tree without its docstrings (comments
    and layout never reach the tree), so that editing a docstring, a comment or the line breaks keeps the key. The
    key of results computed once from committed inputs and kept beside them (the generator fingerprints' record, the
    realism table, each showcased model's Grad-CAM summary): a documentation edit must not make a fresh clone compute
    them again, nor a generator's docstring make every run stale. With the pinned versions of numpy and torch
    (without a build's local tag: a CPU-only ``2.14.1+cpu`` is the same release as ``2.14.1+cu130``), and the tree
    written by :func:`_canonical`, not :func:`ast.dump`, so that neither the wheel nor the Python version moves it."""
    import torch

    h = hashlib.sha256(f"torch {torch.__version__.split('+')[0]} numpy {np.__version__}".encode())
    for root in paths:
        files = sorted(root.rglob("*.py")) if root.is_dir() else [root]
        for p in files:
            h.update((p.relative_to(LIBRARY).as_posix() if p.is_relative_to(LIBRARY) else p.name).encode())
            h.update(_canonical(_without_docstrings(ast.parse(p.read_text(encoding="utf-8")))).encode())
    return h.hexdigest()[:16]


class _DiskCache:
    """``{key: fingerprint}`` in one JSON file per source hash under ``data/cache/`` (atomic rewrites)."""

    def __init__(self, kind: str, src: str):
        from .paths import cache_dir

        self.path = cache_dir() / f"fingerprints-{kind}-{src}.json"
        try:
            self.data = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError, OSError):
            self.data = {}

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def put(self, key: str, value: Any) -> None:
        self.data[key] = value
        try:
            atomic_write_json(self.path, self.data)
        except OSError:  # a read-only data folder: the fingerprint is only recomputed next time
            pass


# ---------------------------------------------------------------------------------------------------------
# Code
# ---------------------------------------------------------------------------------------------------------
def code_signature(cfg) -> dict:
    """The parts of a configuration the training and evaluation code's numerics depend on (not the seed, the data
    spec, the image size or the run mechanics): the key of :func:`code_fingerprint`."""
    from .config import asdict

    d = asdict(cfg)
    model = {k: v for k, v in d["model"].items() if k not in ("width", "fusion_channels", "pretrained", "weights_path")}
    train = {k: v for k, v in d["train"].items()
             if k not in ("eval_every", "checkpoint_every", "device", "threads", "channels_last", "compile",
                          "max_batches")}
    return {"aug": d["aug"], "model": model, "loss": d["loss"], "train": train, "dataset": d["data"]["dataset"]}


def code_fingerprint(cfg) -> str:
    """The numeric fingerprint of the code that trains and evaluates ``cfg`` (see the module docstring)."""
    return code_fingerprints(cfg)["code"]


def code_fingerprints(cfg) -> dict[str, str]:
    """``{"code": ..., "code_alt": ...}`` of ``cfg``: its code trace hashed on two grids (:func:`trace_hashes`)."""
    key, signature = _signature_key(cfg)
    return dict(_code_fingerprint_cached(key, signature))


_SIGNATURES: dict[str, tuple[str, str]] = {}


def _signature_key(cfg) -> tuple[str, str]:
    """``(key, signature as JSON)`` of a configuration, memoised by its ``repr`` (a table's status pass asks for the
    same few configurations hundreds of times, and each :func:`code_signature` copies the whole configuration; by
    ``repr``, not equality, since ``0`` and ``0.0`` are equal but written out differently)."""
    memo = repr(cfg)
    hit = _SIGNATURES.get(memo)
    if hit is None:
        sig = code_signature(cfg)
        hit = _SIGNATURES[memo] = (stable_hash(sig, n=16), json.dumps(sig, sort_keys=True))
    return hit


#: the code fingerprints of the study's runs, by the library's source hash (:func:`source_hash`; committed)
CODE_RECORD_NAME = "code-fingerprints.json"
#: every code fingerprint this process looked up, by signature key: what :func:`write_code_record` records
_looked_up: dict[str, dict] = {}


def code_record_path() -> Path:
    """``results/runs/code-fingerprints.json``: ``{library source hash: {signature key: {"code", "code_alt"}}}``, the
    code fingerprints of the study's grids for the committed code, written by ``make reproduce``
    (:func:`write_code_record`) and committed with the runs. A fresh clone reads them instead of tracing every
    configuration again (about 15 s of a fresh clone's reproduce), and another CPU reads the very fingerprints the
    committed runs were judged with. Only the current code's entry is read: any edit of the library (a docstring's
    too: the key is the files' bytes, quick to hash) makes the fingerprints traced again, and the next
    ``make reproduce`` records them for the edited code."""
    from .paths import results_dir

    return results_dir() / "runs" / CODE_RECORD_NAME


@functools.lru_cache(maxsize=512)
def _code_fingerprint_cached(key: str, signature: str) -> tuple:
    hit = _read_record(code_record_path()).get(_library_source_hash(), {}).get(key)
    if not _is_code_fingerprint(hit):
        cache = _DiskCache("code", _library_source_hash())
        hit = cache.get(key)
        if not _is_code_fingerprint(hit):
            hit = trace_hashes(_code_trace(json.loads(signature)))
            cache.put(key, hit)
    _looked_up[key] = hit
    return tuple(sorted(hit.items()))


def _is_code_fingerprint(hit: Any) -> bool:
    return isinstance(hit, dict) and set(hit) == {"code", "code_alt"} and all(isinstance(v, str) for v in hit.values())


def write_code_record() -> Path:
    """Record the code fingerprints this process looked up (:func:`_code_fingerprint_cached`), under the library's
    current source hash, replacing every older code's entry: ``make reproduce`` calls it for the study after asking
    for the fingerprints of every grid run, their pretrainings and the showcased models
    (``vireid_lib.notebooks._run_status``), so that the record holds exactly the study's configurations. Returns its
    path."""
    path = code_record_path()
    record = {_library_source_hash(): dict(sorted(_looked_up.items()))}
    if _read_record(path) != record:  # an unchanged record is not rewritten
        atomic_write_json(path, record)
    return path


@functools.lru_cache(maxsize=1)
def _library_source_hash() -> str:
    return source_hash()


def _code_trace(sig: dict) -> dict:
    """Run the tiny training and the protocols' metrics; return every number they produce, raw (:class:`_Numbers`,
    quantised by :func:`trace_hashes`)."""
    import torch

    from . import training as engine  # the step, optimiser and schedule training uses
    from .config import AugmentConfig, LossConfig, ModelConfig, TrainConfig
    from .data.sampler import IdentitySampler
    from .models import build_model
    from .transforms import make_generator, test_transform

    aug = AugmentConfig(**_tuples(sig["aug"]))
    loss = LossConfig(**sig["loss"])
    model_cfg = ModelConfig(**_tuples(sig["model"]), width=TINY["width"], fusion_channels=TINY["fusion_channels"],
                            pretrained=False)
    train = TrainConfig(**_tuples(sig["train"]))
    cfg = _TinyConfig(aug=aug, loss=loss, model=model_cfg, train=train)
    trace: dict[str, Any] = {"lr": _q([engine.lr_factor(e, cfg) for e in range(train.epochs)])}

    # the sampler: the first batches of two epochs over a fixed label layout (uneven counts per identity)
    P, K = min(train.P, TINY["classes"]), min(train.K, 4)
    vis_lab = np.repeat(np.arange(TINY["classes"]), [3, 5, 6, 2][: TINY["classes"]])
    ir_lab = np.repeat(np.arange(TINY["classes"]), [4, 2, 5, 3][: TINY["classes"]])
    sampler = IdentitySampler(vis_lab, ir_lab, P, K, seed=0, replacement=train.sampler)
    trace["sampler"] = [[v.tolist(), i.tolist()] for e in (0, 3) for b, (v, i) in enumerate(sampler.epoch(e))
                        if b < 2]

    # a few training steps of the tiny network, in float64, on fixed random images
    was = torch.get_default_dtype()
    threads = torch.get_num_threads()
    rng_state = torch.get_rng_state()
    try:
        # one order of reduction: another thread count moves last digits (and, rarely, a rounded digit)
        torch.set_num_threads(1)
        torch.manual_seed(0)
        H, W = TINY["height"], TINY["image_width"]
        model = build_model(model_cfg, TINY["classes"], H, W).double()
        opt = engine.build_optimizer(model, cfg)
        engine.set_lr(opt, 0, cfg)
        data = torch.Generator().manual_seed(1)
        gen = make_generator(2)
        labels = torch.arange(P).repeat_interleave(K)
        losses = []
        for step in range(TINY["steps"]):
            vis = torch.rand(P * K, 3, H, W, generator=data, dtype=torch.float64)
            ir = torch.rand(P * K, 1, H, W, generator=data, dtype=torch.float64).expand(-1, 3, -1, -1)
            values = engine.train_step(model, model, opt, None, vis, ir.contiguous(), torch.cat([labels, labels]),
                                       gen, cfg, torch.device("cpu"), where=f"fingerprint step {step}")
            losses.append([values[k] for k in sorted(values)] + [len(values)])
        trace["losses"] = [_q(v) for v in losses]
        trace["parts"] = sorted(values)
        trace["params"] = {n: _q([p.sum().item(), p.abs().sum().item(), (p * p).sum().item()])
                           for n, p in model.state_dict().items() if p.dtype.is_floating_point}
        model.eval()
        with torch.no_grad():
            x = test_transform(torch.rand(3, 3, H, W, generator=data, dtype=torch.float64))
            trace["embed"] = {m: _q(model.embed(x, m)) for m in ("visible", "infrared")}
    finally:
        torch.set_rng_state(rng_state)
        torch.set_default_dtype(was)
        torch.set_num_threads(threads)
    trace["metrics"] = _protocol_trace()
    return trace


def _protocol_trace() -> dict:
    """The protocols' metrics on a fixed random problem (ties included): SYSU-MM01's trials and camera rule, RegDB."""
    from .data.common import ImageList
    from .evaluation import evaluate_regdb, evaluate_sysu

    rng = np.random.default_rng(0)
    nq, ng = 24, 40
    q = ImageList(Path("."), tuple(f"q{i}" for i in range(nq)), rng.integers(1, 7, nq), rng.choice([3, 6], nq),
                  np.full(nq, -1), "infrared", "q")
    gp = np.sort(rng.integers(1, 7, ng))
    g = ImageList(Path("."), tuple(f"g{i}" for i in range(ng)), gp, rng.choice([1, 2, 4, 5], ng), np.full(ng, -1),
                  "visible", "g")
    order = np.lexsort((np.arange(ng), g.cams, g.pids))
    g = g.subset(order)
    qf, gf = rng.normal(size=(nq, 5)).round(1), rng.normal(size=(ng, 5)).round(1)
    out = {}
    for shots in (1, 10):
        r = evaluate_sysu(qf, gf, q, g, shots=shots, trials=3)
        out[f"sysu{shots}"] = _q([r.mean[k] for k in sorted(r.mean)])
    for d in ("v2t", "t2v"):
        m = evaluate_regdb(qf[:20], gf[:20], q.subset(range(20)), g.subset(range(20)), d).summary()
        out[d] = _q([m[k] for k in sorted(m)])
    return out


@dataclasses.dataclass(frozen=True)
class _TinyConfig:
    """What :func:`~vireid_lib.engine.train_step` and the optimiser read of an experiment's configuration."""

    aug: Any
    loss: Any
    model: Any
    train: Any


def _tuples(d: dict) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}


# ---------------------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------------------
#: the generator fingerprints the committed runs were trained with, by the generator's code hash
#: (:func:`code_hash`: docstrings and comments do not count; committed)
RECORD_NAME = "generator-fingerprints.json"


def generator_record_path() -> Path:
    """``results/runs/generator-fingerprints.json``: ``{generator code hash: {dataset: fingerprint}}``, written by
    the study's own runs and committed with them, so that a fresh clone on another CPU reads the very fingerprints
    the committed runs were trained with instead of computing them again (another CPU's float kernels may move one
    pixel of one image across a rounding boundary, and the fingerprint hashes bytes)."""
    from .paths import results_dir

    return results_dir() / "runs" / RECORD_NAME


def _generator_source() -> str:
    from .data import synthetic

    f = Path(synthetic.__file__).resolve()
    return code_hash(f.parent if f.name == "__init__.py" else f)


@functools.lru_cache(maxsize=4)
def generator_fingerprint(dataset: str = "sysu") -> str:
    """The synthetic generator's fingerprint for one dataset (``"sysu"`` or ``"regdb"``): a hash of every byte (and
    file name) of the small dataset it writes with a fixed spec (the ``smoke`` profile's), in a temporary folder.

    One per dataset, so that a change that alters only RegDB's images leaves the SYSU-MM01 runs fresh. Looked up
    first in the committed record (:func:`generator_record_path`, keyed by the generator's code hash), then in the
    disk cache; computed otherwise (a few seconds), and added to the record when this process is the study's own run
    (``VIREID_STUDY_RUN=1``: the grid), so that the record travels with the runs it describes."""
    from .config import SYNTHETIC_PROFILES
    from .data import synthetic
    from .paths import study_run

    writers = {"sysu": synthetic.write_sysu, "regdb": synthetic.write_regdb}
    if dataset not in writers:
        raise ValueError(f"generator_fingerprint: dataset must be one of {sorted(writers)}, got {dataset!r}")
    src = _generator_source()
    record_path = generator_record_path()
    record = _read_record(record_path)
    hit = record.get(src, {}).get(dataset)
    if hit is None:
        cache = _DiskCache("generator", src)
        hit = cache.get(dataset)
        if hit is None:
            with tempfile.TemporaryDirectory(prefix="vireid-fingerprint-") as tmp:
                root = Path(tmp) / dataset
                writers[dataset](SYNTHETIC_PROFILES["smoke"], root, workers=1)
                hit = tree_hash(root)
            cache.put(dataset, hit)
        if study_run():
            record = _read_record(record_path)  # another worker may have added the other dataset meanwhile
            record.setdefault(src, {})[dataset] = hit
            atomic_write_json(record_path, record)
    return hit


def tree_hash(root: Path) -> str:
    """16 hex digits of SHA-256 over every file under ``root``: its path relative to ``root``, then its bytes, in
    sorted path order (the generator's fingerprint; the generation benchmark's same-bytes check)."""
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(root).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def _read_record(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not a readable record of fingerprints ({e}); restore it with "
                         f"`git checkout -- {path.name}` in its folder, or delete it to compute them again") from e
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ValueError(f"{path}: expected {{hash of the code: {{key: fingerprint}}}}; restore it from git or "
                         f"delete it to compute the fingerprints again")
    return data


def data_fingerprints(cfg) -> dict[str, str]:
    """``{"train_data": ..., "test_data": ...}`` of a configuration's dataset (see the module docstring)."""
    if cfg.data.is_synthetic:
        dataset = "regdb" if cfg.data.dataset == "regdb" else "sysu"
        g = stable_hash({"generator": generator_fingerprint(dataset), "dataset": dataset}, n=16)
        return {"train_data": g, "test_data": g}
    from .data import open_dataset
    from .data.cache import file_digests

    ds = open_dataset(cfg.data, verbose=False)
    out = {}
    for part, lists in (("train_data", ds.train_lists(cfg.data)), ("test_data", ds.test_lists(cfg.data))):
        out[part] = stable_hash([(lst.name, lst.paths, file_digests(lst)) for lst in lists], n=16)
    return out


def fingerprint(cfg) -> dict[str, str]:
    """``code`` (and ``code_alt``), ``train_data`` and ``test_data`` of a configuration. A run's full fingerprint
    adds, for a run that starts from a synthetic pretraining, ``pretraining``
    (:func:`vireid_lib.runs.run_fingerprint`); :func:`staleness` compares both."""
    return {**code_fingerprints(cfg), **data_fingerprints(cfg)}


def weights_digest(path: Path) -> str | None:
    """The sha256 that a trained ``model.pt`` records of its weights (``None`` when the file does not exist or
    predates checksums), read once per version of the file."""
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return _weights_digest(str(path), st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)


@functools.lru_cache(maxsize=16)
def _weights_digest(path: str, inode: int, mtime_ns: int, ctime_ns: int, size: int) -> str | None:  # cache key: the
    # file's version (ctime changes on any write or rename, even when a copy keeps the source's mtime)
    import torch

    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # unreadable: loading it names the problem (engine.load_model); here it has no digest
        return None
    return saved.get("sha256") if isinstance(saved, dict) else None


def _code_changed(recorded: dict, current: dict) -> bool:
    """The code fingerprints differ on both grids (the same code agrees on at least one: :func:`trace_hashes`); a
    record with one hash only (older runs) is compared on it."""
    return recorded.get("code") != current["code"] and ("code_alt" not in recorded
                                                         or recorded["code_alt"] != current.get("code_alt"))


def _pretraining_changed(recorded: dict | None, current: dict) -> bool:
    """The pretraining a run started from is not today's (see :func:`vireid_lib.runs.pretraining_fingerprint`)."""
    if not recorded:
        return True
    return any(recorded.get(k) != current.get(k) for k in ("identity", "train_data", "weights")) \
        or _code_changed(recorded, current)


def staleness(recorded: dict | None, current: dict) -> str | None:
    """Why a finished run is stale, comparing its recorded fingerprint with today's: ``"code"``, ``"pretraining"``
    (the synthetic pretraining its backbone started from changed: :func:`vireid_lib.runs.pretraining_fingerprint`) or
    ``"train data"`` (train it again), ``"test data"`` (evaluate it again), or ``None`` (fresh). A run recorded
    before fingerprints existed is stale (``"code"``)."""
    if not recorded:
        return "code"
    if _code_changed(recorded, current):
        return "code"
    if "pretraining" in current and _pretraining_changed(recorded.get("pretraining"), current["pretraining"]):
        return "pretraining"
    if recorded.get("train_data") != current["train_data"]:
        return "train data"
    if recorded.get("test_data") != current["test_data"]:
        return "test data"
    return None


__all__ = ["code_fingerprint", "code_fingerprints", "code_signature", "data_fingerprints", "fingerprint",
           "trace_hashes", "generator_fingerprint", "weights_digest",
           "code_hash", "generator_record_path", "source_hash", "staleness"]
