"""The notebooks as a learner uses them: JupyterLab from the project's environment, in a real (headless) browser.

Notebooks 02 and 04 are opened in JupyterLab, the parameters cell is set to the smoke profile by typing into it,
and Run All is chosen from the Run menu. Every cell must run without error, a figure and a progress bar must
render, and the study's results must stay as they were: the run writes to the git-ignored scratch folder. The
server serves copies of the notebooks (its autosave never touches notebooks/), its kernels write to a results
folder inside a throw-away git repository that has the project's .gitignore (so `git status` there tells what a
learner's clone would show), and the real repository's `git status results/` is checked unchanged too.
"""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from vireid_lib import notebooks as NB
from vireid_lib.paths import REPO_ROOT

pytestmark = pytest.mark.slow

SMOKE = 'profile = "smoke"  # typed in by the test, as a learner would'
# Records every progress bar that appears while the cells run: a training epoch's bar closes when it ends.
WATCH_PROGRESS = """
window.vireidSawProgress = false;
new MutationObserver(() => {
  if (document.querySelector('.jp-OutputArea .widget-hprogress')) window.vireidSawProgress = true;
}).observe(document.body, {childList: true, subtree: true});
"""
PROMPTS = "[...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')].map(e => e.textContent)"


def _git_status(repo: Path) -> str:
    return subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=all", "results"],
                          capture_output=True, text=True, check=True).stdout


@pytest.fixture
def lab(tmp_path):
    """A JupyterLab server (the project's environment, a free port of 127.0.0.1, a token, temporary settings and
    root); yields its base URL with the token, the served root and the results' git repository. Stopped by its
    pid, after its kernels are shut down."""
    root, repo = tmp_path / "root", tmp_path / "clone"
    root.mkdir()
    for name in ("02_rcc_augmentation", "04_training"):
        shutil.copy(NB.get(name).path, root)
    (repo / "results").mkdir(parents=True)
    shutil.copy(REPO_ROOT / ".gitignore", repo / ".gitignore")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    settings = tmp_path / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)  # no "get notified about Jupyter news?" toast over the notebook
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items()
           if k not in ("MPLBACKEND", "VIREID_BATCH_RUN", NB.STUDY_RUN_ENV)}  # as a learner's shell: none set
    env.update({"PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
                "VIREID_RESULTS_DIR": str(repo / "results"), "VIREID_DATA_DIR": os.environ["VIREID_DATA_DIR"],
                "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings")})
    for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_WORKSPACES_DIR",
                "IPYTHONDIR"):
        env[var] = str(tmp_path / var.lower())
    log = (tmp_path / "lab.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}", "--LabApp.extension_manager=readonly", "--LabApp.news_url=None"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5)
                break
            except OSError:
                assert server.poll() is None and time.time() < deadline, \
                    "JupyterLab did not start:\n" + (tmp_path / "lab.log").read_text()[-3000:]
                time.sleep(0.3)
        yield {"base": base, "token": token, "root": root, "repo": repo, "log": tmp_path / "lab.log"}
    finally:
        try:
            kernels = json.load(urllib.request.urlopen(f"{base}/api/kernels?token={token}", timeout=10))
            for k in kernels:
                urllib.request.urlopen(urllib.request.Request(
                    f"{base}/api/kernels/{k['id']}?token={token}", method="DELETE"), timeout=30)
        except OSError:
            pass  # the server is gone already: so are its kernels
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _wait(browser, script: str, timeout: float, what: str):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = browser.execute_script(script)
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _run_in_lab(browser, lab, name: str) -> dict:
    """Open ``name`` in JupyterLab, type the smoke profile into its parameters cell, choose Run > Run All Cells,
    wait for the kernel to finish, save; return what the page and the saved notebook show."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    # a workspace of its own: only this notebook open (a page holds every open tab's cells)
    browser.get(f"{lab['base']}/lab/workspaces/{name}/tree/{name}.ipynb?token={lab['token']}")
    n_code = sum(c["cell_type"] == "code" for c in json.loads(NB.get(name).path.read_text())["cells"])
    _wait(browser, f"return {PROMPTS}.length === {n_code} && document.querySelector("
                   "'.jp-Notebook-ExecutionIndicator[data-status=\"idle\"]')", 120, f"{name} open, kernel idle")
    editor = browser.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-CodeCell .cm-content")[0]
    editor.click()
    modifier = Keys.COMMAND if sys.platform == "darwin" else Keys.CONTROL
    ActionChains(browser).key_down(modifier).send_keys(Keys.END).key_up(modifier).perform()  # the cell's end
    editor.send_keys(Keys.ENTER + SMOKE)  # a last line: it overrides the default above it
    browser.execute_script(WATCH_PROGRESS)
    _menu(browser, "Run", "runmenu:run-all")
    _wait(browser, f"return ({PROMPTS}).some(p => p.includes('*'))", 60, f"{name}: Run All to start")
    _wait(browser, f"return !({PROMPTS}).some(p => p.includes('*'))", 600, f"{name}: every cell to finish")
    # cells whose input is collapsed (the exercises' hidden solutions) show no prompt: wait for the kernel too
    _wait(browser, "return document.querySelector('.jp-Notebook-ExecutionIndicator[data-status=\"idle\"]')", 600,
          f"{name}: the kernel to be idle")
    page = browser.execute_script(f"""
        return {{prompts: ({PROMPTS}),
                 images: [...document.querySelectorAll('.jp-OutputArea-output img')]
                         .filter(i => i.complete && i.naturalWidth > 0).length,
                 progress: window.vireidSawProgress}};""")
    _menu(browser, "File", "docmanager:save")
    _wait(browser, "return !document.querySelector('.lm-TabBar-tab.jp-mod-dirty')", 60, f"{name} to be saved")
    saved = json.loads((lab["root"] / f"{name}.ipynb").read_text())
    page["cells"] = [c for c in saved["cells"] if c["cell_type"] == "code"]
    return page


def _menu(browser, menu: str, command: str) -> None:
    from selenium.webdriver.common.by import By

    browser.find_element(By.XPATH, f"//div[contains(@class, 'lm-MenuBar-itemLabel')][text()='{menu}']").click()
    browser.find_element(By.CSS_SELECTOR, f"li[data-command='{command}']").click()


def test_notebooks_run_in_jupyterlab_with_the_smoke_profile_and_leave_the_study_results_alone(lab, chrome):
    before = _git_status(REPO_ROOT)
    for name, wants_progress in (("02_rcc_augmentation", False), ("04_training", True)):
        page = _run_in_lab(chrome, lab, name)
        errors = [o for c in page["cells"] for o in c["outputs"] if o["output_type"] == "error"]
        assert not errors, f"{name}: {errors[0]['ename']}: {errors[0]['evalue']}"
        assert all(c["execution_count"] for c in page["cells"]), f"{name}: not every cell ran: {page['prompts']}"
        assert "".join(page["cells"][0]["source"]).endswith("\n" + SMOKE), "the parameters cell, edited in the UI"
        said = "".join(t for o in page["cells"][1]["outputs"] for t in o.get("text", []))
        assert "results/scratch/smoke" in said, f"{name} says where its outputs go: {said!r}"
        assert page["images"] >= len(NB.get(name).figures), f"{name}: {page['images']} figures rendered"
        assert page["progress"] or not wants_progress, f"{name}: no progress bar rendered"
        scratch = lab["repo"] / "results" / "scratch" / "smoke"
        assert {p.name for p in NB.get(name).promised(scratch)} <= {p.name for p in scratch.rglob("*")}
    assert _git_status(lab["repo"]) == "", "the learner's run changed the study's results"
    assert _git_status(REPO_ROOT) == before
    assert "Traceback" not in lab["log"].read_text()
