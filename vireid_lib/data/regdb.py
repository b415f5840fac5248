"""RegDB reader (real or synthetic): ``Visible/``, ``Thermal/`` and ``idx/{train,test}_{visible,thermal}_{t}.txt``.

Each idx line is ``<relative/path> <integer label>``; trial ``t`` ∈ 1..10 holds half the identities for
training and half for testing (real: 206 + 206 ids, 10 aligned visible/thermal images each). As in the
reference (AGW ``eval_regdb``), the file's label is the identity used by the evaluation, all visible images
are camera 1 and all thermal images camera 2 (so no gallery entry is ever removed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError
from .common import ImageList, confined, file_problem, read_text_lines

MODALITY_FOLDERS = {"visible": "Visible", "thermal": "Thermal"}
CAMS = {"visible": 1, "thermal": 2}


class RegDB:
    """The RegDB layout under ``root``; its evaluation protocol is ``PROTOCOL`` (one split per run)."""

    PROTOCOL = "regdb"

    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise DataError(
                f"RegDB root {self.root} does not exist or is not a folder. Expected Visible/, Thermal/ and idx/ "
                f"(see data/README.md for how to obtain the dataset and its split files)."
            )
        missing = [d for d in ("Visible", "Thermal", "idx") if not (self.root / d).is_dir()]
        if missing:
            raise DataError(
                f"RegDB root {self.root} lacks {', '.join(missing)}/: expected Visible/, Thermal/ and idx/ "
                f"(the idx split files come separately from the dataset, see data/README.md)."
            )

    def split(self, split: str, modality: str, trial: int) -> ImageList:
        """The images of ``idx/{split}_{modality}_{trial}.txt``."""
        if split not in ("train", "test") or modality not in MODALITY_FOLDERS or not 1 <= trial <= 10:
            raise DataError(f"no RegDB split ({split!r}, {modality!r}, trial {trial}): use train/test, "
                            f"visible/thermal, trial 1..10")
        path = self.root / "idx" / f"{split}_{modality}_{trial}.txt"
        if not path.is_file():
            raise DataError(
                f"{path} is missing: RegDB's split files are idx/{{train,test}}_{{visible,thermal}}_{{1..10}}.txt"
            )
        paths, labels, linenos = [], [], []
        for lineno, line in enumerate(read_text_lines(path, "lines '<relative/path> <integer label>'"), 1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) != 2:
                raise DataError(f"{path}:{lineno}: expected '<relative/path> <integer label>', got {line!r}")
            try:
                label = int(parts[1])
            except ValueError:
                raise DataError(f"{path}:{lineno}: label {parts[1]!r} is not an integer (line {line!r})") from None
            if label < 0:
                raise DataError(f"{path}:{lineno}: label {label} is negative; RegDB's labels are identity numbers "
                                f"0, 1, 2, ... (line {line!r})")
            image = confined(self.root, parts[0], f"{path}:{lineno}")
            problem = file_problem(image)
            if problem == "missing (listed by the dataset but not on disk)":
                raise DataError(f"{path}:{lineno}: image {image} does not exist")
            if problem:
                raise DataError(f"{path}:{lineno}: image {image} is {problem}")
            paths.append(parts[0])
            labels.append(label)
            linenos.append(lineno)
        if not paths:
            raise DataError(f"{path} lists no images")
        lab = np.array(labels, np.int64)
        n_ids = len(set(labels))
        if split == "train" and lab.max() >= n_ids:  # the labels are the classes of the identity loss: 0..C-1
            i = int(np.argmax(lab >= n_ids))
            raise DataError(f"{path}:{linenos[i]}: training label {labels[i]} is out of range: the file lists {n_ids} "
                            f"identities, whose labels must be the class numbers 0..{n_ids - 1} (each once per "
                            f"identity, as RegDB's split files number them)")
        kind = "visible" if modality == "visible" else "infrared"
        return ImageList(self.root, tuple(paths), lab.copy(), np.full(len(lab), CAMS[modality], np.int64),
                         lab if split == "train" else np.full(len(lab), -1, np.int64), kind,
                         f"regdb-{split}-{modality}-{trial}")

    def train(self, trial: int) -> tuple[ImageList, ImageList]:
        """Training images of a trial: (visible, thermal), labels shared by both modalities."""
        vis, th = self.split("train", "visible", trial), self.split("train", "thermal", trial)
        if set(vis.labels.tolist()) != set(th.labels.tolist()):
            raise DataError(f"{self.root / 'idx'}: train_visible_{trial}.txt and train_thermal_{trial}.txt list "
                            f"different identities")
        return vis, th

    def train_lists(self, data_cfg) -> tuple[ImageList, ImageList]:
        """The training images of a data configuration's split (``data_cfg.regdb_trial``): (visible, thermal)."""
        return self.train(data_cfg.regdb_trial)

    def test_lists(self, data_cfg) -> tuple[ImageList, ImageList]:
        """What the protocol embeds for a data configuration's split: (visible, thermal) test images."""
        return self.test(data_cfg.regdb_trial)

    def test(self, trial: int) -> tuple[ImageList, ImageList]:
        """Test images of a trial: (visible, thermal). Visible→thermal queries visible against thermal. Every test
        identity must have images in both (a query needs a gallery): a :class:`DataError` names one that has not."""
        vis, th = self.split("test", "visible", trial), self.split("test", "thermal", trial)
        only = sorted(set(vis.pids.tolist()) ^ set(th.pids.tolist()))
        if only:
            raise DataError(f"{self.root / 'idx'}: test_visible_{trial}.txt and test_thermal_{trial}.txt list "
                            f"different identities (labels {only[:10]} are in one only): every test identity needs "
                            f"visible and thermal images")
        return vis, th

    def statistics(self, trial: int = 1) -> dict[str, int]:
        vis, th = self.train(trial)
        tv, tt = self.test(trial)
        return {"train ids": vis.num_ids, "train visible": len(vis), "train thermal": len(th),
                "test ids": tv.num_ids, "test visible": len(tv), "test thermal": len(tt)}
