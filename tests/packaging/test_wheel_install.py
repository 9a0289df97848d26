"""The built wheel is the product: installed outside the source tree it runs the demo with the
person detector, and the documented Pi install keeps the system's numpy.

Slow (a wheel build and two venvs, ~2-4 min): pip fetches the locked versions from its index
or cache. Every process runs in a folder under tmp_path with $EDGE_GATE_CONFIG set, so nothing
here reads the host's /etc/edge-gate or the checkout.
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from needs import unavailable

from edge.vision.person.settings import DEFAULT_MODEL, DEFAULT_MODEL_SHA256

REPO = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = Path("/usr/bin/python3")  # Debian's, with Debian's numpy 1.x (python3-numpy)
TAG = f"py{sys.version_info[0]}{sys.version_info[1]}-{platform.machine()}"

# A cold pip cache downloads ~150 MB: more than the suite's 300 s per test.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def run(args: list[str], cwd: Path, timeout: float = 900, **env: str) -> str:
    """Run a command outside the checkout; its output, or a failure that shows it."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    full_env.update(env)
    out = subprocess.run(
        args, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout, check=False
    )
    text = out.stdout + out.stderr
    assert out.returncode == 0, f"{args[:4]} exited {out.returncode}:\n{text[-4000:]}"
    return text


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The wheel built from the checkout, and the build's output."""
    dist = tmp_path_factory.mktemp("dist")
    log = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(dist), str(REPO)], dist)
    (whl,) = dist.glob("edge_gate-*.whl")
    return whl, log


def test_building_the_wheel_prints_no_warning(wheel: tuple[Path, str]) -> None:
    _, log = wheel
    warnings = [
        line
        for line in log.splitlines()
        if "warning" in line.lower() and "WARNING: Location" not in line  # pip's index config
    ]
    assert warnings == []


def test_the_wheel_holds_model_config_units_contract_and_licence(wheel: tuple[Path, str]) -> None:
    whl, _ = wheel
    with zipfile.ZipFile(whl) as z:
        names = set(z.namelist())
        data = "edge_gate-0.1.0.data/data/share/edge-gate/"
        model = z.read(data + str(DEFAULT_MODEL))
    assert hashlib.sha256(model).hexdigest() == DEFAULT_MODEL_SHA256
    for wanted in (
        data + "examples/edge-gate.toml",
        data + "systemd/edge-gate.service",
        data + "systemd/edge-gate-central.service",
        data + "docs/asyncapi.yaml",
        data + "docs/licences.md",
        data + "LICENSE",
        "edge_gate-0.1.0.dist-info/licenses/LICENSE",
        "edge/sync/schemas/envelope.json",
        "edge/console/static/console.js",
        "edge/console/templates/layout.html",
    ):
        assert wanted in names, wanted


@pytest.fixture(scope="module")
def venv(wheel: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv outside the source tree with the wheel and the locked versions."""
    lock = REPO / "constraints" / f"{TAG}.txt"
    if not lock.exists():
        pytest.fail(f"no lock {lock.name}: run scripts/lock-constraints.sh")
    where = tmp_path_factory.mktemp("fresh")
    run([sys.executable, "-m", "venv", str(where / "venv")], where)
    pip = [str(where / "venv" / "bin" / "python"), "-m", "pip", "install", "-q"]
    run([*pip, str(wheel[0]), "--constraint", str(lock)], where)
    return where / "venv"


def test_fresh_venv_runs_the_demo_with_the_detector(venv: Path, tmp_path: Path) -> None:
    where = run([str(venv / "bin" / "python"), "-c", "import edge; print(edge.__file__)"], tmp_path)
    assert str(venv) in where and str(REPO) not in where  # the installed copy, not the checkout
    out = run(
        [str(venv / "bin" / "edge-gate"), "demo", "--workdir", str(tmp_path / "demo")],
        tmp_path,
        EDGE_GATE_CONFIG="",
    )
    assert "detector unavailable" not in out
    assert "person detector on the CPU" in out
    assert "ALERT person_in_zone" in out  # the detector ran and found the person
    assert not (tmp_path / "var").exists()  # the demo keeps its state in --workdir


def test_installed_model_is_checked_at_load(venv: Path, tmp_path: Path) -> None:
    """A damaged model in the venv is refused by its sha256, with the reason."""
    model = venv / "share" / "edge-gate" / DEFAULT_MODEL
    original = model.read_bytes()
    model.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    try:
        code = (
            "from edge.vision.person.detector import Detector\n"
            "from edge.vision.person.settings import DetectorSettings\n"
            "print(Detector(DetectorSettings()).status.message)\n"
        )
        out = run([str(venv / "bin" / "python"), "-c", code], tmp_path)
    finally:
        model.write_bytes(original)
    assert str(model) in out and f"expected {DEFAULT_MODEL_SHA256}" in out


def test_pi_install_keeps_the_system_numpy(wheel: tuple[Path, str], tmp_path: Path) -> None:
    """scripts/install-pi.sh --prefix over Debian's python3-numpy 1.x (Debian 12: 1.24)."""
    probe = "import numpy, bottleneck; print(numpy.__version__, numpy.__file__)"
    if not SYSTEM_PYTHON.exists():
        unavailable("Debian's /usr/bin/python3")
    found = subprocess.run(
        [str(SYSTEM_PYTHON), "-c", probe], capture_output=True, text=True, check=False
    )
    if found.returncode != 0 or not found.stdout.startswith("1."):
        unavailable("python3-numpy 1.x and python3-bottleneck (apt-get install them)")
    system_numpy = found.stdout.split()
    prefix = tmp_path / "gate"
    log = run(
        [
            str(REPO / "scripts" / "install-pi.sh"),
            "--prefix",
            str(prefix),
            "--wheel",
            str(wheel[0]),
        ],
        tmp_path,
        PYTHON=str(SYSTEM_PYTHON),
    )
    assert f"system versions kept: numpy=={system_numpy[0]}" in log
    python = str(prefix / "venv" / "bin" / "python")
    # Debian's numpy is the one the venv imports, and a module compiled against it still works.
    assert run([python, "-c", probe], tmp_path).split() == system_numpy
    config = prefix / "etc" / "edge-gate.toml"
    assert f'"{prefix}/var/' in config.read_text()  # state under the prefix, not /var/lib
    out = run(
        [str(prefix / "venv" / "bin" / "edge-gate"), "demo", "--workdir", str(tmp_path / "d")],
        tmp_path,
        EDGE_GATE_CONFIG="",
    )
    assert "ALERT person_in_zone" in out
    assert (prefix / "systemd" / "edge-gate.service").is_file()
