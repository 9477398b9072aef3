#!/usr/bin/env bash
# Prove the edge runtime on an arm64 (Raspberry Pi-class) Debian under qemu-user emulation.
#
#   sudo scripts/arm64_emulated_check.sh [setup|check|all|resize] [ROOT]
#
#   setup  build an arm64 Debian 12 root (debootstrap + qemu-user-static) and install the
#          dependencies of one extra (EXTRA, default `edge`: the smallest install, TFLite files
#          only) in a venv inside it from the package registry, pinned by a constraints file
#          (ai-edge-litert 1.4.0, inside the edge extra's range >=1.4,<1.5, and onnxruntime
#          1.19.2: the newest onnxruntime and ai-edge-litert 2.3.0 crash under qemu-user 7.2).
#   check  copy this checkout into the root, run the edge-runtime tests there, a short benchmark,
#          and predictions on a fixed image set that are compared with the same run on this x86
#          machine (int8: identical top-1 required). Results go to benchmarks/edge/arm64_emulated/.
#   all    both (default).
#   resize after setup: every artifact kind through growing/shrinking batch sizes, per runtime
#          version, each in a fresh venv, on this machine and inside the root (ai-edge-litert
#          1.4.0 and 1.3.0, onnxruntime 1.19.2; scripts/runtime_resize_matrix.py). Writes
#          benchmarks/edge/runtime_resize.{json,md}. About crashes and agreement, not timings.
#
# ROOT defaults to ./arm64-root (git-ignored). Needs root (debootstrap, chroot, binfmt, mounts).
# Timings measured here are EMULATED (qemu-user) and are not Raspberry Pi timings.
set -euo pipefail

STAGE="${1:-all}"
REPO="$(cd "$(dirname "$0")/.." && pwd)"
ROOT="${2:-$REPO/arm64-root}"
OUT="${OUT:-$REPO/benchmarks/edge/arm64_emulated}"
EXTRA="${EXTRA:-edge}"
PY="${PYTHON:-$REPO/.venv/bin/python}"
export QEMU_CPU="${QEMU_CPU:-cortex-a72}"  # Raspberry Pi 4's core; cortex-a76 for a Pi 5
# onnxruntime wheels newer than this and ai-edge-litert 2.3.0 crash (SIGSEGV on model load) under
# qemu-user 7.2; see docs/raspberry_pi.md. ai-edge-litert 1.4.0 is what the edge extra installs
# (>=1.4,<1.5): 1.2.0 segfaults when a dynamic-range interpreter, once invoked, is resized to a
# larger batch (benchmarks/edge/runtime_resize.md, which the `resize` stage below rewrites).
CONSTRAINTS="ai-edge-litert==1.4.0
onnxruntime==1.19.2
numpy==1.26.4
opencv-python-headless==4.10.0.84
pillow==10.4.0
psutil==6.1.1
click==8.1.8
pytest==8.3.5"

log() { printf '[arm64] %s\n' "$*" >&2; }

register_binfmt() {
  command -v qemu-aarch64-static >/dev/null || {
    log "installing qemu-user-static and debootstrap"
    apt-get install -y -qq qemu-user-static debootstrap >/dev/null
  }
  if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  fi
  if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
    # The container does not register handlers by itself.
    cat /usr/lib/binfmt.d/qemu-aarch64.conf > /proc/sys/fs/binfmt_misc/register
  fi
}

debian_mirror() {
  # The mirror this machine's apt already uses (deb822 .sources or one-line .list).
  local m
  m="$(grep -h -m1 '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | head -n1 || true)"
  if [ -z "$m" ]; then
    m="$(grep -h -m1 '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $2}' | head -n1 || true)"
  fi
  [ -n "$m" ] || { log "no Debian mirror found in /etc/apt; pass one via MIRROR="; exit 1; }
  printf '%s' "${MIRROR:-$m}"
}

mount_all() {
  mountpoint -q "$ROOT/proc" || mount --bind /proc "$ROOT/proc"
  mountpoint -q "$ROOT/sys" || mount --bind /sys "$ROOT/sys"
  mountpoint -q "$ROOT/dev" || mount --bind /dev "$ROOT/dev"
}

umount_all() {
  for m in dev sys proc; do
    mountpoint -q "$ROOT/$m" && umount -l "$ROOT/$m" || true
  done
}

in_root() { chroot "$ROOT" /usr/bin/env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin \
  QEMU_CPU="$QEMU_CPU" LANG=C.UTF-8 PIP_DISABLE_PIP_VERSION_CHECK=1 "$@"; }

extra_deps() {
  # Requirement names of one extra, following edgetk[...] self-references, from pyproject.toml.
  "${HOST_PYTHON:-python3}" "$REPO/scripts/extra_deps.py" "$REPO/pyproject.toml" "$1"
}

setup() {
  register_binfmt
  if [ ! -x "$ROOT/usr/bin/python3" ]; then
    log "debootstrap arm64 bookworm into $ROOT (about 3 minutes)"
    debootstrap --arch=arm64 --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
      bookworm "$ROOT" "$(debian_mirror)"
  fi
  # pip inside the root needs this machine's CA bundle and resolver.
  cp /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/ca-certificates.crt"
  cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
  printf '%s\n' "$CONSTRAINTS" > "$ROOT/root/constraints.txt"
  mount_all
  trap umount_all EXIT
  if [ ! -x "$ROOT/opt/edge-venv/bin/python" ]; then
    in_root python3 -m venv /opt/edge-venv
  fi
  log "installing the '$EXTRA' extra's dependencies (pinned) inside the root"
  # The extra's own list, read from pyproject.toml, pinned by constraints; pytest for the tests.
  local deps
  deps="$(extra_deps "$EXTRA")"
  log "  $deps"
  # shellcheck disable=SC2086
  in_root /opt/edge-venv/bin/pip install -q -c /root/constraints.txt $deps pytest
  umount_all
  trap - EXIT
}

check() {
  register_binfmt
  [ -x "$ROOT/opt/edge-venv/bin/python" ] || { log "run '$0 setup' first"; exit 1; }
  mkdir -p "$OUT"
  local src="$ROOT/opt/edgetk"
  rm -rf "$src"
  mkdir -p "$src/tests"
  # Every package the published wheel has (a device's pip gets them all), not only the runtime.
  cp -r "$REPO/edgetk" "$REPO/edge_runtime" "$REPO/export" "$REPO/calibration" "$REPO/trainer" \
    "$REPO/pyproject.toml" "$REPO/README.md" "$REPO/scripts" "$src/"
  cp -r "$REPO/tests/fixtures" "$REPO/tests/conftest.py" "$REPO/tests/__init__.py" "$src/tests/"
  cp "$REPO"/tests/test_edge_*.py "$REPO"/tests/test_install_extras.py "$src/tests/"
  mount_all
  trap umount_all EXIT
  log "installing edgetk[$EXTRA] itself inside the root (its dependencies are already pinned)"
  in_root /opt/edge-venv/bin/pip install -q -c /root/constraints.txt "/opt/edgetk[$EXTRA]" \
    > "$OUT/pip_install.log" 2>&1 || { cat "$OUT/pip_install.log"; exit 1; }
  in_root /opt/edge-venv/bin/pip freeze > "$OUT/pip_freeze.txt"
  { in_root uname -a; in_root /opt/edge-venv/bin/python -c \
      "import platform; print(platform.machine(), platform.python_version())"; \
    echo "QEMU_CPU=$QEMU_CPU"; qemu-aarch64-static --version | head -n1; } > "$OUT/platform.txt"
  log "running the edge-runtime tests under emulation"
  set +e
  in_root /bin/sh -c "cd /opt/edgetk && /opt/edge-venv/bin/python -m pytest -q -p no:cacheprovider \
    -m 'not slow' -v tests/" > "$OUT/pytest.txt" 2>&1
  local rc=$?
  set -e
  tail -n 5 "$OUT/pytest.txt" >&2
  echo "$rc" > "$OUT/pytest_exit_code.txt"
  log "short benchmark under emulation (timings are emulated, not device timings)"
  # The smallest extra has no ONNX Runtime: bench what it can run, the TFLite artifacts.
  local arts=""
  if ! in_root /opt/edge-venv/bin/python -c "import onnxruntime" 2>/dev/null; then
    arts="--artifacts model_int8.tflite,model_fp32.tflite"
  fi
  in_root /bin/sh -c "cd /opt/edgetk && /opt/edge-venv/bin/edgetk bench tests/fixtures/tiny_bundle $arts \
    --thread-counts 1 --runs 50 --warmup 5 --batch-size 8 --label 'emulated (qemu-user $QEMU_CPU), not device timings' \
    --out /opt/bench.json" > "$OUT/bench.txt" 2>&1
  cp "$ROOT/opt/bench.json" "$OUT/bench.json"
  log "predictions on the fixed set: arm64 (emulated) vs this x86 machine"
  in_root /bin/sh -c "cd /opt/edgetk && /opt/edge-venv/bin/python scripts/arm64_predictions.py dump \
    tests/fixtures/tiny_bundle tests/fixtures/images /tmp/pred_arm64.json"
  cp "$ROOT/tmp/pred_arm64.json" "$OUT/predictions_arm64.json"
  # The real exported model too, when there is one (EXTRA_BUNDLE, default: the full or quick
  # export), on a fixed set of Fashion-MNIST test images written from the offline cache.
  local extra="${EXTRA_BUNDLE:-}"
  if [ -z "$extra" ]; then
    for b in "$REPO/runs/bundles/full" "$REPO/runs/bundles/quick"; do
      [ -f "$b/manifest.json" ] && { extra="$b"; break; }
    done
  fi
  local tag=""
  [ -n "$extra" ] && tag="$(basename "$extra")"
  if [ -n "$extra" ]; then
    log "real bundle $extra: predictions on 200 Fashion-MNIST test images, arm64 vs x86"
    rm -rf "$ROOT/opt/extra_bundle" "$ROOT/opt/fixed_fmnist"
    cp -r "$extra" "$ROOT/opt/extra_bundle"
    "$PY" "$REPO/scripts/arm64_predictions.py" fmnist-set "$extra" "$ROOT/opt/fixed_fmnist" --n 200
    in_root /bin/sh -c "cd /opt/edgetk && /opt/edge-venv/bin/python scripts/arm64_predictions.py dump \
      /opt/extra_bundle /opt/fixed_fmnist /tmp/pred_real_arm64.json"
    cp "$ROOT/tmp/pred_real_arm64.json" "$OUT/predictions_${tag}_arm64.json"
    local default_artifact
    default_artifact="$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["default_artifact"])' \
      "$extra/manifest.json")"
    in_root /bin/sh -c "cd /opt/edgetk && /opt/edge-venv/bin/edgetk bench /opt/extra_bundle --thread-counts 1,2 \
      --artifacts $default_artifact --runs 30 --warmup 3 --batch 8 --data /opt/fixed_fmnist \
      --label 'emulated (qemu-user $QEMU_CPU), not device timings' --out /opt/bench_real.json" \
      > "$OUT/bench_${tag}.txt" 2>&1 || true
    cp "$ROOT/opt/bench_real.json" "$OUT/bench_${tag}.json" 2>/dev/null || true
    echo "$extra" | sed "s|^$REPO/||" > "$OUT/bundle_${tag}.txt"
  fi
  umount_all
  trap - EXIT
  (cd "$REPO" && "$PY" scripts/arm64_predictions.py dump tests/fixtures/tiny_bundle tests/fixtures/images \
    "$OUT/predictions_x86_64.json")
  (cd "$REPO" && "$PY" scripts/arm64_predictions.py compare "$OUT/predictions_x86_64.json" \
    "$OUT/predictions_arm64.json" --out "$OUT/comparison.json") | tee "$OUT/comparison.txt"
  if [ -n "$extra" ]; then
    (cd "$REPO" && "$PY" scripts/arm64_predictions.py dump "$extra" "$ROOT/opt/fixed_fmnist" \
      "$OUT/predictions_${tag}_x86_64.json")
    (cd "$REPO" && "$PY" scripts/arm64_predictions.py compare "$OUT/predictions_${tag}_x86_64.json" \
      "$OUT/predictions_${tag}_arm64.json" --out "$OUT/comparison_${tag}.json") | tee "$OUT/comparison_${tag}.txt"
  fi
  return "$rc"
}

resize() {
  register_binfmt
  [ -x "$ROOT/usr/bin/python3" ] || { log "run '$0 setup' first"; exit 1; }
  # The script bind-mounts /proc and /sys into the root for its emulated runs only.
  (cd "$REPO" && "$PY" scripts/runtime_resize_matrix.py --arm64-root "$ROOT" --qemu-cpu "$QEMU_CPU")
}

case "$STAGE" in
  setup) setup ;;
  check) check ;;
  all) setup; check ;;
  resize) resize ;;
  *) log "unknown stage $STAGE; use setup, check, all or resize"; exit 2 ;;
esac
