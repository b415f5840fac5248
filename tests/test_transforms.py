"""Batched augmentations: each variant's effect exactly, per-image randomness, distributions."""

import numpy as np
import pytest
import torch
from scipy.stats import chisquare

from vireid_lib import transforms as T


def batch(B=64, H=12, W=6, seed=0):
    return torch.rand(B, 3, H, W, generator=torch.Generator().manual_seed(seed))


def test_rcc_gives_exactly_the_chosen_variant():
    x = batch(700)
    out, choice = T.rcc(x, T.make_generator(0), return_choice=True)
    assert set(choice.tolist()) == set(range(7))
    for k, name in enumerate(T.RCC_VARIANTS):
        sel = choice == k
        if name == "gray":
            gray = 0.299 * x[sel, 0] + 0.587 * x[sel, 1] + 0.114 * x[sel, 2]
            for c in range(3):
                torch.testing.assert_close(out[sel, c], gray)
        else:
            perm = ["RGB".index(ch) for ch in name]
            assert torch.equal(out[sel], x[sel][:, perm])  # a permutation: nothing lost, nothing mixed


def test_rcc_choices_are_uniform_over_seven_and_drawn_per_image():
    x = torch.rand(1, 3, 2, 2).expand(7000, 3, 2, 2).contiguous()
    _, choice = T.rcc(x, T.make_generator(1), return_choice=True)
    counts = np.bincount(choice.numpy(), minlength=7)
    assert chisquare(counts).pvalue > 1e-3  # uniform
    assert counts.min() > 850  # each variant ≈ 1000 of 7000
    assert T.RCC_VARIANTS == ("RGB", "RBG", "BGR", "BRG", "GBR", "GRB", "gray")


def test_same_seed_same_augmentation_different_seed_different():
    x = batch()
    aug = T.AugmentConfig(rcc=True, cre=True, random_erasing=True)
    a = T.train_transform(x, x, T.make_generator(5), aug)
    b = T.train_transform(x, x, T.make_generator(5), aug)
    c = T.train_transform(x, x, T.make_generator(6), aug)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def test_pad_crop_is_a_crop_of_the_zero_padded_image_at_a_per_image_offset():
    x = batch(200, 8, 5)
    out = T.pad_crop(x, T.make_generator(2), pad=3)
    xp = torch.nn.functional.pad(x, (3, 3, 3, 3))
    offsets = []
    for b in range(len(x)):
        found = [(oy, ox) for oy in range(7) for ox in range(7) if torch.equal(out[b], xp[b, :, oy:oy + 8, ox:ox + 5])]
        assert found, f"image {b} is not a crop of its padded original"
        offsets.append(found[0])
    assert len(set(offsets)) > 20  # offsets drawn per image, over the whole range


def test_hflip_flips_about_half_of_the_images():
    x = batch(1000)
    out = T.hflip(x, T.make_generator(3))
    flipped = torch.tensor([torch.equal(o, i.flip(-1)) for o, i in zip(out, x, strict=True)])
    same = torch.tensor([torch.equal(o, i) for o, i in zip(out, x, strict=True)])
    assert bool((flipped | same).all())
    assert 0.45 < flipped.float().mean() < 0.55


def test_cre_fills_one_rectangle_with_the_caj_constants():
    x = batch(2000, 32, 16)
    out = T.cre(x, T.make_generator(4), p=0.5)
    changed = (out != x).any(1)  # (B, H, W)
    erased = changed.flatten(1).any(1)
    assert 0.45 < erased.float().mean() < 0.55
    for b in torch.nonzero(erased)[:200, 0]:
        rows = torch.nonzero(changed[b].any(1))[:, 0]
        cols = torch.nonzero(changed[b].any(0))[:, 0]
        box = (slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1))
        assert bool(changed[b][box].all())  # a filled rectangle
        for c, v in enumerate(T.CRE_FILL):
            assert bool((out[b, c][box] == v).all())
        area = len(rows) * len(cols) / (32 * 16)
        assert 0.01 <= area <= 0.45
    assert torch.equal(out[~erased], x[~erased])


def test_random_erasing_fills_with_noise_inside_a_rectangle_only():
    x = torch.zeros(500, 3, 32, 16)
    out = T.random_erasing(x, T.make_generator(5), p=1.0)
    changed = (out != 0).any(1)
    assert bool(changed.flatten(1).any(1).all())
    assert out[out != 0].std() > 0.5
    for m in changed:  # what changed is exactly one axis-aligned rectangle: its bounding box, filled
        rows, cols = torch.where(m.any(1))[0], torch.where(m.any(0))[0]
        box = torch.zeros_like(m)
        box[rows.min():rows.max() + 1, cols.min():cols.max() + 1] = True
        assert torch.equal(m, box)


def test_infrared_is_not_channel_recombined_but_visible_is():
    consts = torch.tensor([0.1, 0.5, 0.9]).view(1, 3, 1, 1)
    x = consts.expand(300, 3, 8, 4).contiguous()
    aug = T.AugmentConfig(rcc=True, cre=False, pad=0, flip=False)
    vis, ir = T.train_transform(x, x, T.make_generator(0), aug)
    mean = torch.tensor(T.IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(T.IMAGENET_STD).view(1, 3, 1, 1)
    ir_raw, vis_raw = ir * std + mean, vis * std + mean
    torch.testing.assert_close(ir_raw, x)
    assert not torch.allclose(vis_raw, x)


def test_color_jitter_stays_in_range_and_varies_per_image():
    x = torch.rand(1, 3, 8, 4).expand(50, 3, 8, 4).contiguous()
    out = T.color_jitter(x, T.make_generator(0))
    assert out.min() >= 0 and out.max() <= 1
    assert len({round(float(o.mean()), 5) for o in out}) > 40


def test_to_tensor_layout_and_scale():
    a = np.zeros((2, 4, 3, 3), np.uint8)
    a[..., 0] = 255
    t = T.to_tensor(a)
    assert t.shape == (2, 3, 4, 3) and float(t[:, 0].min()) == 1.0 and float(t[:, 1:].max()) == 0.0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU on this machine")
def test_runs_on_the_batch_device():
    x = batch().cuda()
    vis, ir = T.train_transform(x, x, T.make_generator(0, "cuda"))
    assert vis.device.type == "cuda"
