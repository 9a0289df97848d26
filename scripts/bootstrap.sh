#!/usr/bin/env bash
# Set up a fresh Debian machine for edge-gate: system packages, a .venv, the package itself.
#
#   scripts/bootstrap.sh demo   libraries the demo needs
#   scripts/bootstrap.sh test   everything the test suite needs (broker, database, browser …)
#
# Installs only what is missing. Uses apt-get as root, sudo -n otherwise, and says what to run
# by hand when neither works. Idempotent.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
profile="${1:-test}"

DEMO_PKGS=(libzbar0)
# python3-numpy, python3-bottleneck: Debian's numpy 1.x and a module compiled against it, for
# tests/packaging (a --system-site-packages venv must keep them working).
# rabbitmq-server: tests/sync/test_cluster_rabbitmq.py runs its own 3-node cluster (own ports, own
# epmd); it never uses the Debian service the package starts.
# fuse3, libfuse3-3: tests/faults/slowfs.py, a real slow filesystem for the slow-disk fault test.
TEST_PKGS=(libzbar0 mosquitto chromium chromium-driver postgresql shellcheck systemd sqlite3 qemu-user
  python3-numpy python3-bottleneck fonts-wqy-microhei nodejs rabbitmq-server fuse3 libfuse3-3)
case "$profile" in
  demo) want=("${DEMO_PKGS[@]}") ;;
  test) want=("${TEST_PKGS[@]}") ;;
  *) echo "usage: $0 demo|test" >&2; exit 2 ;;
esac

py="${PYTHON:-python3}"
if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "edge-gate needs Python 3.11 or newer as '$py' (set PYTHON=...)" >&2
  exit 1
fi
if ! "$py" -c 'import venv, ensurepip' 2>/dev/null; then
  want+=(python3-venv)
fi

# npm: Debian ships it apart from nodejs; NodeSource's nodejs bundles it (and conflicts with it)
if [[ $profile == test ]] && ! command -v npm >/dev/null; then
  want+=(npm)
fi

step() { printf '== bootstrap (%s) %s\n' "$profile" "$*"; }

step "1/4 Debian packages: ${want[*]}"
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing Debian packages: ${missing[*]}"
  if [[ $(id -u) -eq 0 ]]; then
    apt_get=(apt-get)
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    apt_get=(sudo -n apt-get)
  else
    echo "cannot install ${missing[*]}: not root and no password-less sudo." >&2
    echo "run: sudo apt-get install -y ${missing[*]}   then run make again" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Another apt (unattended-upgrades on a fresh machine) may hold the lock: wait for it.
  apt_get+=(-o DPkg::Lock::Timeout=900)
  if ! "$py" -c 'import fcntl
with open("/var/lib/dpkg/lock-frontend", "w") as f:
    fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)' 2>/dev/null && [[ $(id -u) -eq 0 ]]; then
    echo "   waiting for another apt (unattended-upgrades?) to release its lock, up to 15 min …"
  fi
  "${apt_get[@]}" update -qq
  "${apt_get[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "   all installed"
fi

step "2/4 Python venv .venv"
if [[ ! -x .venv/bin/python ]]; then
  "$py" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
extra=$([[ $profile == test ]] && echo '.[test]' || echo '.')
# The exact runtime versions for this Python and CPU (scripts/lock-constraints.sh).
lock=constraints/$(.venv/bin/python -c 'import sys; print(f"py{sys.version_info[0]}{sys.version_info[1]}")')-$(uname -m).txt
cons=()
if [[ -f $lock ]]; then
  cons=(--constraint "$lock")
else
  echo "   no $lock: dependency versions float"
fi
step "3/4 pip install $extra ${cons[*]} (a minute or two on a fresh machine)"
# Not -q: pip says what it fetches, so a slow network does not look like a hang.
.venv/bin/python -m pip install --progress-bar on -e "$extra" "${cons[@]}" 2>&1 \
  | grep -v -e '^WARNING: Location' -e '^Requirement already satisfied' || true
if [[ $profile == test ]]; then
  # The AsyncAPI project's own parser checks docs/asyncapi.yaml (tests/sync/test_asyncapi.py);
  # exact versions from the committed package-lock.json; no install scripts run.
  echo "   npm ci tools/asyncapi (@asyncapi/parser)"
  npm ci --prefix tools/asyncapi --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
fi
step "4/4 check the environment"
.venv/bin/python -c 'import edge, cv2, zxingcpp, gpiozero, paho.mqtt, onnxruntime' \
  || { echo "the Python environment is incomplete (see pip output above)" >&2; exit 1; }
echo "bootstrap ($profile) done"
