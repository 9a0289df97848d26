#!/usr/bin/env bash
# Install edge-gate on Raspberry Pi OS (64-bit, bookworm) as a systemd service.
#
#   sudo scripts/install-pi.sh [--issuer-key FILE] [--start] [--central] [--wheel FILE]
#   scripts/install-pi.sh --dry-run        print every step, change nothing (no root needed)
#   scripts/install-pi.sh --prefix DIR     no root: venv, config and units under DIR only
#
# Steps: Debian packages, a venv under /opt/edge-gate that keeps the OS's numpy, the edge-gate
# system user (groups gpio, video, i2c), /etc/edge-gate with a commented config and key folders,
# the systemd unit enabled. Idempotent: each step checks first and says "ok" when there is
# nothing to do; an existing edge-gate.toml is never overwritten. See docs/install.md.
set -euo pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX=/opt/edge-gate
ETC=/etc/edge-gate
UNIT_DIR=/etc/systemd/system
USER_NAME=edge-gate
GROUPS_WANTED=(gpio video i2c)
# fonts-wqy-microhei: without a CJK font the console's Chinese renders as empty boxes.
DEB_PKGS=(python3 python3-venv python3-pip libzbar0 ca-certificates fonts-wqy-microhei)
PI_PKGS=(python3-lgpio python3-picamera2)  # from the Raspberry Pi OS archive

dry_run=0
start=0
central=0
issuer_key=""
wheel=""
user_prefix=""

usage() {
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
  echo "options: --dry-run  --issuer-key FILE  --start  --central  --wheel FILE  --prefix DIR  --help"
}

while (($#)); do
  case "$1" in
    --dry-run) dry_run=1 ;;
    --start) start=1 ;;
    --central) central=1 ;;
    --issuer-key)
      [[ $# -ge 2 ]] || { echo "--issuer-key needs a file" >&2; exit 2; }
      issuer_key="$2"
      shift
      ;;
    --wheel)
      [[ $# -ge 2 ]] || { echo "--wheel needs a file" >&2; exit 2; }
      wheel="$2"
      shift
      ;;
    --prefix)
      [[ $# -ge 2 ]] || { echo "--prefix needs a folder" >&2; exit 2; }
      user_prefix="$2"
      shift
      ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

say() { printf '== %s\n' "$*"; }
ok() { printf '   ok: %s\n' "$*"; }

# Compiled Debian modules in the system site-packages that picamera2 uses: the venv must keep
# the system's versions of these, or pip pulls numpy 2.x over Debian's 1.x and they stop
# importing ("A module that was compiled using NumPy 1.x cannot be run in NumPy 2.x").
SYSTEM_KEEP=(numpy simplejpeg pillow av piexif python-prctl v4l2-python3 pykms)
APT_LOCK_WAIT_S=900  # a Pi's first boot runs unattended-upgrades for several minutes
PY=${PYTHON:-python3}  # the system interpreter (PYTHON=... to choose another)

# Every change goes through run: printed always, executed only without --dry-run.
run() {
  printf '   +'
  printf ' %q' "$@"
  printf '\n'
  if ((!dry_run)); then
    "$@"
  fi
}

if [[ -n $user_prefix ]]; then
  # Everything under one folder, as the invoking user: no apt, no system user, no systemctl.
  mkdir -p "$user_prefix"
  PREFIX="$(cd "$user_prefix" && pwd)"
  ETC=$PREFIX/etc
  UNIT_DIR=$PREFIX/systemd
fi
if [[ -n $wheel ]]; then
  [[ -f $wheel ]] || { echo "wheel $wheel not found" >&2; exit 2; }
  wheel="$(cd "$(dirname "$wheel")" && pwd)/$(basename "$wheel")"
fi

if ((!dry_run)) && [[ -z $user_prefix ]] && [[ $(id -u) -ne 0 ]]; then
  echo "run as root: sudo $0 $*   (or --dry-run to see the plan)" >&2
  exit 1
fi
if [[ -n $issuer_key && ! -f $issuer_key ]]; then
  echo "issuer key $issuer_key not found" >&2
  exit 2
fi

on_pi=0
if grep -qi 'raspberry pi' /proc/device-tree/model 2>/dev/null; then
  on_pi=1
fi
say "edge-gate installer (source $SRC, dry run: $dry_run, Raspberry Pi: $on_pi)"
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "edge-gate needs Python 3.11 or newer (Raspberry Pi OS bookworm has it)" >&2
  exit 1
fi

# Another apt (unattended-upgrades on first boot) holds dpkg's lock: say so, then let apt-get
# wait for it (DPkg::Lock::Timeout) instead of failing at once.
apt_locked() {
  "$PY" - <<'PY' 2>/dev/null
import fcntl, sys
try:
    with open("/var/lib/dpkg/lock-frontend", "w") as f:
        fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    sys.exit(0)
except OSError:
    pass
sys.exit(1)
PY
}
wait_for_apt() {
  if ((!dry_run)) && apt_locked; then
    echo "   waiting for another apt (unattended-upgrades?) to finish, up to ${APT_LOCK_WAIT_S} s …"
  fi
}

say "1. Debian packages"
want=("${DEB_PKGS[@]}")
if ((on_pi)); then
  want+=("${PI_PKGS[@]}")
fi
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})) && [[ -n $user_prefix ]]; then
  echo "   !! not installed (--prefix does not run apt): ${missing[*]}"
elif ((${#missing[@]})); then
  wait_for_apt
  apt_opts=(-o "DPkg::Lock::Timeout=$APT_LOCK_WAIT_S")
  run env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" update -qq
  run env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y -qq \
    --no-install-recommends "${missing[@]}"
else
  ok "all installed: ${want[*]}"
fi

say "2. service user $USER_NAME and its device groups"
if [[ -n $user_prefix ]]; then
  ok "skipped (--prefix: runs as $(id -un))"
else
for g in "${GROUPS_WANTED[@]}"; do
  if getent group "$g" >/dev/null; then
    ok "group $g exists"
  else
    # Off a Pi these groups may be missing; the unit's SupplementaryGroups= needs them.
    run groupadd --system "$g"
  fi
done
if id -u "$USER_NAME" >/dev/null 2>&1; then
  ok "user $USER_NAME exists"
else
  run useradd --system --user-group --home-dir /var/lib/edge-gate --no-create-home \
    --shell /usr/sbin/nologin --comment "edge-gate entrance gate" "$USER_NAME"
fi
groups_csv=$(IFS=,; echo "${GROUPS_WANTED[*]}")
if id -nG "$USER_NAME" 2>/dev/null | tr ' ' '\n' | grep -qx "${GROUPS_WANTED[-1]}"; then
  ok "$USER_NAME is in $groups_csv"
else
  run usermod --append --groups "$groups_csv" "$USER_NAME"
fi
fi

say "3. Python venv in $PREFIX/venv"
if [[ -x $PREFIX/venv/bin/python ]]; then
  ok "venv exists"
else
  run install -d -m 0755 "$PREFIX"
  # System site packages: lgpio and picamera2 come from Raspberry Pi OS, not from PyPI.
  run "$PY" -m venv --system-site-packages "$PREFIX/venv"
fi
extra=""
if ((on_pi)); then
  extra="[pi]"
fi
# The exact versions for this Python and CPU (constraints/, scripts/lock-constraints.sh), in
# their "-system" form: resolved against the Debian release's numpy. Then the versions this
# machine really has of SYSTEM_KEEP replace the lock's: pip leaves those to the system.
tag=$("$PY" -c 'import sys; print(f"py{sys.version_info[0]}{sys.version_info[1]}")')
lock="$SRC/constraints/$tag-$(uname -m)-system.txt"
pins="$PREFIX/constraints.txt"
system_pins=$("$PY" - "${SYSTEM_KEEP[@]}" <<'PY'
import sys
from importlib import metadata
for name in sys.argv[1:]:
    try:
        print(f"{name}=={metadata.version(name)}")
    except metadata.PackageNotFoundError:
        pass
PY
)
echo "   system versions kept: ${system_pins//$'\n'/ }"
if [[ -f $lock ]]; then
  echo "   lock: $lock"
else
  echo "   !! no lock for $tag on $(uname -m) in $SRC/constraints: versions float"
fi
if ((!dry_run)); then
  install -d -m 0755 "$PREFIX"
  {
    echo "# written by install-pi.sh: $lock, with the system's own versions of: ${SYSTEM_KEEP[*]}"
    echo "$system_pins"
    if [[ -f $lock ]]; then
      kept=$(printf '%s\n' "$system_pins" | sed -n 's/==.*//p' | paste -sd '|')
      grep -v '^#' "$lock" | grep -Eiv "^(${kept:-^})==" || true
    fi
  } >"$pins"
fi
target="$SRC"
[[ -n $wheel ]] && target="$wheel"
# Always reinstalled: this is how an update reaches the gate (pip skips what is current).
run "$PREFIX/venv/bin/python" -m pip install -q --upgrade pip
run "$PREFIX/venv/bin/python" -m pip install -q --upgrade "$target$extra" --constraint "$pins"
# The example config and the units: from the checkout, else from what the wheel installed.
assets="$SRC"
[[ -d $SRC/systemd && -d $SRC/examples ]] || assets="$PREFIX/venv/share/edge-gate"
# The config names /opt/edge-gate/models/…: the model the wheel installed, copied there.
run install -d -m 0755 "$PREFIX/models"
run cp -a "$PREFIX/venv/share/edge-gate/models/." "$PREFIX/models/"
if [[ -d $SRC/docs ]]; then
  run install -d -m 0755 "$PREFIX/docs"
  run cp -a "$SRC/docs/." "$PREFIX/docs/"
fi

say "4. configuration in $ETC"
run install -d -m 0755 "$ETC" "$ETC/keys"
# Secrets (MQTT password, client key) are root-only; systemd hands them to the service.
run install -d -m 0700 "$ETC/secrets"
run install -m 0644 "$assets/examples/edge-gate.toml" "$ETC/edge-gate.toml.example"
if [[ -f $ETC/edge-gate.toml ]]; then
  ok "$ETC/edge-gate.toml exists (kept; compare with edge-gate.toml.example after updates)"
elif [[ -n $user_prefix ]]; then
  # The example's absolute paths (/var/lib, /etc, /opt) become paths under the prefix.
  run sh -c "sed -e 's#\"/var/lib/edge-gate/#\"$PREFIX/var/#; s#\"/etc/edge-gate/#\"$ETC/#' \
    -e 's#\"/opt/edge-gate/#\"$PREFIX/#' '$assets/examples/edge-gate.toml' > '$ETC/edge-gate.toml'"
else
  run install -m 0644 "$assets/examples/edge-gate.toml" "$ETC/edge-gate.toml"
fi
if [[ -n $issuer_key ]]; then
  run install -m 0644 "$issuer_key" "$ETC/keys/issuer.pub"
elif [[ -f $ETC/keys/issuer.pub ]]; then
  ok "issuer key $ETC/keys/issuer.pub exists"
else
  echo "   !! no community issuer key: copy it to $ETC/keys/issuer.pub (or rerun with" \
    "--issuer-key FILE); the gate refuses to start without it"
fi
run "$PREFIX/venv/bin/edge-gate" check-config "$ETC/edge-gate.toml"

say "5. systemd unit"
if [[ -n $user_prefix ]]; then
  run install -d -m 0755 "$UNIT_DIR"
  run install -m 0644 "$assets/systemd/edge-gate.service" "$UNIT_DIR/edge-gate.service"
  ok "not enabled (--prefix); the unit is in $UNIT_DIR"
  say "6. check"
  run "$PREFIX/venv/bin/edge-gate" doctor --config "$ETC/edge-gate.toml" || true
  say "done. Try: EDGE_GATE_CONFIG=$ETC/edge-gate.toml $PREFIX/venv/bin/edge-gate doctor"
  exit 0
fi
units=(edge-gate.service)
if ((central)); then
  units+=(edge-gate-central.service)
  run install -d -m 0755 /etc/edge-gate-central
  run install -d -m 0700 /etc/edge-gate-central/secrets
  if [[ ! -f /etc/edge-gate-central/central.env ]]; then
    # Default: SQLite in the service's state directory; see docs/operations.md for PostgreSQL.
    line='CENTRAL_ARGS="--db sqlite:////var/lib/edge-gate-central/central.sqlite3"'
    run sh -c "echo '$line' > /etc/edge-gate-central/central.env"
  fi
  if ! id -u edge-gate-central >/dev/null 2>&1; then
    run useradd --system --user-group --home-dir /var/lib/edge-gate-central --no-create-home \
      --shell /usr/sbin/nologin --comment "edge-gate central receiver" edge-gate-central
  fi
fi
changed=0
for u in "${units[@]}"; do
  if cmp -s "$assets/systemd/$u" "$UNIT_DIR/$u"; then
    ok "$UNIT_DIR/$u is current"
  else
    run install -m 0644 "$assets/systemd/$u" "$UNIT_DIR/$u"
    changed=1
  fi
done
if ((changed)); then
  run systemctl daemon-reload
fi
for u in "${units[@]}"; do
  if systemctl is-enabled --quiet "$u" 2>/dev/null; then
    ok "$u enabled"
  else
    run systemctl enable "$u"
  fi
done
if ((start)); then
  run systemctl restart edge-gate.service
elif systemctl is-active --quiet edge-gate.service 2>/dev/null; then
  # Running already: restart so the new code and unit take effect.
  run systemctl restart edge-gate.service
else
  ok "not started (use --start, or: sudo systemctl start edge-gate)"
fi

say "6. check"
run "$PREFIX/venv/bin/edge-gate" doctor --config "$ETC/edge-gate.toml" || true
say "done. Status: systemctl status edge-gate   Logs: journalctl -u edge-gate"
