"""autocmo as a user installs it: a wheel built from this checkout, installed into a fresh virtual
environment, run from a folder that is not the checkout. The sample brand kit and the eval
datasets must come from the installed package, not from the source tree.

The fresh environment reuses this environment's third-party packages through a `.pth` file
(torch is not installed twice); the project's own packages come only from the wheel.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from core.db import Database, alembic_config

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.integration, pytest.mark.slow]

_NOT_SOURCE = shutil.ignore_patterns(
    ".*", "__pycache__", "*.egg-info", "build", "dist", "var", "tests", "bench"
)

MESSAGES = [
    {
        "id": "loud",
        "channel": "email",
        "subject": "Hello",
        "body": "GUARANTEED results!!! 100% free, buy now",
    },
    {
        "id": "calm",
        "channel": "email",
        "subject": "New trail boots are in",
        "body": "Hi Ana, our new trail boots are in stock. Take a look when you have a minute.",
    },
]


def _run(*args: str | Path, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def _pip(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """This environment's pip (building and installing need no network)."""
    return _run(sys.executable, "-m", "pip", *args, cwd=ROOT, env=dict(os.environ))


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `bin` folder of a fresh virtual environment with the autocmo wheel installed."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=_NOT_SOURCE)  # build outside the checkout: no build/ in it
    dist = tmp / "dist"
    built = _pip("wheel", src, "--no-deps", "--no-build-isolation", "--quiet", "--wheel-dir", dist)
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("autocmo-*.whl")

    env_dir = tmp / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # Third-party packages from this environment, after the fresh one's own site-packages.
    # (.pth files in that folder are not processed, so this checkout's editable hook stays out.)
    Path(purelib, "_reuse_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = _pip("--python", python, "install", "--quiet", "--no-deps", "--no-index", wheel)
    assert done.returncode == 0, done.stderr
    return env_dir / "bin"


@pytest.fixture
def elsewhere(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A working folder that is not the checkout, and an environment that says nothing about
    Hugging Face, the brand kit or the project's sources."""
    work = tmp_path / "work"
    work.mkdir()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "AUTOCMO_DATA_DIR": str(tmp_path / "var"),
    }
    return work, env


def test_the_installed_package_is_the_wheel(
    installed: Path, elsewhere: tuple[Path, dict[str, str]]
) -> None:
    work, env = elsewhere
    probe = "import api, brands, core, evals; print(api.__file__, brands.__file__, core.__file__)"
    out = _run(installed / "python", "-c", probe, cwd=work, env=env)
    assert out.returncode == 0, out.stderr
    locations = out.stdout.split()
    assert len(locations) == 3
    assert all(Path(p).is_relative_to(installed.parent) for p in locations), locations


def test_help_and_check_run_from_the_wheel(
    installed: Path, elsewhere: tuple[Path, dict[str, str]]
) -> None:
    work, env = elsewhere
    helped = _run(installed / "autocmo", "--help", cwd=work, env=env)
    assert helped.returncode == 0, helped.stderr
    assert "check" in helped.stdout and "brief" in helped.stdout

    messages = work / "messages.jsonl"
    messages.write_text("".join(json.dumps(m) + "\n" for m in MESSAGES))
    checked = _run(installed / "autocmo", "check", messages.name, cwd=work, env=env)
    assert checked.returncode == 0, checked.stderr
    results = {r["id"]: r for r in map(json.loads, checked.stdout.splitlines())}
    assert results["calm"]["verdict"] == "pass", results["calm"]
    loud = results["loud"]
    assert loud["verdict"] == "block"
    rules = {f["rule_id"] for f in loud["findings"]}
    assert {"banned.phrase", "claims.unsubstantiated"} <= rules
    # the verdict is the shipped sample kit's: its brand name and its banned phrase
    assert any("Northwind Outfitters" in f["explanation"] for f in loud["findings"])
    assert checked.stderr == ""


def test_eval_finds_its_datasets_in_the_wheel(
    installed: Path, elsewhere: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    work, env = elsewhere
    report = tmp_path / "report"
    out = _run(installed / "autocmo", "eval", "--report", report, cwd=work, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "all eval thresholds met" in out.stdout
    result = json.loads((report / "report.json").read_text())
    # the shipped guardrails.jsonl has 313 labelled cases (some skipped for the kit)
    assert result["kit_id"] == "northwind" and result["cases"] >= 300
    assert result["passed"] is True


def _head_revision() -> str:
    """The newest migration in this source tree."""
    db = Database("sqlite://")
    try:
        with db.engine.connect() as conn:
            head = ScriptDirectory.from_config(alembic_config(conn)).get_current_head()
    finally:
        db.dispose()
    assert head is not None
    return head


def test_the_wheel_ships_its_migrations(
    installed: Path, elsewhere: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    work, env = elsewhere
    probe = (
        "import sys; from core.db import Database; "
        "d = Database('sqlite:///' + sys.argv[1]); d.migrate(); "
        "print(d.engine.connect().exec_driver_sql('SELECT version_num FROM alembic_version')"
        ".scalar_one())"
    )
    out = _run(installed / "python", "-c", probe, tmp_path / "w.db", cwd=work, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == _head_revision()
