import pytest

from vireid_lib.config import PROFILES, data_config
from vireid_lib.errors import ConfigError


@pytest.mark.parametrize("profile", ["smoke", "cpu"])
def test_profiles_build_and_validate(profile):
    cfg = data_config(profile)
    assert cfg.is_synthetic and cfg.dataset == "sysu"
    assert "synthetic" in cfg.label


def test_unknown_profile_and_field_are_errors_that_name_the_choices():
    with pytest.raises(ConfigError, match="smoke, cpu, paper"):
        data_config("gpu")
    with pytest.raises(ConfigError, match="valid fields"):
        data_config("cpu", heigth=64)
    with pytest.raises(ConfigError, match="n_train_idz"):
        data_config("cpu", synthetic={"n_train_idz": 3})


def test_bad_values_are_rejected():
    with pytest.raises(ConfigError, match="sysu_mode"):
        data_config("cpu", sysu_mode="outdoor")
    with pytest.raises(ConfigError, match="does not exist"):
        data_config("cpu", root="/nonexistent/SYSU-MM01")


def test_paper_profile_without_real_data_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.delenv("VIREID_SYSU_ROOT", raising=False)
    with pytest.raises(ConfigError, match="data/README.md"):
        data_config("paper")
    monkeypatch.setenv("VIREID_SYSU_ROOT", str(tmp_path))
    cfg = data_config("paper")
    assert cfg.root == str(tmp_path) and (cfg.height, cfg.width) == (288, 144)
    assert "paper" in PROFILES


def test_paper_profile_finds_each_dataset_at_its_own_place(monkeypatch, tmp_path):
    """Table 5 (RegDB) in the paper profile must not be pointed at the SYSU-MM01 folder."""
    from vireid_lib.config import experiment_config
    from vireid_lib.grids import TABLE1, TABLE5

    (tmp_path / "sysu").mkdir()
    (tmp_path / "regdb").mkdir()
    monkeypatch.setenv("VIREID_SYSU_ROOT", str(tmp_path / "sysu"))
    monkeypatch.setenv("VIREID_REGDB_ROOT", str(tmp_path / "regdb"))
    assert experiment_config("paper", **{"data.dataset": "regdb"}).data.root == str(tmp_path / "regdb")
    assert TABLE5[0].config("paper", 0, data_root=str(tmp_path / "sysu")).data.root == str(tmp_path / "regdb")
    assert TABLE1[0].config("paper", 0).data.root == str(tmp_path / "sysu")
    sysu = experiment_config("paper")
    assert sysu.with_overrides(**{"data.dataset": "regdb"}).data.root == str(tmp_path / "regdb")  # switched too
    assert sysu.with_overrides(**{"data.dataset": "regdb", "data.root": "/x"}).data.root == "/x"  # unless given
    real = experiment_config("cpu", data_root=str(tmp_path / "sysu"))  # another profile on real data
    with pytest.raises(ConfigError, match="give its folder too"):
        real.with_overrides(**{"data.dataset": "regdb"})  # never silently the synthetic RegDB
    assert real.with_overrides(**{"data.dataset": "regdb", "data.root": None}).data.is_synthetic


def test_wrt_needs_two_identities_per_batch():
    from vireid_lib.config import experiment_config

    with pytest.raises(ConfigError, match="train.P"):
        experiment_config("smoke", **{"train.P": 1})


def test_command_line_overrides_of_tuple_fields():
    """`--set train.milestones=20` (one JSON number) and `[10,20]` (a JSON list) both give the tuple field."""
    from vireid_lib.cli import _parse_sets
    from vireid_lib.config import experiment_config

    one = experiment_config("smoke", **_parse_sets(["train.milestones=20", "train.epochs=30"]))
    assert one.train.milestones == (20,)
    two = experiment_config("smoke", **_parse_sets(["train.milestones=[10,20]", "train.epochs=30"]))
    assert two.train.milestones == (10, 20)
    with pytest.raises(ConfigError, match="milestones"):
        experiment_config("smoke", **_parse_sets(["train.milestones=[20,10]"]))


def test_an_override_of_the_wrong_type_is_a_clear_error():
    from vireid_lib.config import experiment_config

    with pytest.raises(ConfigError, match=r"TrainConfig.epochs expects an integer, got 'ten'"):
        experiment_config("smoke", **{"train.epochs": "ten"})
    with pytest.raises(ConfigError, match="LossConfig.theta1 expects a number"):
        experiment_config("smoke", **{"loss.theta1": "high"})
    assert experiment_config("smoke", **{"loss.theta1": 1}).loss.theta1 == 1.0  # an integer is a number



def test_the_cpu_profile_trains_with_the_papers_sgd_on_a_scaled_schedule():
    """Issue 3's trainer: SGD, momentum 0.9, weight decay 5e-4, lr 0.1; the cpu profile only scales the schedule."""
    from vireid_lib.config import TrainConfig, experiment_config

    paper, cpu = TrainConfig(), experiment_config("cpu").train
    assert (paper.optimizer, paper.lr, paper.momentum, paper.weight_decay) == ("sgd", 0.1, 0.9, 5e-4)
    assert (cpu.optimizer, cpu.lr, cpu.momentum, cpu.weight_decay, cpu.nesterov) == \
        (paper.optimizer, paper.lr, paper.momentum, paper.weight_decay, paper.nesterov)
    assert cpu.epochs < paper.epochs and cpu.warmup_epochs < cpu.milestones[0] < cpu.epochs


def test_the_paper_profile_is_the_papers_setting(monkeypatch, tmp_path):
    from vireid_lib.config import experiment_config

    monkeypatch.setenv("VIREID_SYSU_ROOT", str(tmp_path))
    cfg = experiment_config("paper")
    m, t, d = cfg.model, cfg.train, cfg.data
    assert (m.depth, m.width, m.pretrained, m.fusion_channels, m.last_stride) == (50, 64, True, 256, 1)
    assert (d.height, d.width) == (288, 144) and (t.P, t.K) == (8, 4)
    assert (t.optimizer, t.lr, t.momentum, t.weight_decay) == ("sgd", 0.1, 0.9, 5e-4)
    assert (t.epochs, t.warmup_epochs, tuple(t.milestones)) == (80, 10, (20, 50))
    assert (cfg.loss.theta1, cfg.loss.theta2) == (0.6, 1.8)
