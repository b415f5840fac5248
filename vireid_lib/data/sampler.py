"""Identity sampler (paper §4.2, AGW ``IdentitySampler``): P identities × (K visible + K infrared) per batch.

The paper uses P = 8, K = 4: 8 × (4 + 4) = 64 images. An epoch is as long as the larger modality
(``ceil(max(#visible, #infrared) / (P·K))`` batches), the identities of a batch are drawn without
replacement, and the K images of an identity without replacement when it has at least K (with replacement
otherwise; the reference always draws with replacement: ``replacement="agw"``, ``train.sampler="agw"``). Each
epoch's batches are a pure function of (seed, epoch), so a run resumed in the middle of an epoch (``start=``) sees
exactly the batches it would have seen.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from ..errors import DataError


class IdentitySampler:
    def __init__(self, visible_labels: np.ndarray, infrared_labels: np.ndarray, P: int = 8, K: int = 4,
                 seed: int = 0, replacement: str = "balanced"):
        vis = np.asarray(visible_labels)
        ir = np.asarray(infrared_labels)
        ids_v, ids_i = set(np.unique(vis).tolist()), set(np.unique(ir).tolist())
        if ids_v != ids_i:
            only = sorted(ids_v ^ ids_i)[:10]
            raise DataError(f"the identity sampler needs every training identity in both modalities; "
                            f"labels {only} are in only one")
        self.ids = np.array(sorted(ids_v), np.int64)
        if P > len(self.ids):
            raise DataError(f"a batch of P={P} identities needs at least {P} training identities, got {len(self.ids)}; "
                            f"lower train.P or use a larger dataset")
        if P < 1 or K < 1:
            raise DataError(f"P and K must be ≥ 1, got P={P}, K={K}")
        if replacement not in ("balanced", "agw"):
            raise DataError(f"sampler must be 'balanced' or 'agw', got {replacement!r}")
        self.P, self.K, self.seed, self.replacement = P, K, seed, replacement
        self.n_visible, self.n_infrared = len(vis), len(ir)
        self._vis = {int(c): np.flatnonzero(vis == c) for c in self.ids}
        self._ir = {int(c): np.flatnonzero(ir == c) for c in self.ids}

    @property
    def batch_size(self) -> int:
        """Images per batch, both modalities: P·2K."""
        return 2 * self.P * self.K

    def __len__(self) -> int:
        """Batches per epoch: the larger modality seen about once."""
        return math.ceil(max(self.n_visible, self.n_infrared) / (self.P * self.K))

    def _draw(self, rng: np.random.Generator, pool: np.ndarray) -> np.ndarray:
        """K of an identity's images: without replacement when it has ≥ K ("balanced"), always with replacement
        as the AGW reference ("agw")."""
        return rng.choice(pool, self.K, replace=self.replacement == "agw" or len(pool) < self.K)

    def epoch(self, epoch: int, start: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Batches of epoch ``epoch`` from batch ``start`` on: (visible indices, infrared indices), each of
        length P·K, identity-aligned (the i-th visible and i-th infrared image share an identity)."""
        rng = np.random.default_rng([self.seed, epoch])
        for b in range(len(self)):
            ids = rng.choice(self.ids, self.P, replace=False)
            v = np.concatenate([self._draw(rng, self._vis[int(c)]) for c in ids])
            i = np.concatenate([self._draw(rng, self._ir[int(c)]) for c in ids])
            if b >= start:
                yield v, i
