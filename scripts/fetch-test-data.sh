#!/usr/bin/env bash
# Fetch the real test footage for person detection (issue 5) into .cache/testdata/.
#
# Source: Debian's `opencv-doc` package (BSD/Apache licensed OpenCV samples), which ships
# vtest.avi (real outdoor CCTV with pedestrians) and a few stills we use as person-free scenes.
# Idempotent: does nothing when every file is already cached. Needs `apt-get` and `dpkg-deb`
# (Debian/Ubuntu); `apt-get download` needs no root and installs nothing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${EDGE_TESTDATA_DIR:-$ROOT/.cache/testdata}"
DATA="usr/share/doc/opencv-doc/examples/data"
FILES=(vtest.avi fruits.jpg building.jpg board.jpg messi5.jpg)

missing=0
for f in "${FILES[@]}"; do
  [[ -s "$DEST/$f" ]] || missing=1
done
if [[ $missing -eq 0 ]]; then
  echo "test data already in $DEST"
  exit 0
fi

mkdir -p "$DEST"
work="$(mktemp -d)"
chmod 777 "$work"  # apt drops to user _apt to download; let it write here
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download opencv-doc >/dev/null)
deb="$(ls "$work"/opencv-doc_*.deb)"
members=()
for f in "${FILES[@]}"; do members+=("./$DATA/$f"); done
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" "${members[@]}"
for f in "${FILES[@]}"; do
  # Write under a temporary name then rename, so an interrupted run never leaves a
  # truncated file that the check above would take as cached.
  cp "$work/$DATA/$f" "$DEST/.$f.part"
  mv "$DEST/.$f.part" "$DEST/$f"
done
echo "test data fetched into $DEST"
