"""Test fixtures: every test runs against temporary data and results folders, never the repo's own."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def _isolated_dirs(tmp_path_factory):
    # one data folder per pytest-xdist worker: the smoke dataset is generated there once (0.2 s)
    data = tmp_path_factory.mktemp("data")
    results = tmp_path_factory.mktemp("results")
    old = {k: os.environ.get(k) for k in ("VIREID_DATA_DIR", "VIREID_RESULTS_DIR", "MPLBACKEND")}
    os.environ["VIREID_DATA_DIR"] = str(data)
    os.environ["VIREID_RESULTS_DIR"] = str(results)
    os.environ["MPLBACKEND"] = "Agg"
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def smoke_cfg():
    from vireid_lib.config import data_config

    return data_config("smoke")


@pytest.fixture(scope="session")
def sysu_root(smoke_cfg) -> Path:
    from vireid_lib.data import dataset_root

    return dataset_root(smoke_cfg, verbose=False)


@pytest.fixture(scope="session")
def regdb_root(smoke_cfg) -> Path:
    import dataclasses

    from vireid_lib.data import dataset_root

    return dataset_root(dataclasses.replace(smoke_cfg, dataset="regdb"), verbose=False)


@pytest.fixture
def sysu_copy(sysu_root, tmp_path) -> Path:
    """A private, writable copy of the smoke SYSU-MM01 dataset (for tests that damage it)."""
    import shutil

    dst = tmp_path / "SYSU-MM01"
    shutil.copytree(sysu_root, dst)
    return dst


@pytest.fixture
def regdb_copy(regdb_root, tmp_path) -> Path:
    import shutil

    dst = tmp_path / "RegDB"
    shutil.copytree(regdb_root, dst)
    return dst


@pytest.fixture
def chrome(tmp_path_factory):
    """Headless Chromium driven by selenium (Debian's chromium and chromium-driver), with a new empty profile;
    skipped, saying how to install them, only where there is no browser."""
    import shutil

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver = shutil.which("chromium") or shutil.which("chromium-browser"), shutil.which("chromedriver")
    if not (binary and driver):
        pytest.skip("no chromium/chromedriver on this machine (.ci/run installs Debian's chromium and "
                    "chromium-driver; `apt-get install chromium chromium-driver` here)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--allow-file-access-from-files", "--window-size=1400,1000",
                 f"--user-data-dir={tmp_path_factory.mktemp('chrome')}"):
        opts.add_argument(flag)
    browser = webdriver.Chrome(service=Service(driver), options=opts)
    yield browser
    browser.quit()


@pytest.fixture
def load_benchmark():
    """A loader of ``benchmarks/<name>.py`` as a module (the benchmarks are scripts, not a package)."""
    import importlib.util

    def load(name: str):
        path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return load
