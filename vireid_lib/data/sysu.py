"""SYSU-MM01 reader (real or synthetic): ``cam{1..6}/{pid:04d}/{n:04d}.jpg`` and ``exp/{train,val,test}_id.txt``.

Standard practice (AGW/CAJ ``pre_process_sysu.py``): train on train + val ids (real: 296 + 99 = 395),
visible cameras 1, 2, 4, 5 and infrared cameras 3, 6; labels are the rank of the id among the sorted
training ids (the reference enumerates a Python ``set``, whose order CPython happens to make ascending;
we sort explicitly). Test: queries are all infrared images of the test ids; the gallery is drawn from the
visible images of cameras 1, 2, 4, 5 (all-search) or 1, 2 (indoor-search), see :mod:`vireid_lib.evaluation`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError
from .common import ImageList, list_images, read_text_lines

VISIBLE_CAMS = (1, 2, 4, 5)
INFRARED_CAMS = (3, 6)
GALLERY_CAMS = {"all": (1, 2, 4, 5), "indoor": (1, 2)}
QUERY_CAMS = (3, 6)  # both modes (AGW `process_query_sysu`, official protocol)
REAL_TRAIN_IDS = 296 + 99  # the released SYSU-MM01's train + val ids (exp/*_id.txt): the paper's classes


class SYSUMM01:
    """The SYSU-MM01 layout under ``root``. Validates the layout on construction.

    ``holdout="test"`` (the standard protocol): training on the train ∪ val ids, queries and gallery from the
    test ids. ``holdout="val"``: training on the train ids only, queries and gallery from the val ids, the
    same protocol otherwise: for choosing settings without looking at the test set.

    Its evaluation protocol is ``PROTOCOL`` (:mod:`vireid_lib.evaluation` runs it on :meth:`test_lists`).
    """

    PROTOCOL = "sysu"

    def __init__(self, root: str | Path, holdout: str = "test"):
        if holdout not in ("test", "val"):
            raise DataError(f"unknown SYSU-MM01 holdout {holdout!r}: use 'test' or 'val'")
        self.holdout = holdout
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise DataError(
                f"SYSU-MM01 root {self.root} does not exist or is not a folder. Expected a folder holding "
                f"cam1 ... cam6 and exp/ (see data/README.md for how to obtain the dataset)."
            )
        missing = [f"cam{c}" for c in range(1, 7) if not (self.root / f"cam{c}").is_dir()]
        if missing:
            raise DataError(
                f"SYSU-MM01 root {self.root} lacks camera folder(s) {', '.join(missing)}: expected cam1 ... cam6, "
                f"each holding one folder per identity ({{pid:04d}}/) of images. "
                f"Is this the unpacked dataset's top folder?"
            )
        self._ids = {split: self._read_ids(split) for split in ("train", "val", "test")}
        overlap = (set(self._ids["train"]) | set(self._ids["val"])) & set(self._ids["test"])
        if overlap:
            raise DataError(
                f"{self.root / 'exp'}: ids {sorted(overlap)[:10]} are in both the training and test lists"
            )

    # -- id lists -------------------------------------------------------------------------------------------
    def _read_ids(self, split: str) -> list[int]:
        path = self.root / "exp" / f"{split}_id.txt"
        if not path.is_file():
            raise DataError(
                f"{path} is missing: SYSU-MM01 keeps its train/val/test identity lists in exp/train_id.txt, "
                f"exp/val_id.txt and exp/test_id.txt (one line of comma-separated ids)."
            )
        ids = []
        for lineno, line in enumerate(read_text_lines(path, "comma-separated integer ids"), 1):
            for tok in line.split(","):
                tok = tok.strip()
                if not tok:
                    continue
                try:
                    ids.append(int(tok))
                except ValueError:
                    raise DataError(f"{path}:{lineno}: expected comma-separated integer ids, found {tok!r}") from None
        if not ids:
            raise DataError(f"{path} lists no ids: expected one line of comma-separated integer ids")
        return sorted(set(ids))

    def ids(self, split: str) -> list[int]:
        """Identity numbers of ``train``, ``val``, ``test`` or ``trainval`` (train ∪ val, the training set)."""
        if split == "trainval":
            return sorted(set(self._ids["train"]) | set(self._ids["val"]))
        if split not in self._ids:
            raise DataError(f"unknown SYSU-MM01 split {split!r}: use train, val, trainval or test")
        return list(self._ids[split])

    # -- image lists ----------------------------------------------------------------------------------------
    def _collect(self, pids: list[int], cams: tuple[int, ...]) -> tuple[list[str], list[int], list[int]]:
        paths, ps, cs = [], [], []
        for pid in pids:
            for cam in cams:
                for p in list_images(self.root / f"cam{cam}" / f"{pid:04d}"):
                    paths.append(p.relative_to(self.root).as_posix())
                    ps.append(pid)
                    cs.append(cam)
        return paths, ps, cs

    def _image_list(self, pids, cams, modality, name, labels_of=None) -> ImageList:
        paths, ps, cs = self._collect(pids, cams)
        labels = [labels_of[p] for p in ps] if labels_of else [-1] * len(ps)
        return ImageList(self.root, tuple(paths), np.array(ps, np.int64), np.array(cs, np.int64),
                         np.array(labels, np.int64), modality, name)

    def _check_listed_ids_have_images(self, split: str) -> None:
        for pid in self.ids(split):
            if not any(list_images(self.root / f"cam{c}" / f"{pid:04d}") for c in range(1, 7)):
                raise DataError(
                    f"identity {pid} is listed in {self.root / 'exp'}/{split}_id.txt but has no images: "
                    f"looked for cam1..cam6/{pid:04d}/*.jpg under {self.root}"
                )

    @property
    def _train_split(self) -> str:
        return "trainval" if self.holdout == "test" else "train"

    @property
    def _suffix(self) -> str:  # image-list names (and so cache files) of the validation setting
        return "" if self.holdout == "test" else "-holdout-val"

    def train(self) -> tuple[ImageList, ImageList]:
        """Training images (train ∪ val ids; train ids only when holding out val): (visible, infrared), with
        labels 0..C-1 shared by both."""
        for split in ("train", "val"):
            self._check_listed_ids_have_images(split)
        pids = self.ids(self._train_split)
        labels_of = {p: i for i, p in enumerate(pids)}
        vis = self._image_list(pids, VISIBLE_CAMS, "visible", f"sysu-train-visible{self._suffix}", labels_of)
        ir = self._image_list(pids, INFRARED_CAMS, "infrared", f"sysu-train-infrared{self._suffix}", labels_of)
        for lst, cams in ((vis, VISIBLE_CAMS), (ir, INFRARED_CAMS)):
            lacking = sorted(set(pids) - set(lst.pids.tolist()))
            if lacking:
                raise DataError(
                    f"training identities {lacking[:10]} have no {lst.modality} images (cameras "
                    f"{', '.join(map(str, cams))}) under {self.root}; each training identity needs both modalities"
                )
        return vis, ir

    def train_lists(self, data_cfg=None) -> tuple[ImageList, ImageList]:
        """The training images of a data configuration: (visible, infrared) (:meth:`train`)."""
        return self.train()

    def test_lists(self, data_cfg=None) -> tuple[ImageList, ImageList]:
        """What the protocol embeds: (queries, every all-search gallery candidate); indoor-search and each trial's
        gallery are subsets of the candidates. Every test (or held-out val) identity must have both: a
        :class:`DataError` names one that lacks queries or gallery images."""
        q, g = self.query(), self.gallery_candidates("all")
        for lst, what, cams in ((q, "infrared query", QUERY_CAMS), (g, "visible gallery", GALLERY_CAMS["all"])):
            lacking = sorted(set(self.ids(self.holdout)) - set(lst.pids.tolist()))
            if lacking:
                raise DataError(
                    f"identities {lacking[:10]} are listed in {self.root / 'exp'}/{self.holdout}_id.txt but have no "
                    f"{what} images (cameras {', '.join(map(str, cams))}) under {self.root}: the protocol needs both "
                    f"for every {self.holdout} identity. Restore their images, or remove them from the list."
                )
        return q, g

    def query(self) -> ImageList:
        """All infrared images (cameras 3 and 6) of the test identities (val identities when holding out val):
        the query set of both search modes."""
        self._check_listed_ids_have_images(self.holdout)
        return self._image_list(self.ids(self.holdout), QUERY_CAMS, "infrared", f"sysu-query{self._suffix}")

    def gallery_candidates(self, mode: str = "all") -> ImageList:
        """Every visible image of the test (or held-out val) identities in the mode's gallery cameras; each
        trial samples from it."""
        if mode not in GALLERY_CAMS:
            raise DataError(f"unknown SYSU-MM01 search mode {mode!r}: use 'all' or 'indoor'")
        return self._image_list(self.ids(self.holdout), GALLERY_CAMS[mode], "visible",
                                f"sysu-gallery-{mode}{self._suffix}")

    def camera_table(self) -> list[dict]:
        """Per camera: modality, place, and how many identities and images it holds in each split."""
        rows = []
        train, test = set(self.ids("trainval")), set(self.ids("test"))
        for cam in range(1, 7):
            row = {"camera": f"cam{cam}", "modality": "infrared" if cam in INFRARED_CAMS else "visible",
                   "place": "indoor" if cam <= 3 else "outdoor"}
            for name, ids in (("train", train), ("test", test)):
                counts = [len(list_images(self.root / f"cam{cam}" / f"{p:04d}")) for p in sorted(ids)]
                row[f"{name} ids"] = sum(c > 0 for c in counts)
                row[f"{name} images"] = sum(counts)
            rows.append(row)
        return rows

    def statistics(self) -> dict[str, int]:
        vis, ir = self.train()
        q = self.query()
        g = self.gallery_candidates("all")
        return {
            "train ids": len(self.ids("trainval")), "train visible": len(vis), "train infrared": len(ir),
            "test ids": len(self.ids("test")), "query (infrared)": len(q), "gallery candidates (visible)": len(g),
        }
