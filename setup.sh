#!/usr/bin/env bash
# One-command setup from a fresh clone: system packages, .venv with pinned Python packages,
# the sisyphus runtime (tools/sisyphus) on the venv's path, KenLM lmplz/build_binary in tools/bin.
# Idempotent: a second run checks and skips what is already there (seconds).
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
STAMP_DIR=.venv/.setup-stamps

APT_PACKAGES="espeak-ng sox libsox-fmt-all festival festvox-kallpc16k sctk graphviz ngspice \
  cmake build-essential libboost-program-options-dev libboost-system-dev libboost-thread-dev \
  libboost-test-dev zlib1g-dev libbz2-dev liblzma-dev libsndfile1 chromium chromium-driver slurm-wlm munge"

missing=""
for p in $APT_PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "[setup] apt-get install:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
  else
    echo "[setup] missing system packages; run as root:"
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends$missing"
    exit 1
  fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv"
  "$PY" -m venv .venv
fi
mkdir -p "$STAMP_DIR"
req_hash=$(sha256sum requirements.txt | cut -c1-16)
if [ ! -f "$STAMP_DIR/req-$req_hash" ]; then
  echo "[setup] installing requirements.txt"
  .venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v "is ignored" || true
  # torch first, from the exact pin, so nothing later can swap it for a CUDA build
  .venv/bin/python -m pip install -q "$(grep "^torch==" requirements.txt)" 2>&1 | grep -v "is ignored" || true
  .venv/bin/python -m pip install -q -r requirements.txt 2>&1 | grep -v "is ignored" || true
  .venv/bin/python -c "import torch, i6_models, flashlight.lib.text" || { echo "[setup] pip install failed"; exit 1; }
  rm -f "$STAMP_DIR"/req-*
  touch "$STAMP_DIR/req-$req_hash"
fi

# the runtime: tools/ on the venv's path, so `import sisyphus` is ours (never PyPI's `sisyphus`)
site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$ROOT/tools" > "$site/memristor_asr_tools.pth"
cat > .venv/bin/sis <<SIS
#!/usr/bin/env bash
exec "$ROOT/.venv/bin/python" -m sisyphus "\$@"
SIS
chmod +x .venv/bin/sis

# KenLM binaries from the PyPI kenlm source distribution
if [ ! -x tools/bin/lmplz ] || [ ! -x tools/bin/build_binary ]; then
  echo "[setup] building KenLM lmplz/build_binary"
  tmp=$(mktemp -d)
  # kenlm has no wheel: pip fetches the sdist (its build requirements come as wheels)
  .venv/bin/python -m pip download -q --no-deps --no-binary=kenlm kenlm==0.3.0 -d "$tmp" 2>&1 | grep -v "is ignored" || true
  tar -xzf "$tmp"/kenlm-0.3.0.tar.gz -C "$tmp"
  src=$(find "$tmp" -maxdepth 1 -type d -name 'kenlm*' | head -1)
  mkdir -p "$src/build"
  if ! (cd "$src/build" && cmake -DCMAKE_BUILD_TYPE=Release .. && make -j"$(nproc)" lmplz build_binary) >"$tmp/build.log" 2>&1; then
    tail -40 "$tmp/build.log"; echo "[setup] KenLM build failed (full log: $tmp/build.log)"; exit 1
  fi
  mkdir -p tools/bin
  cp "$src/build/bin/lmplz" "$src/build/bin/build_binary" tools/bin/
  rm -rf "$tmp"
fi

.venv/bin/python -c "import torch, sisyphus, flashlight.lib.text.decoder, synaptogen; assert torch.__version__.startswith('2.13.0'), torch.__version__" \
  || { echo "[setup] environment check failed"; exit 1; }
echo "[setup] ok: .venv ready, tools/bin/lmplz built"
