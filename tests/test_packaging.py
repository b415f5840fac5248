"""The environment is defined once (pyproject.toml) and mirrored exactly (environment.yml)."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def pyproject_pins() -> list[str]:
    d = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return d["project"]["dependencies"] + d["project"]["optional-dependencies"]["dev"]


def test_every_dependency_is_pinned_exactly_and_torch_first():
    pins = pyproject_pins()
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][0-9a-z.]*", p) for p in pins), pins
    assert pins[0] == "torch==2.14.1" and pins[1] == "torchvision==0.29.1"


def test_environment_yml_mirrors_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    assert "defaults" not in env["channels"] and "pytorch" not in env["channels"]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert [p for p in pip if not p.startswith("-e")] == pyproject_pins()
    assert "-e ." in pip


def test_venv_script_installs_the_pinned_torch_before_anything_else():
    script = (ROOT / ".ci" / "ensure-venv").read_text()
    assert script.index('"torch==2.14.1" "torchvision==0.29.1"') < script.index('-e ".[dev]"')
    assert "ipykernel install --sys-prefix --name python3" in script
    # CI runs the README's test command, then the fresh-clone reproduce check
    commands = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line.startswith("make ")]
    assert commands == ["make test", "make check-reproduce"]
