#!/usr/bin/env bash
# Install edge-gate on Raspberry Pi OS (64-bit, bookworm) as a systemd service.
#
#   sudo scripts/install-pi.sh [--issuer-key FILE] [--start] [--central]
#   scripts/install-pi.sh --dry-run        print every step, change nothing (no root needed)
#
# Steps: Debian packages, a venv under /opt/edge-gate, the edge-gate system user (groups gpio,
# video, i2c), /etc/edge-gate with a commented config and key folders, the systemd unit
# enabled. Idempotent: each step checks first and says "ok" when there is nothing to do; an
# existing /etc/edge-gate/edge-gate.toml is never overwritten. See docs/install.md.
set -euo pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX=/opt/edge-gate
ETC=/etc/edge-gate
UNIT_DIR=/etc/systemd/system
USER_NAME=edge-gate
GROUPS_WANTED=(gpio video i2c)
DEB_PKGS=(python3 python3-venv python3-pip libzbar0 ca-certificates)
PI_PKGS=(python3-lgpio python3-picamera2)  # from the Raspberry Pi OS archive

dry_run=0
start=0
central=0
issuer_key=""

usage() {
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
  echo "options: --dry-run  --issuer-key FILE  --start  --central  --help"
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
    -h | --help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

say() { printf '== %s\n' "$*"; }
ok() { printf '   ok: %s\n' "$*"; }

# Every change goes through run: printed always, executed only without --dry-run.
run() {
  printf '   +'
  printf ' %q' "$@"
  printf '\n'
  if ((!dry_run)); then
    "$@"
  fi
}

if ((!dry_run)) && [[ $(id -u) -ne 0 ]]; then
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
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "edge-gate needs Python 3.11 or newer (Raspberry Pi OS bookworm has it)" >&2
  exit 1
fi

say "1. Debian packages"
want=("${DEB_PKGS[@]}")
if ((on_pi)); then
  want+=("${PI_PKGS[@]}")
fi
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  run env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  ok "all installed: ${want[*]}"
fi

say "2. service user $USER_NAME and its device groups"
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

say "3. Python venv in $PREFIX/venv"
if [[ -x $PREFIX/venv/bin/python ]]; then
  ok "venv exists"
else
  run install -d -m 0755 "$PREFIX"
  # System site packages: lgpio and picamera2 come from Raspberry Pi OS, not from PyPI.
  run python3 -m venv --system-site-packages "$PREFIX/venv"
fi
extra=""
if ((on_pi)); then
  extra="[pi]"
fi
# Always reinstalled: this is how an update reaches the gate (pip skips what is current).
run "$PREFIX/venv/bin/python" -m pip install -q --upgrade pip
run "$PREFIX/venv/bin/python" -m pip install -q --upgrade "$SRC$extra"
for d in models docs examples; do
  run install -d -m 0755 "$PREFIX/$d"
  run cp -a "$SRC/$d/." "$PREFIX/$d/"
done

say "4. configuration in $ETC"
run install -d -m 0755 "$ETC" "$ETC/keys"
# Secrets (MQTT password, client key) are root-only; systemd hands them to the service.
run install -d -m 0700 "$ETC/secrets"
run install -m 0644 "$SRC/examples/edge-gate.toml" "$ETC/edge-gate.toml.example"
if [[ -f $ETC/edge-gate.toml ]]; then
  ok "$ETC/edge-gate.toml exists (kept; compare with edge-gate.toml.example after updates)"
else
  run install -m 0644 "$SRC/examples/edge-gate.toml" "$ETC/edge-gate.toml"
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
  if cmp -s "$SRC/systemd/$u" "$UNIT_DIR/$u"; then
    ok "$UNIT_DIR/$u is current"
  else
    run install -m 0644 "$SRC/systemd/$u" "$UNIT_DIR/$u"
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
