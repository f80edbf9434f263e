#!/usr/bin/env bash
# Remove the caches that other versions of scripts/arm64.sh left behind (each is ~250 MB and
# keyed by that version's hash, so none of them is ever used again). Called by arm64.sh
# under its lock; EDGEASR_ARM64_KEEP_OLD=1 keeps them.
# Usage: bash scripts/arm64_prune.sh CACHE_ROOT CURRENT_KEY
set -euo pipefail
root="${1:?usage: arm64_prune.sh CACHE_ROOT CURRENT_KEY}"
current="${2:?usage: arm64_prune.sh CACHE_ROOT CURRENT_KEY}"
[ "${EDGEASR_ARM64_KEEP_OLD:-}" = 1 ] && exit 0
shopt -s nullglob
for dir in "$root"/*/; do
  name="$(basename "$dir")"
  # only what arm64.sh makes: 16 hex digits (a script hash), never anything else
  [[ "$name" =~ ^[0-9a-f]{16}$ ]] || continue
  [ "$name" = "$current" ] && continue
  size="$(du -sh "$dir" 2>/dev/null | cut -f1)"
  rm -rf -- "$dir"
  echo "arm64: removed $dir (${size:-?}), the cache of another version of scripts/arm64.sh" >&2
done
