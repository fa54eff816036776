#!/usr/bin/env bash
# One-time set-up of a Debian 12 machine for the workbench, safe to re-run:
#   - Debian packages: Jupyter (headless notebooks with the tslab kernel),
#     Chromium (static PNG renders of figures), OpenBLAS, oneDNN and a C++
#     toolchain (the native kernels), numpy (the .npz round-trip test), git
#     (a native test runs in a clone), Mesa's EGL and OpenGL ES (the webgpu
#     backend's software adapter, which its tests run on without a GPU);
#     installed only when missing, as root or through sudo. sudo is run with -n:
#     when it would ask for a password the script stops and prints the apt-get
#     command to run by hand (or run `sudo -v` first and re-run).
#   - npm >= 11.18 (it honours package.json's allowScripts); an older npm is refused.
#   - npm ci: node_modules from the lockfile; skipped when it already matches.
#   - the native kernels are rebuilt when their sources or libraries changed.
# Options: --bench  also install python3-torch and python3-opencv (the PyTorch/OpenCV
#                   peers of `npm run bench`; not needed for anything else).
#          --force  run npm ci even when node_modules looks current.
# Quiet unless something fails (then the tail of the log is printed).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

APT_PACKAGES=(
  python3 python3-nbclient jupyter-client jupyter-nbconvert jupyter-notebook
  chromium
  libopenblas-dev libdnnl-dev build-essential
  python3-numpy git
  libegl1 libgles2 libegl-mesa0 libgl1-mesa-dri
)
FORCE_NPM=0
for arg in "$@"; do
  case "$arg" in
    --bench) APT_PACKAGES+=(python3-torch python3-opencv) ;;
    --force) FORCE_NPM=1 ;;
    *) echo "error: scripts/setup.sh: unknown option $arg (use --bench, --force)" >&2; exit 2 ;;
  esac
done

LOG="$(mktemp -t samfeat-setup.XXXXXX.log)"
trap 'rm -f "$LOG"' EXIT

fail() {
  echo "error: scripts/setup.sh: $1 (last lines of the log follow)" >&2
  tail -n 30 "$LOG" >&2
  exit 1
}

# --- Debian packages ---------------------------------------------------------
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    SUDO=()
  elif command -v sudo >/dev/null; then
    SUDO=(sudo -n)
    if ! sudo -n true 2>/dev/null; then
      echo "error: scripts/setup.sh: sudo needs a password to install the missing Debian packages: ${missing[*]}" >&2
      echo "  install them yourself:  sudo apt-get install --no-install-recommends ${missing[*]}" >&2
      echo "  (or run \`sudo -v\` to cache your password) and run scripts/setup.sh again" >&2
      exit 1
    fi
  else
    echo "error: scripts/setup.sh: missing Debian packages, and no root to install them: ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -qq >>"$LOG" 2>&1 || fail "apt-get update failed"
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$LOG" 2>&1 ||
    fail "apt-get install ${missing[*]} failed"
fi

# --- Node ----------------------------------------------------------------------
command -v node >/dev/null || { echo "error: scripts/setup.sh: node not found (Node >= 20.19 is required)" >&2; exit 1; }
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' ||
  { echo "error: scripts/setup.sh: Node $(node -v) is too old (>= 20.19 is required)" >&2; exit 1; }

# allowScripts (package.json) keeps onnxruntime-node's CUDA download and other install scripts from
# running; npm before 11.16 ignores the field, and 11.18 is the oldest release relied on here.
NPM_MIN=11.18.0
command -v npm >/dev/null || { echo "error: scripts/setup.sh: npm not found (npm >= $NPM_MIN is required)" >&2; exit 1; }
npm_version="$(npm --version)"
node -e 'const [a, b] = [process.argv[1], process.argv[2]].map((v) => v.split(".").map(Number));
  process.exit(a[0] !== b[0] ? (a[0] > b[0] ? 0 : 1) : a[1] !== b[1] ? (a[1] > b[1] ? 0 : 1) : a[2] >= b[2] ? 0 : 1)' "$npm_version" "$NPM_MIN" ||
  { echo "error: scripts/setup.sh: npm $npm_version is too old: npm >= $NPM_MIN is required to honour package.json's allowScripts (npm install -g npm@11)" >&2; exit 1; }

# node_modules is current when it was installed from exactly this lockfile. npm ci also builds the
# native kernels; they are rebuilt on their own when their sources or libraries changed since.
STAMP=node_modules/.setup-lock.sha256
want="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)"
NATIVE_STAMP=native/build/.setup-sources.sha256
native_want="$( (cat native/binding.gyp native/src/* scripts/build-native.cjs; dpkg-query -W libopenblas-dev libdnnl-dev 2>/dev/null) | sha256sum | cut -d' ' -f1)"
if [[ $FORCE_NPM -eq 1 || ! -f $STAMP || "$(cat "$STAMP")" != "$want" ]]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error >>"$LOG" 2>&1 || fail "npm ci failed"
  echo "$want" >"$STAMP"
  mkdir -p native/build && echo "$native_want" >"$NATIVE_STAMP"
elif [[ ! -f $NATIVE_STAMP || "$(cat "$NATIVE_STAMP")" != "$native_want" ]]; then
  node scripts/build-native.cjs
  mkdir -p native/build && echo "$native_want" >"$NATIVE_STAMP"
fi

# The project's Jupyter kernel spec must be found by the Debian interpreter.
JUPYTER_PATH="$PWD/jupyter" /usr/bin/python3 -m jupyter_client.kernelspecapp list 2>/dev/null | grep -q '^ *tslab ' ||
  { echo "error: scripts/setup.sh: the tslab kernel spec in jupyter/kernels is not visible to Jupyter" >&2; exit 1; }
echo "setup: ok"
