#!/usr/bin/env bash
# Run the device package on an emulated Raspberry Pi OS-like arm64 system and check that it
# computes what it computes on this x86 machine. See docs/arm64.md.
#
# Usage: bash scripts/arm64.sh [--cpu cortex-a72|cortex-a76|both] [--tests all|quick|none]
#                               [--test-timeout SECONDS] [--keep]
#   --cpu       emulated CPU model: cortex-a72 (Raspberry Pi 4), cortex-a76 (Pi 5), both (default)
#   --tests     which device tests run in the emulated system after the transcription
#               comparison: all of device/tests (default; about 7 minutes per CPU here), quick
#               (the model, audio, decoder and starter-model files, under a minute per CPU:
#               what .ci/run uses) or none (--no-tests is the same)
#   --test-timeout  seconds the tests may take per CPU (default: 7200 for all, 1200 for
#               quick; also EDGEASR_ARM64_TEST_TIMEOUT)
#   --keep      leave the emulated system's directory behind (its path is printed)
#
# First run (about 7 minutes, needs root and Debian's mirror + PyPI): debootstrap a Debian
# bookworm arm64 root file system (Python 3.11, as Raspberry Pi OS bookworm), take a static
# qemu-aarch64 10.x from Debian trixie, download the aarch64 wheels the device package needs,
# and cache all of it under $EDGEASR_ARM64_CACHE (default ~/.cache/edgeasr/arm64), keyed by
# this script's hash (caches of other versions are removed: scripts/arm64_prune.sh). Later
# runs need no network while device/pyproject.toml is unchanged.
# Every run: restore the system into a temporary directory, pip-install ./device there, run
# device/tests, transcribe the test models and compare with the x86 output.
# Exit status: 0 all equal and tests passed; 1 a mismatch or a failed test; 2 this machine
# cannot run the emulation (the message says why). EDGEASR_ARM64=skip skips it loudly.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
script="$repo/scripts/arm64.sh"

cpus=(cortex-a72 cortex-a76)
tests_kind=all
test_timeout="${EDGEASR_ARM64_TEST_TIMEOUT:-}"
keep=0
# --tests quick: what the device computes (network, audio, decoders, artifacts, the shipped
# starter model) without the files that mostly start Python subprocesses or servers, each
# start costing seconds under emulation.
quick_tests=(test_model.py test_audio.py test_greedy.py test_beam.py test_arpa.py
             test_artifact.py test_vocab.py test_recognizer.py test_streaming_model.py
             test_starter_model.py)
while [ $# -gt 0 ]; do
  case "$1" in
    --cpu)
      case "${2:-}" in
        cortex-a72|cortex-a76) cpus=("$2") ;;
        both) cpus=(cortex-a72 cortex-a76) ;;
        *) echo "arm64: --cpu takes cortex-a72, cortex-a76 or both" >&2; exit 2 ;;
      esac
      shift 2 ;;
    --tests)
      case "${2:-}" in
        all|quick|none) tests_kind="$2" ;;
        *) echo "arm64: --tests takes all, quick or none" >&2; exit 2 ;;
      esac
      shift 2 ;;
    --no-tests) tests_kind=none; shift ;;
    --test-timeout)
      [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || { echo "arm64: --test-timeout takes whole seconds" >&2; exit 2; }
      test_timeout="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,24p' "$script" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "arm64: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

say() { echo "arm64: $*" >&2; }
cannot() { # the machine cannot run the emulation: exit 2 with the reason
  say "CANNOT RUN: $*"
  say "(the arm64 check needs root, binfmt_misc and, for its first build, Debian's mirror and PyPI;"
  say " EDGEASR_ARM64=skip skips it with a warning)"
  exit 2
}

if [ "${EDGEASR_ARM64:-}" = skip ]; then
  say "SKIPPED because EDGEASR_ARM64=skip: the device package was NOT checked on arm64"
  exit 0
fi
[ "$(uname -m)" = x86_64 ] || cannot "this script compares an x86_64 host with emulated arm64; host is $(uname -m)"
[ "$(id -u)" = 0 ] || cannot "needs root (chroot, mounts, binfmt_misc registration); run it with sudo"

debian_suite=bookworm   # Raspberry Pi OS bookworm: Python 3.11
qemu_suite=trixie       # qemu 10.x; bookworm's 7.2 crashes in LiteRT's CPU detection
key="$(sha256sum "$script" | cut -c1-16)"
cache_root="${EDGEASR_ARM64_CACHE:-${HOME:-/root}/.cache/edgeasr/arm64}"
cache="$cache_root/$key"
mkdir -p "$cache"
mirror="${EDGEASR_DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
  mirror="$(sed -n 's/^URIs: *\([^ ]*\/debian\)\/\{0,1\}$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)"
  mirror="${mirror:-http://deb.debian.org/debian}"
fi
host_ca=""
for candidate in "${PIP_CERT:-}" "${SSL_CERT_FILE:-}" /etc/ssl/certs/ca-certificates.crt; do
  if [ -n "$candidate" ] && [ -f "$candidate" ]; then host_ca="$candidate"; break; fi
done

# One run at a time per cache (the build, the binfmt entry and the wheel cache are shared).
exec 9>"$cache_root/.lock"
flock -w 1800 9 || cannot "another scripts/arm64.sh holds $cache_root/.lock for 30 minutes"
bash "$repo/scripts/arm64_prune.sh" "$cache_root" "$key"  # other versions' caches

work="$(mktemp -d "${TMPDIR:-/tmp}/edgeasr-arm64.XXXXXX")"
binfmt=/proc/sys/fs/binfmt_misc
entry="$binfmt/edgeasr-aarch64-$$"   # one entry per run, removed at exit
registered=0
cleanup() {
  if [ "$registered" = 1 ] && [ -e "$entry" ]; then echo -1 > "$entry" || true; fi
  if [ "$keep" = 1 ]; then say "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

net() { # net WHAT COMMAND...: a step that needs the network, with a clear message if it fails
  local what="$1"; shift
  "$@" || cannot "$what failed (no network? the first build needs $mirror and PyPI)"
}

# ---------------------------------------------------------------- qemu + binfmt_misc
qemu="$cache/qemu-aarch64"
fetch_qemu() {
  local apt="$work/apt"
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/parts" "$apt/deb"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $qemu_suite main" \
    > "$apt/sources.list"
  local opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=$apt/parts"
              -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
              -o "Dir::State::Status=/dev/null" -o Acquire::http::Timeout=60 -o Acquire::Retries=2
              -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
  say "downloading qemu-user from Debian $qemu_suite"
  net "apt-get update ($qemu_suite)" timeout 600 apt-get -q "${opts[@]}" update >"$work/apt.log" 2>&1
  (cd "$apt/deb" && net "apt-get download qemu-user" timeout 600 \
      apt-get -q "${opts[@]}" download qemu-user >>"$work/apt.log" 2>&1)
  dpkg-deb -x "$apt"/deb/qemu-user_*.deb "$apt/x"
  local found=""
  for candidate in "$apt/x/usr/bin/qemu-aarch64-static" "$apt/x/usr/bin/qemu-aarch64"; do
    if [ -f "$candidate" ] && ! readelf -l "$candidate" 2>/dev/null | grep -q 'Requesting program interpreter'; then
      found="$candidate"; break
    fi
  done
  [ -n "$found" ] || cannot "no static qemu-aarch64 in $(basename "$apt"/deb/qemu-user_*.deb)"
  install -m 0755 "$found" "$qemu.partial" && mv "$qemu.partial" "$qemu"
}

register_binfmt() {
  [ -e "$binfmt/register" ] || mount -t binfmt_misc binfmt_misc "$binfmt" 2>/dev/null \
    || cannot "cannot mount binfmt_misc on $binfmt (a container without that privilege?)"
  local stale
  for stale in "$binfmt"/edgeasr-aarch64-*; do   # left behind by killed runs
    [ -e "$stale" ] && ! kill -0 "${stale##*-}" 2>/dev/null && echo -1 > "$stale"
  done
  # ELF 64-bit little-endian, machine 0xb7 (aarch64); flags: O open binary, P keep argv[0],
  # F open the interpreter now, so it works inside the chroot, where its path does not exist.
  printf '%s' ":edgeasr-aarch64-$$:M::\\x7fELF\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xb7\\x00:\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff:$qemu:OPF" \
    > "$binfmt/register" 2>/dev/null || cannot "cannot register $qemu in binfmt_misc"
  registered=1
  # The newest entry wins, so another aarch64 handler (say bookworm's qemu 7.2) is shadowed.
}

# ---------------------------------------------------------------- the emulated system
root="$work/rootfs"
# guest CPU COMMAND...: run COMMAND (aarch64) in the emulated system with a clean environment,
# in a private mount namespace, so /proc, /dev and the cache mounts vanish with it.
guest() {
  local cpu="$1"; shift
  unshare --mount --propagation private -- /bin/sh -c '
    set -e; r="$1"; wheels="$2"; shift 2
    mount -t proc proc "$r/proc"
    mount --rbind /dev "$r/dev"
    mount -t sysfs sysfs "$r/sys"   # LiteRT/XNNPACK reads the CPU list there
    mount -t tmpfs tmpfs "$r/tmp"
    mkdir -p "$r/wheels" && mount --bind "$wheels" "$r/wheels"
    exec chroot "$r" "$@"' sh "$root" "$cache/wheels" \
    env -i PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      HOME=/root LANG=C.UTF-8 TERM=dumb QEMU_CPU="$cpu" PIP_CERT=/etc/edgeasr-host-ca.crt \
      PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT=60 PIP_RETRIES=1 "$@"
}

with_network() { # copy the host's DNS and CA settings in (pip behind this host's proxy CA)
  cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
  if [ -n "$host_ca" ]; then cp "$host_ca" "$root/etc/edgeasr-host-ca.crt"
  else cp "$root/etc/ssl/certs/ca-certificates.crt" "$root/etc/edgeasr-host-ca.crt"; fi
}

build_rootfs() {
  say "building the arm64 system (first run for this script version: about 7 minutes)"
  if ! command -v debootstrap >/dev/null || ! command -v zstd >/dev/null; then
    net "apt-get update" timeout 600 apt-get -q -o Acquire::http::Timeout=60 update >"$work/apt-host.log" 2>&1
    net "apt-get install debootstrap zstd" timeout 600 env DEBIAN_FRONTEND=noninteractive \
      apt-get -q install -y --no-install-recommends debootstrap zstd >>"$work/apt-host.log" 2>&1
  fi
  mkdir -p "$root"
  say "debootstrap $debian_suite arm64 (log: $cache/debootstrap.log)"
  net "debootstrap" timeout 1800 debootstrap --arch=arm64 --variant=minbase \
    --include=python3,python3-venv,python3-pip,ca-certificates \
    "$debian_suite" "$root" "$mirror" >"$cache/debootstrap.log" 2>&1
  mkdir -p "$cache/wheels"
  guest cortex-a72 /usr/bin/python3 -m venv /opt/venv
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  say "packing $cache/rootfs.tar.zst"
  tar -C "$root" --numeric-owner -cf - . | zstd -q -T0 -3 -o "$cache/rootfs.tar.zst.partial"
  mv "$cache/rootfs.tar.zst.partial" "$cache/rootfs.tar.zst"
}

# pip wheels for aarch64 CPython 3.11, downloaded (inside the emulated system) once per
# device/pyproject.toml; requirements without an aarch64 wheel are listed and left out.
requirements() { # dependencies + the test extra of device/pyproject.toml, one per line
  "$venv/bin/python" - "$root/src/device/pyproject.toml" <<'EOF'
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
for req in ["setuptools>=77", *project["dependencies"], *project["optional-dependencies"].get("test", [])]:
    print(req)
EOF
}

fetch_wheels() {
  local stamp want
  want="$(sha256sum "$root/src/device/pyproject.toml" | cut -d' ' -f1)"
  stamp="$cache/wheels.stamp"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return; fi
  say "downloading aarch64 wheels for device/pyproject.toml into $cache/wheels"
  with_network
  mkdir -p "$cache/wheels"
  : > "$cache/wheels.missing"
  local req reqs
  mapfile -t reqs < <(requirements)
  # All at once first (each emulated pip start costs seconds); one by one only to find out
  # which requirement has no aarch64 wheel.
  if guest cortex-a72 python -m pip download -q --only-binary=:all: --dest /wheels \
      --find-links /wheels "${reqs[@]}" >"$work/pip-download.log" 2>&1; then
    echo "$want" > "$stamp"
    return
  fi
  for req in "${reqs[@]}"; do
    if ! guest cortex-a72 python -m pip download -q --only-binary=:all: --dest /wheels \
        --find-links /wheels "$req" >"$work/pip-download.log" 2>&1; then
      if grep -q -i -E 'no matching distribution|could not find a version' "$work/pip-download.log"; then
        echo "$req" >> "$cache/wheels.missing"
      else
        cat "$work/pip-download.log" >&2
        cannot "pip download $req failed (no network? the first build needs PyPI)"
      fi
    fi
  done
  echo "$want" > "$stamp"
}

# ---------------------------------------------------------------- main
start=$SECONDS
venv="$(bash "$repo/scripts/venv.sh")"   # the x86 side: the project's own environment
[ -x "$qemu" ] || fetch_qemu
qemu_version="$("$qemu" --version | head -n1)"
case "$qemu_version" in
  *"version "[1-9][0-9].*) ;;
  *) cannot "$qemu is '$qemu_version'; need qemu 10 or later (delete $cache to refetch)" ;;
esac
register_binfmt
if [ ! -f "$cache/rootfs.tar.zst" ]; then
  build_rootfs
  rm -rf "$root"
fi
say "restoring the arm64 system into $root"
mkdir -p "$root"
zstd -q -dc "$cache/rootfs.tar.zst" | tar -C "$root" --numeric-owner -xf -
# A snapshot of what the guest needs: the device package, the model fixtures, pytest's
# settings. Requirements and the wheel stamp are read from this copy, not from the tree.
mkdir -p "$root/src/tests/fixtures" "$root/src/docs" "$root/out/x86"
cp -a "$repo/device" "$root/src/device"
cp -a "$repo/tests/fixtures/legacy_v1" "$repo/tests/fixtures/streaming" "$root/src/tests/fixtures/"
cp "$repo/docs/starter-model.md" "$root/src/docs/"  # the starter model's figures, pinned by a test
cp "$repo/pyproject.toml" "$root/src/pyproject.toml"
cp "$repo/scripts/arm64_parity.py" "$root/src/arm64_parity.py"
find "$root/src" \( -name __pycache__ -o -name '*.egg-info' -o -name build \) -prune -exec rm -rf {} +
fetch_wheels
build_s=$((SECONDS - start))

# The venv with every available requirement, built once per device/pyproject.toml and
# cached with its byte code (pip under emulation is slow, and so is compiling every module
# again at each start).
mapfile -t missing < <(grep -v '^$' "$cache/wheels.missing" 2>/dev/null || true)
mapfile -t reqs < <(requirements | grep -v -x -F -f <(printf '%s\n' "${missing[@]}") || true)
venv_cache="$cache/venv-$(cut -c1-16 "$cache/wheels.stamp").tar.zst"
pip_install() { # pip_install ARGS...: offline, from the wheel cache
  guest cortex-a72 python -m pip install -q --no-index --find-links /wheels "$@" \
    >"$work/pip-install.log" 2>&1 \
    || { cat "$work/pip-install.log" >&2; say "FAILED: pip install $* in the arm64 system"; exit 1; }
}
if [ -f "$venv_cache" ]; then
  rm -rf "$root/opt/venv"
  zstd -q -dc "$venv_cache" | tar -C "$root/opt" --numeric-owner -xf -
else
  say "installing the device package's requirements into the arm64 venv (once per device/pyproject.toml)"
  pip_install "${reqs[@]}"
  rm -f "$cache"/venv-*.tar.zst
  tar -C "$root/opt" --numeric-owner -cf - venv | zstd -q -T0 -3 -o "$venv_cache.partial"
  mv "$venv_cache.partial" "$venv_cache"
fi
say "pip install ./device in the arm64 system (no network; requirements checked by pip)"
pip_install --no-build-isolation /src/device
install_s=$((SECONDS - start - build_s))

# The x86 reference, computed here with the same script and the repository's code.
"$venv/bin/python" "$repo/scripts/arm64_parity.py" wav "$root/out/wav"
"$venv/bin/python" "$repo/scripts/arm64_parity.py" run "$repo/tests/fixtures/legacy_v1" \
  "$root/out/wav" "$root/out/x86"

status=0
table=()
tests=()
for cpu in "${cpus[@]}"; do
  say "transcribing the test models on emulated $cpu"
  if guest "$cpu" timeout 600 python /src/arm64_parity.py run /src/tests/fixtures/legacy_v1 \
      /out/wav "/out/$cpu"; then
    rows="$("$venv/bin/python" "$repo/scripts/arm64_parity.py" compare "$root/out/x86" \
      "$root/out/$cpu" "$cpu")" || status=1
    table+=("$rows")
  else
    say "FAILED: the transcription on $cpu"; status=1
  fi
  if [ "$tests_kind" != none ]; then
    selection=(device/tests)
    [ "$tests_kind" = quick ] && selection=("${quick_tests[@]/#/device/tests/}")
    limit="${test_timeout:-$([ "$tests_kind" = quick ] && echo 1200 || echo 7200)}"
    say "device/tests ($tests_kind) on emulated $cpu, at most $limit s"
    t0=$SECONDS
    if guest "$cpu" timeout "$limit" python -m pytest -q -p no:cacheprovider --durations=5 \
        --rootdir /src -c /src/pyproject.toml "${selection[@]/#//src/}" | tee "$work/tests-$cpu.log"; then
      tests+=("arm64: device/tests ($tests_kind) passed on $cpu ($((SECONDS - t0)) s): $(tail -n1 "$work/tests-$cpu.log")")
    else
      tests+=("arm64: device/tests ($tests_kind) FAILED on $cpu ($((SECONDS - t0)) s, limit $limit s): $(tail -n1 "$work/tests-$cpu.log")")
      status=1
    fi
  fi
done

echo
echo "arm64: Debian $debian_suite arm64 under $qemu_version"
[ ${#missing[@]} -eq 0 ] || echo "arm64: not installed (no aarch64 wheel): ${missing[*]}"
echo "| cpu | model | input | max abs delta | tolerance | text equal |"
echo "| --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${table[@]}" | grep '^|' || true
printf '%s\n' "${table[@]}" | grep '^#' || true
printf '%s\n' "${tests[@]}"
echo "arm64: times: system ready ${build_s} s (restore + wheels), pip install ${install_s} s, total $((SECONDS - start)) s"
if [ "$status" = 0 ]; then echo "arm64: x86 and emulated arm64 outputs equal"; else echo "arm64: FAILED"; fi
exit "$status"
