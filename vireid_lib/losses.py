"""The losses of §3.5, each a function citing its equation, and the total loss (Eq. 13).

    L_total = (L_id^global + θ1·L_KD1) + (L_id^fusion + θ2·L_KD2) + L_id^joint + L_WRT        (Eqs. 9, 10, 13)

Every term is switchable from :class:`~vireid_lib.config.LossConfig`, so that every row of Tables 1–4 is a
configuration. Reductions: every term is a mean over the batch (the paper writes sums over the N samples in
Eqs. 5–6 and 1/N in Eqs. 7–8; with means, θ1 and θ2 weigh terms of the same scale as the identity losses).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .config import DML_MODES, LossConfig
from .models.heads import BranchOutput


def id_loss(logits: torch.Tensor, labels: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """Eqs. 7–8: identity (cross-entropy) loss −(1/N) Σ log p_i of a branch's classifier.

    ``label_smoothing`` ε > 0 is Table 3's "LSR": the target puts 1 − ε on the true identity and spreads ε
    uniformly over all M identities (Szegedy et al.; torchreid's default ε = 0.1). Interpretation: the paper
    names LSR as a separate switch of the global and fusion branches' classification loss without defining
    it; we read it as standard label smoothing of their L_id (ε = 0.1), the joint branch's L_id staying plain.
    """
    return F.cross_entropy(logits, labels, label_smoothing=label_smoothing)


def symmetric_kl(teacher_logits: torch.Tensor, student_logits: torch.Tensor, detach_teacher: bool = True
                 ) -> torch.Tensor:
    """½ [D_KL(p_t ‖ p_s) + D_KL(p_s ‖ p_t)], averaged over the batch, with the teacher side detached.

    Eqs. 5–6 with t = joint and s = global (L_KD1) or fusion (L_KD2). Which side is detached, and why: the
    paper calls the joint branch's prediction the *teacher signal* "transmitted to specific branches to guide
    their learning" and adds L_KD1, L_KD2 to the global and fusion branches' losses (Eqs. 9–10, "label
    smoothing regularisation terms" for them). So the gradient of L_KD reaches the student branch only; the
    joint branch learns from its own identity loss and WRT. This is also what deep mutual learning does
    (Zhang et al., 2018): each network is trained towards the other's prediction taken as a fixed target.
    ``detach_teacher=False`` is the other reading (``loss.dml_teacher="mutual"``): both sides learn from the term.
    """
    log_t = F.log_softmax(teacher_logits.detach() if detach_teacher else teacher_logits, dim=1)
    log_s = F.log_softmax(student_logits, dim=1)
    p_t, p_s = log_t.exp(), log_s.exp()
    kl_ts = (p_t * (log_t - log_s)).sum(1)  # D_KL(p_t ‖ p_s)
    kl_st = (p_s * (log_s - log_t)).sum(1)  # D_KL(p_s ‖ p_t)
    return 0.5 * (kl_ts + kl_st).mean()


def dml_loss(out: dict[str, BranchOutput], mode: str, teacher: str = "detached") -> dict[str, torch.Tensor]:
    """Eqs. 5–6: the mutual-learning terms of a DML mode (Table 4), by name (``kd1`` weighs with θ1, ``kd2``
    with θ2).

    - ``joint-to-both`` (the method): L_KD1 = symKL(joint → global), L_KD2 = symKL(joint → fusion);
    - ``joint-to-global``: only L_KD1; ``joint-to-fusion``: only L_KD2;
    - ``global-to-fusion``: the global branch teaches the fusion branch (weighed by θ2), no joint teacher;
    - ``none``: no term.

    ``teacher``: "detached" (the teacher's side of each term is a fixed target) or "mutual" (both sides learn).
    """
    if mode not in DML_MODES:
        raise ValueError(f"unknown DML mode {mode!r}: set loss.dml to one of {', '.join(DML_MODES)}")
    if teacher not in ("detached", "mutual"):
        raise ValueError(f"unknown DML teacher reading {teacher!r}: use 'detached' or 'mutual'")
    detach = teacher == "detached"
    if mode == "none":
        return {}
    if mode == "global-to-fusion":
        return {"kd2": symmetric_kl(out["global"].logits, out["fusion"].logits, detach)}
    terms = {}
    if mode in ("joint-to-both", "joint-to-global"):
        terms["kd1"] = symmetric_kl(out["joint"].logits, out["global"].logits, detach)
    if mode in ("joint-to-both", "joint-to-fusion"):
        terms["kd2"] = symmetric_kl(out["joint"].logits, out["fusion"].logits, detach)
    return terms


def softmax_weights(dist: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Eq. 12's weights: row-wise softmax of ``dist`` over the entries where ``mask`` is 1 (0 elsewhere).

    The AGW/fast-reid ``softmax_weights`` shifts by the maximum of ``dist * mask`` over the whole row; for the
    negated negative distances (all < 0) that maximum is the 0 of a masked entry, so once distances exceed
    ~14 every exp underflows below the ``+1e-6`` of the denominator and the negatives' weights vanish. We shift
    by the maximum over the masked entries only: the same softmax where the reference's is accurate, and
    still a softmax (weights summing to 1) where it is not. The masked-out entries are set to −inf *before*
    the exponential, so that they give exactly 0: multiplying ``exp(dist − max)`` by the mask afterwards would
    turn an overflow at a masked entry (a masked 0 more than ~88 above the row's masked maximum, i.e. one
    embedding ~88 away from all its negatives) into inf · 0 = NaN.
    """
    masked = dist.masked_fill(mask == 0, float("-inf"))
    max_v = masked.max(dim=1, keepdim=True)[0].clamp(min=torch.finfo(dist.dtype).min)
    e = torch.exp((dist - max_v).masked_fill(mask == 0, float("-inf")))  # exactly 0 where masked, even in a row
    # with no entry; written so that its gradient is bitwise that of the form without the fix (runs reproduce)
    return e / (e.sum(dim=1, keepdim=True) + 1e-6)


def softmax_weights_agw(dist: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Eq. 12's weights exactly as the AGW reference computes them (``loss.wrt_numerics="agw"``): shifted by the
    row maximum of ``dist * mask`` (masked entries count as 0), exponentiated, multiplied by the mask, normalised
    with ``+1e-6`` in the denominator. Underflows to all-zero weights once distances exceed ~14 (see
    :func:`softmax_weights`)."""
    max_v = torch.max(dist * mask, dim=1, keepdim=True)[0]
    e = torch.exp(dist - max_v) * mask
    return e / (e.sum(dim=1, keepdim=True) + 1e-6)


def pairwise_distance_agw(x: torch.Tensor) -> torch.Tensor:
    """Euclidean distances as the AGW reference's ``pdist_torch``: ‖a‖² + ‖b‖² − 2a·b, clamped at 1e-12, square
    root (``torch.cdist`` computes the same distances in another order of operations)."""
    sq = (x * x).sum(dim=1, keepdim=True)
    d2 = (sq + sq.t()).addmm(x, x.t(), beta=1, alpha=-2)
    return d2.clamp(min=1e-12).sqrt()


def wrt_loss(features: torch.Tensor, labels: torch.Tensor, numerics: str = "stable") -> torch.Tensor:
    """Eqs. 11–12: weighted regularisation triplet loss, as the AGW reference (``TripletLoss_WRT``) computes it.

    Over the whole batch (both modalities; each anchor counts itself among its positives): Euclidean
    distances d; for anchor i, the positive distances are weighted by softmax(d^p) and the negative ones by
    softmax(−d^n); with d_p and d_n the weighted sums, the loss is mean_i log(1 + exp(d_p − d_n))
    (a soft margin, no margin parameter).

    Where we differ from the reference: only in the numerics of the softmax (see :func:`softmax_weights`).
    Where the paper differs: Eq. 12 writes w^n = exp(d^n)/Σ exp(d^n), which would weigh the *farthest*
    negatives most; the reference, and the idea of a hard-mining weight, use exp(−d^n) (the closest negatives
    weigh most). We follow the reference. Eq. 11 also writes one weighted triplet (i, j, k) at a time; the
    reference weighs and sums the distances first, then applies the soft margin once per anchor, as we do.

    ``numerics="agw"`` is the reference bit for bit: its distance (:func:`pairwise_distance_agw`), its softmax
    (:func:`softmax_weights_agw`) and its ``SoftMarginLoss`` (which overflows to inf where ``softplus`` does not).
    """
    if numerics not in ("stable", "agw"):
        raise ValueError(f"unknown WRT numerics {numerics!r}: use 'stable' or 'agw'")
    agw = numerics == "agw"
    dist = pairwise_distance_agw(features) if agw else torch.cdist(features, features)  # (N, N) Euclidean
    same = labels[:, None].eq(labels[None, :]).float()
    diff = 1.0 - same
    dist_ap, dist_an = dist * same, dist * diff
    weights = softmax_weights_agw if agw else softmax_weights
    w_ap = weights(dist_ap, same)
    w_an = weights(-dist_an, diff)
    furthest_positive = (dist_ap * w_ap).sum(1)
    closest_negative = (dist_an * w_an).sum(1)
    if agw:  # SoftMarginLoss as the reference: log(1 + exp(−x)) written out, inf once d_p − d_n ≳ 88
        return F.soft_margin_loss(closest_negative - furthest_positive, torch.ones_like(furthest_positive))
    return F.softplus(furthest_positive - closest_negative).mean()  # = SoftMarginLoss(d_n − d_p, +1), stable


def total_loss(out: dict[str, BranchOutput], labels: torch.Tensor, cfg: LossConfig
               ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Eq. 13: the sum of the enabled terms, and each term by name (``id_global``, ``kd1``, ``wrt`` ...), the
    mutual-learning terms weighed by θ1 and θ2 as in the branches' losses of Eqs. 9–10.

    With the fusion branch: L_id^global, L_id^fusion (if ``id_branches``, with LSR ε), θ1·L_KD1, θ2·L_KD2 (per
    the DML mode), L_id^joint, and WRT on the joint embedding. The baseline (global branch only): L_id^global
    and WRT on the global embedding, the AGW baseline the paper starts from.
    """
    parts: dict[str, torch.Tensor] = {}
    has_fusion = "joint" in out
    if has_fusion:
        if cfg.id_branches:
            parts["id_global"] = id_loss(out["global"].logits, labels, cfg.label_smoothing)
            parts["id_fusion"] = id_loss(out["fusion"].logits, labels, cfg.label_smoothing)
        parts["id_joint"] = id_loss(out["joint"].logits, labels)
        for name, term in dml_loss(out, cfg.dml, cfg.dml_teacher).items():
            parts[name] = (cfg.theta1 if name == "kd1" else cfg.theta2) * term
        if cfg.wrt:
            parts["wrt"] = wrt_loss(out["joint"].pooled, labels, cfg.wrt_numerics)
    else:
        parts["id_global"] = id_loss(out["global"].logits, labels, cfg.label_smoothing)
        if cfg.wrt:
            parts["wrt"] = wrt_loss(out["global"].pooled, labels, cfg.wrt_numerics)
    total = torch.stack(list(parts.values())).sum()
    return total, parts
