# Sourced by every recipe's run.sh: puts the project's `edgeasr`, `edgeasr-device` and
# `python` on PATH, so a recipe runs from a fresh shell. Uses an active virtual environment
# that already has edgeasr; otherwise creates/updates the checkout's .venv (scripts/venv.sh).
_edgeasr_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! command -v edgeasr >/dev/null 2>&1 || ! command -v edgeasr-device >/dev/null 2>&1; then
  _edgeasr_venv="$(bash "$_edgeasr_repo/scripts/venv.sh")"
  export PATH="$_edgeasr_venv/bin:$PATH"
fi
# `python` is the interpreter that runs edgeasr (its entry script's #! line); Debian has no
# `python` command at all.
_edgeasr_python="$(head -n 1 "$(command -v edgeasr)" | sed 's/^#!//')"
python() { "$_edgeasr_python" "$@"; }
