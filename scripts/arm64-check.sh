#!/usr/bin/env bash
# The product on an ARM CPU: an arm64 Debian userland run under qemu-user-static, the wheel
# installed there as the Pi install does it, then `edge-gate doctor` and `edge-gate demo`.
#
#   sudo scripts/arm64-check.sh [--suite bookworm] [--root DIR] [--wheel FILE] [--frames N]
#   sudo scripts/arm64-check.sh --rootfs-only       build (or reuse) the userland, stop there
#   sudo scripts/arm64-check.sh --reuse-install     keep the last run's install, run the checks
#
# Needs root (debootstrap, chroot) and the Debian packages debootstrap and qemu-user-static
# (the script installs them when missing). Packages come from the Debian archive and PyPI only.
# The userland is kept under --root (default /var/tmp/edge-gate-arm64/SUITE) and reused; delete
# it to start clean. Slow: the first run takes ~15-30 min, then a few minutes. `make arm64-check`.
set -euo pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
suite=bookworm
root=""
wheel=""
frames=40
rootfs_only=0
reuse_install=0
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

while (($#)); do
  case "$1" in
    --suite) suite="$2"; shift ;;
    --root) root="$2"; shift ;;
    --wheel) wheel="$2"; shift ;;
    --frames) frames="$2"; shift ;;
    --rootfs-only) rootfs_only=1 ;;
    --reuse-install) reuse_install=1 ;;
    -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
  shift
done
root=${root:-/var/tmp/edge-gate-arm64/$suite}

say() { printf '== [arm64-check %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }

if [[ $(id -u) -ne 0 ]]; then
  echo "arm64-check needs root (debootstrap and chroot): sudo make arm64-check" >&2
  exit 1
fi

say "1. host tools: debootstrap, qemu-user-static"
if ! command -v debootstrap >/dev/null || [[ ! -x /usr/bin/qemu-aarch64-static ]]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap qemu-user-static binfmt-support
fi
if [[ ! -e /proc/sys/fs/binfmt_misc/register ]]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
if [[ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]]; then
  update-binfmts --enable qemu-aarch64 || systemctl restart systemd-binfmt
fi
# The kernel looks the interpreter up inside the chroot unless the entry was registered with
# the F flag (Debian's is not), so the chroot gets its own copy at the same path.
interp=$(sed -n 's/^interpreter //p' /proc/sys/fs/binfmt_misc/qemu-aarch64)
echo "   binfmt interpreter: $interp"

say "2. arm64 Debian $suite userland in $root"
if [[ -x $root/usr/bin/python3 && -e $root/.edge-gate-rootfs-ready ]]; then
  echo "   ok: reusing it"
else
  mkdir -p "$root"
  debootstrap --foreign --arch=arm64 --variant=minbase \
    --include=python3,python3-venv,python3-pip,python3-numpy,libzbar0,ca-certificates \
    "$suite" "$root" "$mirror"
  install -D /usr/bin/qemu-aarch64-static "$root/usr/bin/qemu-aarch64-static"
  mkdir -p "$root$(dirname "$interp")"
  cp -a "$interp" "$root$interp" 2>/dev/null || ln -sf /usr/bin/qemu-aarch64-static "$root$interp"
  chroot "$root" /debootstrap/debootstrap --second-stage
  touch "$root/.edge-gate-rootfs-ready"
fi
chroot "$root" uname -m
if ((rootfs_only)); then
  exit 0
fi

say "3. the wheel"
if [[ -z $wheel ]]; then
  builder=("$SRC/.venv/bin/python")
  [[ -x ${builder[0]} ]] || builder=(python3)
  rm -rf "$root/tmp/wheel"
  "${builder[@]}" -m pip wheel -q --no-deps -w "$root/tmp/wheel" "$SRC"
  wheel=$(ls "$root"/tmp/wheel/edge_gate-*.whl)
else
  install -D -m 0644 "$wheel" "$root/tmp/wheel/$(basename "$wheel")"
  wheel="$root/tmp/wheel/$(basename "$wheel")"
fi
echo "   $(basename "$wheel") ($(du -k "$wheel" | cut -f1) KiB)"
# Only the installer and the locks go in, not the checkout: config and units must come from
# the wheel itself, as on a Pi that installs a release.
rm -rf "$root/opt/edge-gate-src"
install -D -m 0755 "$SRC/scripts/install-pi.sh" "$root/opt/edge-gate-src/scripts/install-pi.sh"
cp -a "$SRC/constraints" "$root/opt/edge-gate-src/constraints"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# pip inside trusts what the host trusts (a network with a TLS-inspecting proxy adds its CA
# to the host's bundle, not to the fresh userland's).
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/host-ca-certificates.crt"
video="$SRC/.cache/testdata/vtest.avi"
[[ -f $video ]] && install -D -m 0644 "$video" "$root/tmp/vtest.avi"

mounted=()
cleanup() {
  local m
  for m in "${mounted[@]}"; do umount -l "$m" 2>/dev/null || true; done
}
trap cleanup EXIT
# No /sys: with the host's CPU topology there, onnxruntime's cpuinfo (built for ARM) crashes
# at import under qemu-user (SIGSEGV); without it, it warns and falls back to generic kernels.
for m in proc dev dev/pts; do
  if ! mountpoint -q "$root/$m"; then
    case $m in
      proc) mount -t proc proc "$root/proc" ;;
      *) mount --bind "/$m" "$root/$m" ;;
    esac
    mounted=("$root/$m" "${mounted[@]}")
  fi
done
in_root() {
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    PIP_CERT=/etc/ssl/host-ca-certificates.crt PIP_DISABLE_PIP_VERSION_CHECK=1 "$@"
}

say "4. install as scripts/install-pi.sh does (--prefix: no systemd in a chroot)"
prefix=/opt/edge-gate-check
if ((reuse_install)) && [[ -x $root$prefix/venv/bin/edge-gate ]]; then
  echo "   ok: reusing $prefix (--reuse-install)"
else
  rm -rf "$root$prefix"
  in_root /opt/edge-gate-src/scripts/install-pi.sh --prefix "$prefix" \
    --wheel "/tmp/wheel/$(basename "$wheel")"
fi
in_root "$prefix/venv/bin/python" -c \
  'import numpy, platform; print("   venv numpy", numpy.__version__, "from", numpy.__file__, "on", platform.machine())'

say "5. edge-gate doctor (embedded defaults: synthetic camera, mock pins)"
set +e
in_root /usr/bin/env EDGE_GATE_CONFIG= "$prefix/venv/bin/edge-gate" doctor
# The defaults have no issuer key (keys FAIL) and no Pi (gpio WARN): what the install decides
# is that the config loads, the camera delivers frames and the shipped model passes its
# sha256 check and a test inference.
in_root /usr/bin/env EDGE_GATE_CONFIG= "$prefix/venv/bin/edge-gate" doctor --json \
  >"$root/tmp/doctor.json" 2>/dev/null
python3 - "$root/tmp/doctor.json" <<'PY'
import json, sys
checks = {c["name"]: c["status"] for c in json.load(open(sys.argv[1]))["checks"]}
wanted = {"config": "ok", "camera gate": "ok", "model": "ok"}
print("   doctor:", ", ".join(f"{n} {checks.get(n)}" for n in wanted))
sys.exit(0 if all(checks.get(n) == s for n, s in wanted.items()) else 1)
PY
doctor_rc=$?
say "6. edge-gate demo"
rm -rf "$root/tmp/demo"
in_root /usr/bin/env EDGE_GATE_CONFIG= "$prefix/venv/bin/edge-gate" demo --workdir /tmp/demo >"$root/tmp/demo.out" 2>&1
demo_rc=$?
set -e
cat "$root/tmp/demo.out"
grep -q "ALERT person_in_zone" "$root/tmp/demo.out" && detected=1 || detected=0

say "7. person detector, ms per frame under emulation ($frames frames of vtest.avi, 1 thread)"
in_root "$prefix/venv/bin/python" - "$frames" <<'PY'
import platform, statistics, sys, time
from pathlib import Path

import cv2
import numpy as np

from edge.vision.person.detector import Detector
from edge.vision.person.settings import DetectorSettings

n = int(sys.argv[1])
det = Detector(DetectorSettings())
print(f"   model: {det.status.message}")
frames = []
video = Path("/tmp/vtest.avi")
if video.exists():
    cap = cv2.VideoCapture(str(video))
    while len(frames) < n:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        for _ in range(4):  # every 5th frame: people move between samples
            cap.grab()
if not frames:
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (576, 768, 3), dtype=np.uint8) for _ in range(n)]
ms, people = [], 0
for frame in frames:
    t0 = time.perf_counter()
    found = det.detect(frame)
    ms.append((time.perf_counter() - t0) * 1000)
    people += len(found)
ms_sorted = sorted(ms)
p95 = ms_sorted[max(0, round(0.95 * len(ms)) - 1)]
print(f"   {platform.machine()} python {platform.python_version()}, {len(ms)} frames "
      f"{frames[0].shape[1]}x{frames[0].shape[0]}, {people} people found")
print("   per frame, ms: " + " ".join(f"{m:.0f}" for m in ms))
print(f"   median {statistics.median(ms):.0f} ms, p95 {p95:.0f} ms, max {max(ms):.0f} ms")
PY

say "result: doctor exit $doctor_rc, demo exit $demo_rc, person detected in the demo: $detected"
if ((doctor_rc == 0 && demo_rc == 0 && detected)); then
  say "PASS"
else
  say "FAIL"
  exit 1
fi
