# shellcheck shell=bash
# Shared set-up for scripts/test, scripts/demo, scripts/fuzz and scripts/docs. Source it; do not run it.
#
# After sourcing:
#   REPO_ROOT        absolute path of the repository root (and the cwd)
#   JOBS             number of parallel build/test jobs (nproc)
#   tapenet_install_deps      installs the missing Debian packages (no-op when all present)
#   tapenet_install_packages PKG...   the same for the packages named (e.g. the fuzz phase's)
#   tapenet_configure_build DIR ARGS...   cmake -S . -B DIR ARGS..., then build with $JOBS
#   tapenet_phase_start NAME / tapenet_phase_end   print elapsed time of a phase
# The caller is expected to have `set -euo pipefail`.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO_ROOT" || return 1

JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"

# Debian 12 packages needed to build and test tapenet.
TAPENET_DEBIAN_PACKAGES=(
  build-essential
  cmake
  libxtensor-dev
  libxtensor-blas-dev
  libxsimd-dev
  libtbb-dev
  libboost-test-dev
  libopenblas-dev
  libopenmpi-dev
  openmpi-bin
  libsentencepiece-dev
  pkgconf
  zlib1g-dev
)

# The API reference's (scripts/docs, and the ctest `docs` that scripts/test runs).
TAPENET_DOCS_DEBIAN_PACKAGES=(
  doxygen
)

# The fuzz phase's (scripts/fuzz): clang with libFuzzer and the sanitizer runtimes.
TAPENET_FUZZ_DEBIAN_PACKAGES=(
  clang
  libclang-rt-14-dev
)

tapenet_install_deps() {
  tapenet_install_packages "${TAPENET_DEBIAN_PACKAGES[@]}"
}

tapenet_install_packages() {
  local missing=() pkg status
  for pkg in "$@"; do
    status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)"
    if [[ "$status" != ii* ]]; then
      missing+=("$pkg")
    fi
  done
  if ((${#missing[@]} == 0)); then
    echo "==> dependencies: all $# Debian packages present"
    return 0
  fi
  echo "==> dependencies: installing ${missing[*]}"
  local sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      echo "error: missing packages (${missing[*]}) and not root, no sudo" >&2
      return 1
    fi
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
}

tapenet_configure_build() {
  local dir="$1"
  shift
  cmake -S "$REPO_ROOT" -B "$dir" "$@"
  cmake --build "$dir" -j "$JOBS"
}

# Phase timing: SECONDS-based, printed as Mm SSs.
TAPENET_PHASE_NAME=""
TAPENET_PHASE_START=0
TAPENET_PHASE_OPEN=0
TAPENET_TOTAL_START=$SECONDS
TAPENET_TIMINGS=()

tapenet_fmt_secs() {
  printf '%dm%02ds' $(($1 / 60)) $(($1 % 60))
}

tapenet_phase_start() {
  TAPENET_PHASE_NAME="$1"
  TAPENET_PHASE_START=$SECONDS
  TAPENET_PHASE_OPEN=1
  echo
  echo "==> [$TAPENET_PHASE_NAME] start"
}

tapenet_phase_end() {
  local took=$((SECONDS - TAPENET_PHASE_START))
  local line
  line="$(printf '%-28s %s' "$TAPENET_PHASE_NAME" "$(tapenet_fmt_secs "$took")")"
  TAPENET_TIMINGS+=("$line")
  TAPENET_PHASE_OPEN=0
  echo "==> [$TAPENET_PHASE_NAME] done in $(tapenet_fmt_secs "$took")"
}

# Prints every finished phase, the unfinished one (after a failure), and the total.
tapenet_print_timings() {
  echo
  echo "==> timings"
  local line
  for line in "${TAPENET_TIMINGS[@]}"; do
    echo "    $line"
  done
  if ((TAPENET_PHASE_OPEN)); then
    printf '    %-28s %s (unfinished)\n' "$TAPENET_PHASE_NAME" \
      "$(tapenet_fmt_secs $((SECONDS - TAPENET_PHASE_START)))"
  fi
  printf '    %-28s %s\n' "total" "$(tapenet_fmt_secs $((SECONDS - TAPENET_TOTAL_START)))"
}
