"""Shapes of f0–f4, the fusion maps and the embeddings; gradients to every branch; ImageNet weights offline."""

import pytest
import torch
import torchvision

from vireid_lib.config import LossConfig, ModelConfig
from vireid_lib.errors import ConfigError
from vireid_lib.losses import total_loss
from vireid_lib.models import FusionModule, VIReIDNet, feature_sizes, gem
from vireid_lib.models import backbone as B


def test_resnet50_shapes_at_the_papers_resolution():
    """288×144 with last stride 1: f1 72×36, f2 36×18, f3 18×9, f4 18×9 (REFERENCE-IMPLEMENTATIONS §3)."""
    net = B.TwoStreamResNet(depth=50, pretrained=False).eval()
    with torch.no_grad():
        f = net(torch.randn(1, 3, 288, 144), torch.randn(1, 3, 288, 144))
    assert [tuple(x.shape) for x in f] == [(2, 64, 72, 36), (2, 256, 72, 36), (2, 512, 36, 18),
                                           (2, 1024, 18, 9), (2, 2048, 18, 9)]
    assert feature_sizes(288, 144) == {1: (72, 36), 2: (36, 18), 3: (18, 9), 4: (18, 9)}


def test_each_modality_has_its_own_layer0_and_shares_the_rest():
    net = B.TwoStreamResNet(depth=10, width=8)
    assert net.visible[0] is not net.infrared[0]
    x = torch.randn(2, 3, 64, 32)
    with torch.no_grad():
        both = net.eval()(x, x)[0]
        vis = net.layer0(x, None)
        ir = net.layer0(None, x)
    assert torch.equal(both[:2], vis) and torch.equal(both[2:], ir)  # f0: visible rows first (Eq. 1)
    assert not torch.equal(vis, ir)


@pytest.mark.parametrize("layers", [(1, 2, 3), (2, 3), (1, 2, 3, 4), (3, 4)])
def test_fusion_module_eq2_shapes_and_weights(layers):
    sizes = feature_sizes(64, 32)
    ch = {1: 8, 2: 16, 3: 32, 4: 64}
    fm = FusionModule(ch, sizes, layers, channels=12)
    feats = {i: torch.randn(2, ch[i], *sizes[i]) for i in (1, 2, 3, 4)}
    out = fm(feats)
    assert out.shape == (2, 12 * len(layers), *sizes[layers[0]])  # at the first fused layer's resolution
    # one logit per position and layer; the weights α, β, γ a softmax across the layers: equal (1/L) at first
    assert all(tuple(w.shape) == (1, 1, *sizes[layers[0]]) for w in fm.weight_logits.values())
    torch.testing.assert_close(fm.weight_maps()[layers[0]], torch.full((1, 1, *sizes[layers[0]]), 1 / len(layers)))
    # Eq. 2 by hand: concatenation of weight ⊗ upsampled 1×1-conv maps, weights = softmax of the logits
    with torch.no_grad():
        for w in fm.weight_logits.values():
            w.uniform_(-2, 2)
        logits = torch.cat([fm.weight_logits[str(i)] for i in layers], 1)
        alpha = logits.exp() / logits.exp().sum(1, keepdim=True)
        manual = []
        for k, i in enumerate(layers):  # 1×1 conv as a channel contraction, bilinear upsampling, weight map ⊗
            conv = torch.einsum("oc,bchw->bohw", fm.reduce[str(i)].weight[:, :, 0, 0], feats[i])
            if conv.shape[-2:] != sizes[layers[0]]:
                conv = torch.nn.functional.interpolate(conv, size=sizes[layers[0]], mode="bilinear")
            manual.append(alpha[:, k : k + 1] * conv)
        torch.testing.assert_close(fm(feats), torch.cat(manual, 1))
        torch.testing.assert_close(sum(fm.weight_maps().values()), torch.ones(1, 1, *sizes[layers[0]]))


def test_free_fusion_weights_are_the_unconstrained_values_of_the_text():
    sizes = feature_sizes(64, 32)
    ch = {1: 8, 2: 16, 3: 32}
    fm = FusionModule(ch, sizes, (1, 2, 3), channels=6, weights="free")
    assert not hasattr(fm, "weight_logits")
    feats = {i: torch.randn(2, ch[i], *sizes[i]) for i in (1, 2, 3)}
    with torch.no_grad():
        torch.testing.assert_close(fm(feats), torch.cat([fm.aligned(feats)[i] for i in (1, 2, 3)], 1))  # all 1
        fm.weights["1"].fill_(79.0)  # what one position reached in a healthy run of the cpu profile: nothing bounds it
        assert float(fm.weight_maps()[1].max()) == 79.0
        torch.testing.assert_close(fm(feats)[:, :6], 79.0 * fm.aligned(feats)[1])
    with pytest.raises(ValueError, match="'learned', 'free' or 'adaptive'"):
        FusionModule(ch, sizes, (1, 2), channels=6, weights="softmax")


def test_a_model_saved_under_another_weight_reading_does_not_load_silently():
    free = VIReIDNet(ModelConfig(depth=10, width=8, pretrained=False, fusion_channels=8, fusion_weights="free"), 5,
                     64, 32)
    learned = VIReIDNet(ModelConfig(depth=10, width=8, pretrained=False, fusion_channels=8), 5, 64, 32)
    with pytest.raises(RuntimeError, match="weight_logits"):
        learned.load_state_dict(free.state_dict())


def test_a_run_saved_under_another_weight_reading_names_the_reading_that_loads_it(tmp_path):
    import dataclasses
    import json

    from vireid_lib import engine
    from vireid_lib.config import experiment_config
    from vireid_lib.errors import CheckpointError

    cfg = experiment_config("smoke", **{"model.fusion_layers": (1, 2)})
    free_cfg = cfg.with_overrides(**{"model.fusion_weights": "free"})
    h, w = cfg.data.height, cfg.data.width
    free = VIReIDNet(dataclasses.replace(free_cfg.model, pretrained=False), 5, h, w)
    weights = free.state_dict()
    torch.save({"format": engine.MODEL_FORMAT, "sha256": engine.state_digest(weights), "state_dict": weights},
               tmp_path / "model.pt")
    (tmp_path / "final.json").write_text(json.dumps({"num_classes": 5}))
    with pytest.raises(CheckpointError, match="'free' reading.*model.fusion_weights='free'"):
        engine.load_model(cfg, tmp_path)
    assert engine.load_model(free_cfg, tmp_path).fusion.mode == "free"  # as the message says


def test_gem_is_the_generalised_mean():
    x = torch.rand(3, 5, 4, 2)
    torch.testing.assert_close(gem(x, 3.0), (x.pow(3).mean((2, 3))).pow(1 / 3))
    torch.testing.assert_close(gem(x, 1.0), x.mean((2, 3)))
    assert torch.isfinite(gem(-x)).all()  # negative fusion activations are clamped, never NaN


def small(fusion=(1, 2, 3)):
    return VIReIDNet(ModelConfig(depth=10, width=8, pretrained=False, fusion_layers=fusion, fusion_channels=16),
                     num_classes=7, height=64, width=32)


def test_branches_and_embeddings():
    net = small()
    x = torch.randn(4, 3, 64, 32)
    out = net(x, x)
    assert out["global"].pooled.shape == (8, 64) and out["fusion"].pooled.shape == (8, 48)
    assert out["joint"].pooled.shape == (8, 112)  # Eq. 3: V_global ⊕ V_fusion
    torch.testing.assert_close(out["joint"].pooled, torch.cat([out["global"].pooled, out["fusion"].pooled], 1))
    assert all(o.logits.shape == (8, 7) for o in out.values())
    net.eval()
    e = net.embed(x, "infrared")
    assert e.shape == (4, 112) and torch.allclose(e.norm(dim=1), torch.ones(4))
    base = small(fusion=())
    assert base.branches == ("global",) and base.test_branch == "global"
    assert base.embed(x, "visible").shape == (4, 64)


def test_bnneck_follows_agw():
    net = small()
    head = net.joint_head
    assert not head.bn.bias.requires_grad and head.classifier.bias is None
    assert abs(float(head.classifier.weight.detach().std()) - 0.001) < 0.0005


def test_gradients_reach_every_branch_and_both_stems():
    torch.manual_seed(0)
    net = small()
    x = torch.randn(8, 3, 64, 32)
    labels = torch.arange(4).repeat(4)
    loss, parts = total_loss(net(x[:8], x[:8] * 0.5), labels, LossConfig())
    assert set(parts) == {"id_global", "id_fusion", "id_joint", "kd1", "kd2", "wrt"}
    loss.backward()
    no_grad = [n for n, p in net.named_parameters()
               if p.requires_grad and (p.grad is None or not p.grad.abs().sum() > 0)]
    assert not no_grad, no_grad
    for name in ("backbone.visible.0.weight", "backbone.infrared.0.weight", "fusion.weight_logits.1",
                 "fusion.weight_logits.3", "fusion.reduce.2.weight", "global_head.classifier.weight",
                 "joint_head.classifier.weight"):
        assert dict(net.named_parameters())[name].grad.abs().sum() > 0


def test_imagenet_weights_offline_say_how_to_proceed(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))

    def no_network(*a, **k):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    with pytest.raises(ConfigError, match=r"resnet50-0676ba61.pth.*weights_path.*pretrained=False"):
        B.TwoStreamResNet(depth=50, pretrained=True)


def test_imagenet_weights_from_a_local_file_load_into_both_stems(tmp_path):
    ref = torchvision.models.resnet18()
    torch.save(ref.state_dict(), tmp_path / "r18.pth")
    net = B.TwoStreamResNet(depth=18, pretrained=True, weights_path=str(tmp_path / "r18.pth"))
    assert torch.equal(net.visible[0].weight, ref.conv1.weight)
    assert torch.equal(net.infrared[0].weight, ref.conv1.weight)
    assert torch.equal(net.layer3[1].conv2.weight, ref.layer3[1].conv2.weight)
    with pytest.raises(ConfigError, match="width 64"):
        B.TwoStreamResNet(depth=18, width=32, pretrained=True, weights_path=str(tmp_path / "r18.pth"))


def test_weights_that_do_not_fit_are_an_error_not_a_silent_random_init(tmp_path):
    ref = torchvision.models.resnet18()
    torch.save({"state_dict": ref.state_dict()}, tmp_path / "wrapped.pth")
    with pytest.raises(ConfigError, match="do not fit a ResNet-18.*plain torchvision state dict"):
        B.TwoStreamResNet(depth=18, pretrained=True, weights_path=str(tmp_path / "wrapped.pth"))


class _RunsCodeWhenUnpickled:
    def __reduce__(self):
        return (print, ("this ran while loading weights",))


def test_weights_are_loaded_weights_only_a_file_that_runs_code_is_refused(tmp_path, capsys):
    torch.save({"conv1.weight": torch.zeros(1), "payload": _RunsCodeWhenUnpickled()}, tmp_path / "evil.pth")
    with pytest.raises(ConfigError, match=r"evil.pth could not be loaded as a weights-only state dict"):
        B.imagenet_state_dict(18, str(tmp_path / "evil.pth"))
    assert "this ran" not in capsys.readouterr().out
    (tmp_path / "text.pth").write_text("not a torch file")
    with pytest.raises(ConfigError, match="text.pth could not be loaded"):
        B.imagenet_state_dict(18, str(tmp_path / "text.pth"))


def test_imagenet_weights_come_from_the_torch_hub_cache_without_network(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))

    def no_network(*a, **k):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    ref = torchvision.models.resnet18()
    (tmp_path / "checkpoints").mkdir()
    torch.save(ref.state_dict(), tmp_path / "checkpoints" / B.imagenet_weights(18).url.rsplit("/", 1)[-1])
    net = B.TwoStreamResNet(depth=18, pretrained=True)
    assert torch.equal(net.infrared[0].weight, ref.conv1.weight)
    assert torch.equal(net.layer4[1].bn2.running_var, ref.layer4[1].bn2.running_var)


@pytest.mark.parametrize("n_in,n_out", [(8, 16), (4, 16), (18, 72), (36, 72), (5, 16), (16, 16)])
def test_the_upsampling_matrix_is_pytorchs_bilinear_interpolation(n_in, n_out):
    from vireid_lib.models.fusion import bilinear_matrix

    x = torch.randn(2, 3, n_in, max(n_in // 2, 1), dtype=torch.float64)
    ref = torch.nn.functional.interpolate(x, size=(n_out, max(n_out // 2, 1)), mode="bilinear", align_corners=False)
    ours = bilinear_matrix(n_in, n_out).double() @ x @ bilinear_matrix(max(n_in // 2, 1), max(n_out // 2, 1)).double().T
    torch.testing.assert_close(ours, ref, atol=1e-6, rtol=1e-6)


def test_the_fusion_module_upsamples_as_f_interpolate_would():
    sizes = feature_sizes(64, 32)
    fm = FusionModule({1: 8, 2: 16, 3: 32}, sizes, (1, 2, 3), channels=6)
    feats = {i: torch.randn(2, c, *sizes[i]) for i, c in ((1, 8), (2, 16), (3, 32))}
    al = fm.aligned(feats)
    for i in (2, 3):
        ref = torch.nn.functional.interpolate(fm.reduce[str(i)](feats[i]), size=sizes[1], mode="bilinear",
                                              align_corners=False)
        torch.testing.assert_close(al[i], ref, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="built for"):
        fm.aligned({**feats, 2: torch.randn(2, 16, 5, 5)})


def test_adaptive_fusion_weights_are_a_softmax_across_layers_equal_at_first():
    sizes = feature_sizes(64, 32)
    fm = FusionModule({1: 8, 2: 16, 3: 32}, sizes, (1, 2, 3), channels=6, weights="adaptive")
    feats = {i: torch.randn(2, c, *sizes[i]) for i, c in ((1, 8), (2, 16), (3, 32))}
    w = fm.weight_maps(fm.aligned(feats))
    assert all(v.shape == (2, 1, *sizes[1]) for v in w.values())
    torch.testing.assert_close(sum(w.values()), torch.ones(2, 1, *sizes[1]))
    torch.testing.assert_close(w[1], torch.full_like(w[1], 1 / 3))  # zero-initialised logits: equal weights
    torch.nn.init.normal_(fm.logits["2"].weight)
    w = fm.weight_maps(fm.aligned(feats))
    torch.testing.assert_close(sum(w.values()), torch.ones(2, 1, *sizes[1]))
    assert float(w[2].detach().std()) > 0  # now computed from the features, position by position
    assert fm(feats).shape == (2, 18, *sizes[1])


def test_the_test_feature_reading_picks_the_bn_output_or_the_pooled_vector():
    net = VIReIDNet(ModelConfig(depth=10, width=8, pretrained=False, fusion_channels=8), 5, 64, 32).eval()
    pool = VIReIDNet(ModelConfig(depth=10, width=8, pretrained=False, fusion_channels=8, test_feature="pool"), 5,
                     64, 32).eval()
    pool.load_state_dict(net.state_dict())
    x = torch.rand(3, 3, 64, 32)
    with torch.no_grad():
        out = net(x, None)["joint"]
        torch.testing.assert_close(net.embed(x, "visible"), torch.nn.functional.normalize(out.bn, dim=1))
        torch.testing.assert_close(pool.embed(x, "visible"), torch.nn.functional.normalize(out.pooled, dim=1))
        torch.testing.assert_close(net.embed(x, "visible", feature="pool"), pool.embed(x, "visible"))
