#!/usr/bin/env bash
# a private compiled copy of the repo for benchmark runs: `npm run build` output in dist/ can be rebuilt or
# removed by others working in the same tree while a benchmark runs. node_modules is linked, proto/ and
# fixtures/ are copied. usage: bash bench/snapshot.sh [dir] (default /tmp/tdf-snap), then e.g.
#   node /tmp/tdf-snap/dist/bench/ingest.js --scenario closed
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
snap="${1:-/tmp/tdf-snap}"
rm -rf "$snap"
mkdir -p "$snap"
cp "$root/package.json" "$snap/"
ln -s "$root/node_modules" "$snap/node_modules"
cp -r "$root/proto" "$root/fixtures" "$snap/"
# type errors in files under construction elsewhere do not stop the emit; they are listed
(cd "$root" && npx tsc -p tsconfig.json --outDir "$snap/dist") || echo "tsc reported errors (above); the snapshot was emitted anyway" >&2
echo "snapshot in $snap ($(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo no-git), $(date -u +%FT%TZ))"
