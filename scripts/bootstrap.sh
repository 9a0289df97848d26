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
TEST_PKGS=(libzbar0 mosquitto chromium chromium-driver postgresql shellcheck systemd sqlite3 qemu-user)
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
  "${apt_get[@]}" update -qq
  "${apt_get[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ ! -x .venv/bin/python ]]; then
  "$py" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
extra=$([[ $profile == test ]] && echo '.[test]' || echo '.')
.venv/bin/python -m pip install -q -e "$extra" 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/python -c 'import edge, cv2, zxingcpp, gpiozero, paho.mqtt, onnxruntime' \
  || { echo "the Python environment is incomplete (see pip output above)" >&2; exit 1; }
echo "bootstrap ($profile) done"
