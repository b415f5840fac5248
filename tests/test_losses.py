"""Each loss against a plain re-computation from its equation (and the AGW reference for WRT)."""

import math

import pytest
import torch

from vireid_lib.config import LossConfig
from vireid_lib.losses import dml_loss, id_loss, symmetric_kl, total_loss, wrt_loss
from vireid_lib.models.heads import BranchOutput


def test_id_loss_is_minus_mean_log_p_and_lsr_is_label_smoothing():
    logits = torch.randn(6, 5)
    y = torch.tensor([0, 1, 2, 3, 4, 0])
    p = torch.softmax(logits, 1)
    plain = -sum(math.log(p[i, y[i]]) for i in range(6)) / 6  # Eq. 7
    assert id_loss(logits, y).item() == pytest.approx(plain, rel=1e-5)
    eps = 0.1
    target = torch.full((6, 5), eps / 5)
    target[torch.arange(6), y] += 1 - eps
    smoothed = -(target * torch.log(p)).sum(1).mean()
    assert id_loss(logits, y, eps).item() == pytest.approx(smoothed.item(), rel=1e-5)


def test_symmetric_kl_is_eq5_and_only_the_student_learns():
    t = torch.randn(4, 6, requires_grad=True)
    s = torch.randn(4, 6, requires_grad=True)
    pt, ps = torch.softmax(t, 1), torch.softmax(s, 1)
    eq5 = 0.5 * ((pt * (pt.log() - ps.log())).sum(1) + (ps * (ps.log() - pt.log())).sum(1)).mean()
    val = symmetric_kl(t, s)
    assert val.item() == pytest.approx(eq5.item(), rel=1e-5)
    val.backward()
    assert t.grad is None and s.grad.abs().sum() > 0  # the teacher (joint) side is detached
    assert symmetric_kl(s, s).item() == pytest.approx(0.0, abs=1e-6)


def outputs(n=8, c=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {k: BranchOutput(torch.randn(n, 4, generator=g), torch.randn(n, 4, generator=g),
                            torch.randn(n, c, generator=g)) for k in ("global", "fusion", "joint")}


@pytest.mark.parametrize("mode,keys", [("none", set()), ("joint-to-both", {"kd1", "kd2"}),
                                       ("joint-to-global", {"kd1"}), ("joint-to-fusion", {"kd2"}),
                                       ("global-to-fusion", {"kd2"})])
def test_dml_modes_of_table4(mode, keys):
    out = outputs()
    terms = dml_loss(out, mode)
    assert set(terms) == keys
    if mode == "global-to-fusion":
        assert terms["kd2"].item() == pytest.approx(symmetric_kl(out["global"].logits, out["fusion"].logits).item())
    if "kd1" in keys and mode != "global-to-fusion":
        assert terms["kd1"].item() == pytest.approx(symmetric_kl(out["joint"].logits, out["global"].logits).item())
    if "kd2" in keys and mode != "global-to-fusion":
        assert terms["kd2"].item() == pytest.approx(symmetric_kl(out["joint"].logits, out["fusion"].logits).item())


def agw_wrt(inputs, targets):
    """TripletLoss_WRT of the AGW code, loop by loop, with the softmaxes taken over the positives and negatives
    alone (the reference's shift is only accurate for small distances: see ``softmax_weights``)."""
    n = len(inputs)
    dist = torch.cdist(inputs, inputs)
    losses = []
    for i in range(n):
        pos = [j for j in range(n) if targets[j] == targets[i]]
        neg = [j for j in range(n) if targets[j] != targets[i]]
        dp = torch.stack([dist[i, j] for j in pos])
        dn = torch.stack([dist[i, j] for j in neg])
        wp = torch.exp(dp - dp.max()) / (torch.exp(dp - dp.max()).sum() + 1e-6)
        wn = torch.exp(-dn - (-dn).max()) / (torch.exp(-dn - (-dn).max()).sum() + 1e-6)
        furthest_positive, closest_negative = (dp * wp).sum(), (dn * wn).sum()
        losses.append(torch.log1p(torch.exp(-(closest_negative - furthest_positive))))
    return torch.stack(losses).mean()


@pytest.mark.parametrize("seed", range(4))
def test_wrt_equals_the_reference_loop(seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(16, 6, generator=g) * (seed + 1)
    y = torch.arange(4).repeat_interleave(4)
    assert wrt_loss(x, y).item() == pytest.approx(agw_wrt(x, y).item(), rel=1e-4, abs=1e-6)


def test_negatives_keep_their_weight_at_large_distances():
    """Where the reference's shift underflows (distances ≫ 14), our weights still sum to one."""
    from vireid_lib.losses import softmax_weights

    d = torch.tensor([[0.0, 40.0, 50.0, 60.0]])
    mask = torch.tensor([[0.0, 1.0, 1.0, 1.0]])
    w = softmax_weights(-d, mask)
    assert w.sum().item() == pytest.approx(1.0, abs=1e-5) and w[0, 1] > 0.99


def test_wrt_stays_finite_with_an_embedding_far_from_every_negative():
    """The cpu grid's full method (seed 0) once hit NaN here: one embedding ≈ 108 away from all its negatives made
    exp(−d + max) overflow at the masked entries (inf · 0). Loss and gradient must stay finite and exact."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(16, 6, generator=g)
    x[5] += 120.0  # far from everyone, including its own identity's images
    y = torch.arange(4).repeat_interleave(4)
    x.requires_grad_()
    loss = wrt_loss(x, y)
    (grad,) = torch.autograd.grad(loss, x)
    assert torch.isfinite(loss) and torch.isfinite(grad).all()
    assert loss.item() == pytest.approx(agw_wrt(x.detach().double(), y).item(), rel=1e-5)


def test_wrt_is_small_when_identities_are_separated_and_large_when_mixed():
    y = torch.arange(4).repeat_interleave(4)
    centres = torch.eye(4) * 10
    separated = centres[y] + 0.1 * torch.randn(16, 4)
    mixed = centres[(y + torch.arange(16)) % 4]
    assert wrt_loss(separated, y) < 0.01 < math.log(2) < wrt_loss(mixed, y)


def test_total_loss_eq13_components_follow_the_config():
    out = outputs()
    y = torch.arange(4).repeat(2)
    cfg = LossConfig(theta1=0.6, theta2=1.8, label_smoothing=0.1)
    total, parts = total_loss(out, y, cfg)
    assert set(parts) == {"id_global", "id_fusion", "id_joint", "kd1", "kd2", "wrt"}
    assert parts["kd1"].item() == pytest.approx(0.6 * symmetric_kl(out["joint"].logits, out["global"].logits).item())
    assert parts["kd2"].item() == pytest.approx(1.8 * symmetric_kl(out["joint"].logits, out["fusion"].logits).item())
    assert parts["id_global"].item() == pytest.approx(id_loss(out["global"].logits, y, 0.1).item())
    assert parts["id_joint"].item() == pytest.approx(id_loss(out["joint"].logits, y).item())  # no LSR on joint
    assert parts["wrt"].item() == pytest.approx(wrt_loss(out["joint"].pooled, y).item())
    # Eq. 13 written out from its terms, computed independently of total_loss's bookkeeping
    eq13 = (id_loss(out["global"].logits, y, 0.1) + id_loss(out["fusion"].logits, y, 0.1)
            + 0.6 * symmetric_kl(out["joint"].logits, out["global"].logits)
            + 1.8 * symmetric_kl(out["joint"].logits, out["fusion"].logits)
            + id_loss(out["joint"].logits, y) + wrt_loss(out["joint"].pooled, y))
    assert total.item() == pytest.approx(eq13.item())
    # Table 3, first row: neither L_id nor L_KD on the branches
    _, p = total_loss(out, y, LossConfig(id_branches=False, dml="none"))
    assert set(p) == {"id_joint", "wrt"}
    # the baseline: global branch only
    base = {"global": out["global"]}
    _, p = total_loss(base, y, LossConfig(dml="none", label_smoothing=0.0))
    assert set(p) == {"id_global", "wrt"}
    assert p["wrt"].item() == pytest.approx(wrt_loss(out["global"].pooled, y).item())


def agw_reference_wrt(inputs, targets):
    """TripletLoss_WRT as the AGW code writes it (pdist_torch; softmax_weights shifted by the max of dist·mask and
    multiplied by the mask after the exponential; SoftMarginLoss), transcribed independently for the test."""
    m = inputs.shape[0]
    sq = inputs.pow(2).sum(1, keepdim=True).expand(m, m)
    dist = (sq + sq.t()).addmm_(inputs, inputs.t(), beta=1, alpha=-2).clamp(min=1e-12).sqrt()  # addmm_(1, -2, ...)
    is_pos = targets.expand(m, m).eq(targets.expand(m, m).t()).float()
    is_neg = 1 - is_pos

    def sw(d, mask):
        mx = torch.max(d * mask, dim=1, keepdim=True)[0]
        diff = d - mx
        z = torch.sum(torch.exp(diff) * mask, dim=1, keepdim=True) + 1e-6
        return torch.exp(diff) * mask / z

    ap, an = dist * is_pos, dist * is_neg
    fp_, cn = (ap * sw(ap, is_pos)).sum(1), (an * sw(-an, is_neg)).sum(1)
    return torch.nn.SoftMarginLoss()(cn - fp_, torch.ones_like(fp_))


@pytest.mark.parametrize("scale", [0.5, 3.0, 20.0])
def test_wrt_agw_numerics_are_the_reference_bit_for_bit(scale):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(16, 6, generator=g) * scale
    y = torch.arange(4).repeat_interleave(4)
    assert torch.equal(wrt_loss(x, y, "agw"), agw_reference_wrt(x, y))
    if scale < 1:  # small distances: the reference's softmax is accurate (its +1e-6 negligible), both agree
        assert wrt_loss(x, y, "stable").item() == pytest.approx(wrt_loss(x, y, "agw").item(), rel=1e-4)


def test_mutual_dml_lets_the_teacher_learn_detached_does_not():
    def leaf_outputs():
        return {k: BranchOutput(o.pooled, o.bn, o.logits.clone().requires_grad_()) for k, o in outputs().items()}

    out = leaf_outputs()
    sum(dml_loss(out, "joint-to-both", "mutual").values()).backward()
    assert out["joint"].logits.grad.abs().sum() > 0 and out["global"].logits.grad.abs().sum() > 0
    out = leaf_outputs()
    sum(dml_loss(out, "joint-to-both", "detached").values()).backward()
    assert out["joint"].logits.grad is None and out["fusion"].logits.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="teacher reading"):
        dml_loss(out, "joint-to-both", "both")
