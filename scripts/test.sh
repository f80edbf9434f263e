#!/usr/bin/env bash
# Run the test suite in the project's virtual environment (created on first use).
# Usage: bash scripts/test.sh [pytest arguments]   e.g. --slow to include the slow tests
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$(bash "$repo/scripts/venv.sh")"
cd "$repo"
export PATH="$venv/bin:$PATH"
exec "$venv/bin/python" -m pytest -q "$@"
