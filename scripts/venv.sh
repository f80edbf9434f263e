#!/usr/bin/env bash
# Create (once) and update the project's virtual environment in .venv, then print its path.
# Needs only Python 3.10-3.12 and access to PyPI; no root.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${EDGEASR_VENV:-$repo/.venv}"
python="${PYTHON:-}"
if [ -z "$python" ]; then
  for candidate in python3.11 python3.12 python3.10 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then python="$candidate"; break; fi
  done
fi
[ -n "$python" ] || { echo "error: no python3 found; install Python 3.10-3.12" >&2; exit 1; }

if [ ! -x "$venv/bin/python" ]; then
  echo "creating virtual environment $venv" >&2
  if ! "$python" -m venv "$venv" >/dev/null 2>&1; then
    rm -rf "$venv"
    # Debian ships venv without ensurepip unless python3-venv is installed: use virtualenv.
    "$python" -m pip install --user --quiet virtualenv >&2 \
      && "$python" -m virtualenv --quiet "$venv" >&2 \
      || { echo "error: cannot create a virtual environment; install python3-venv (apt) or virtualenv (pip)" >&2; exit 1; }
  fi
fi

# Reinstall only when the dependency lists change.
stamp="$venv/.edgeasr-installed"
want="$(cat "$repo/pyproject.toml" "$repo/device/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "installing edgeasr and edgeasr-device into $venv (first time: about 2 minutes)" >&2
  "$venv/bin/python" -m pip install --quiet --upgrade pip >&2
  "$venv/bin/python" -m pip install --quiet -e "$repo/device[test]" -e "$repo[test]" >&2
  echo "$want" > "$stamp"
fi
echo "$venv"
