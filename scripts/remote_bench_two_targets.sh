#!/usr/bin/env bash
# One `edgetk bench --devices` command measuring two SSH targets at once, run twice (first run:
# fresh device caches; second run: everything reused), then the record under benchmarks/edge/remote/.
#
#   sudo scripts/remote_bench_two_targets.sh BUNDLE PARITY_DIR [WORK]
#
# Targets, both real OpenSSH servers on 127.0.0.1 with throwaway keys:
#   x86-loopback    this machine's own Python as the device
#   arm64-emulated  an arm64 Debian 12 root under qemu-user (ARM64_ROOT, default WORK/arm64-root,
#                   built by `scripts/arm64_emulated_check.sh setup ROOT` or debootstrap with
#                   openssh-server), sshd chrooted into it; its environment is pinned to
#                   ai-edge-litert 1.2.0 (the edge extra's pin) / onnxruntime 1.19.2 (the newest
#                   onnxruntime and ai-edge-litert 2.3.0 crash under qemu 7.2).
# PARITY_DIR: a labelled folder (one subfolder per class) for --check-parity.
# Emulated timings are qemu-user timings, NOT device timings; the record says so.
set -euo pipefail

BUNDLE="$(realpath "$1")"
PARITY="$(realpath "$2")"
WORK="$(realpath -m "${3:-/tmp/edgetk-remote-bench}")"
REPO="$(cd "$(dirname "$0")/.." && pwd)"
ROOT="${ARM64_ROOT:-$WORK/arm64-root}"
PY="${PYTHON:-$REPO/.venv/bin/python}"
QEMU_CPU="${QEMU_CPU:-cortex-a72}"
RUNS="${RUNS:-100}"
THREADS="${THREADS:-1,2}"
WARMUP="${WARMUP:-10}"
NPARITY="${NPARITY:-200}"
ARTIFACTS="${ARTIFACTS:-}"  # empty: every artifact in the bundle
# The second run may measure less (emulation is slow); what it needs is already on the devices.
RUNS2="${RUNS2:-$RUNS}"; THREADS2="${THREADS2:-$THREADS}"; WARMUP2="${WARMUP2:-$WARMUP}"
NPARITY2="${NPARITY2:-$NPARITY}"; ARTIFACTS2="${ARTIFACTS2:-$ARTIFACTS}"
STEPS="${STEPS:-run1 run2}"
OUT="${OUT:-$REPO/benchmarks/edge/remote}"
PORT_X86="${PORT_X86:-22861}"
PORT_ARM="${PORT_ARM:-22862}"

log() { printf '[remote-bench] %s\n' "$*" >&2; }
[ -x "$ROOT/usr/sbin/sshd" ] && [ -x "$ROOT/usr/bin/python3" ] || {
  log "no arm64 root with python3 and openssh-server at $ROOT"; exit 1; }

mkdir -p "$WORK/keys" /run/sshd
K="$WORK/keys"
[ -f "$K/user" ] || ssh-keygen -q -t ed25519 -N '' -f "$K/user"
[ -f "$K/host_x86" ] || ssh-keygen -q -t ed25519 -N '' -f "$K/host_x86"
[ -f "$K/host_arm" ] || ssh-keygen -q -t ed25519 -N '' -f "$K/host_arm"
cp "$K/user.pub" "$K/authorized_keys"

common_sshd() {  # port hostkey authorized_keys pidfile
  printf 'Port %s\nListenAddress 127.0.0.1\nHostKey %s\nAuthorizedKeysFile %s\nPidFile %s\n' "$@"
  printf 'PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n'
  printf 'StrictModes no\nUsePAM no\nMaxStartups 50\nMaxSessions 50\n'
}
common_sshd "$PORT_X86" "$K/host_x86" "$K/authorized_keys" "$WORK/sshd_x86.pid" > "$WORK/sshd_x86_config"

# The arm64 server runs inside the root: its files must be inside it too.
cp /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/ca-certificates.crt"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
mkdir -p "$ROOT/etc/edgetk-bench" "$ROOT/run/sshd"
cp "$K/host_arm" "$ROOT/etc/edgetk-bench/host_ed25519"
cp "$K/user.pub" "$ROOT/etc/edgetk-bench/authorized_keys"
{ common_sshd "$PORT_ARM" /etc/edgetk-bench/host_ed25519 /etc/edgetk-bench/authorized_keys /run/edgetk-sshd.pid
  # sshd gives each session a clean environment: the emulated CPU must be set for it.
  printf 'SetEnv QEMU_CPU=%s\n' "$QEMU_CPU"; } > "$ROOT/etc/edgetk-bench/sshd_config"

{ printf 'Host x86-loopback\n  HostName 127.0.0.1\n  Port %s\n' "$PORT_X86"
  printf 'Host arm64-emulated\n  HostName 127.0.0.1\n  Port %s\n' "$PORT_ARM"
  printf 'Host *\n  User root\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n' "$K/user" "$K/known_hosts"
  printf '  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  LogLevel ERROR\n'; } > "$WORK/ssh_config"
{ printf '[127.0.0.1]:%s %s\n' "$PORT_X86" "$(cut -d' ' -f1,2 "$K/host_x86.pub")"
  printf '[127.0.0.1]:%s %s\n' "$PORT_ARM" "$(cut -d' ' -f1,2 "$K/host_arm.pub")"; } > "$K/known_hosts"

# Pins for the emulated device (the versions that run under qemu-user 7.2).
printf 'ai-edge-litert==1.2.0\nonnxruntime==1.19.2\nnumpy==1.26.4\nopencv-python-headless==4.10.0.84\n' > "$WORK/arm64_pins.txt"
cat > "$WORK/devices.json" <<JSON
{"devices": [
  {"name": "x86-loopback", "destination": "x86-loopback", "label": "x86 loopback (this machine)",
   "cache": "$WORK/device-x86/edgetk"},
  {"name": "arm64-emulated", "destination": "arm64-emulated",
   "label": "arm64 EMULATED (qemu-user $QEMU_CPU), not device timings",
   "constraints": "$WORK/arm64_pins.txt"}
]}
JSON

mounts() { for m in proc sys dev; do mountpoint -q "$ROOT/$m" || mount --bind "/$m" "$ROOT/$m"; done; }
umounts() { for m in dev sys proc; do mountpoint -q "$ROOT/$m" && umount -l "$ROOT/$m" || true; done; }
cleanup() {
  [ -f "$WORK/sshd_x86.pid" ] && kill "$(cat "$WORK/sshd_x86.pid")" 2>/dev/null || true
  [ -f "$ROOT/run/edgetk-sshd.pid" ] && kill "$(cat "$ROOT/run/edgetk-sshd.pid")" 2>/dev/null || true
  sleep 1; umounts
}
trap cleanup EXIT
mounts
for pidfile in "$WORK/sshd_x86.pid" "$ROOT/run/edgetk-sshd.pid"; do  # left by an earlier try
  [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null && sleep 1 || true
done
/usr/sbin/sshd -f "$WORK/sshd_x86_config" -E "$WORK/sshd_x86.log"
chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/bin QEMU_CPU="$QEMU_CPU" \
  /usr/sbin/sshd -f /etc/edgetk-bench/sshd_config -E /tmp/edgetk-sshd.log
for port in "$PORT_X86" "$PORT_ARM"; do
  for _ in $(seq 1 100); do (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.3; done
done

# Both runs use one frozen copy of the committed sources: an edit in the checkout between the runs
# would otherwise (rightly) make a new device environment and hide the reuse being measured.
SRC="$WORK/src"
case " $STEPS " in *" run1 "*)
  rm -rf "$SRC" && mkdir -p "$SRC"
  git -C "$REPO" archive HEAD | tar -x -C "$SRC"
  git -C "$REPO" rev-parse HEAD > "$WORK/commit.txt" ;;
esac

# A true first run: no environment, no blobs on either device.
case " $STEPS " in *" run1 "*)
  rm -rf "$WORK/device-x86" "$ROOT/root/.cache/edgetk" "$WORK/run1" "$WORK/run2" ;;
esac
for run in $STEPS; do
  log "$run: edgetk bench --devices (both targets in parallel)"
  if [ "$run" = run1 ]; then set -- "$THREADS" "$RUNS" "$WARMUP" "$NPARITY" "$ARTIFACTS"
  else set -- "$THREADS2" "$RUNS2" "$WARMUP2" "$NPARITY2" "$ARTIFACTS2"; fi
  start=$(date +%s.%N)
  set +e
  # From inside the copy: `python -m` puts the current folder first on sys.path, ahead of
  # PYTHONPATH, so running from the checkout would import the checkout instead.
  (cd "$SRC" && PYTHONPATH="$SRC" "$PY" -m edgetk.cli bench "$BUNDLE" --devices "$WORK/devices.json" \
    --ssh-config "$WORK/ssh_config" --threads "$1" --runs "$2" --warmup "$3" \
    --check-parity "$4" ${5:+--artifacts "$5"} --parity-data-dir "$PARITY" --results-dir "$WORK/$run" \
    > "$WORK/$run.out" 2> "$WORK/$run.err")
  rc=$?
  set -e
  end=$(date +%s.%N)
  printf '{"exit_code": %s, "wall_s": %s}\n' "$rc" "$(echo "$end - $start" | bc)" > "$WORK/$run.command.json"
  cat "$WORK/$run.out"
  [ "$rc" = 0 ] || { tail -n 20 "$WORK/$run.err" >&2; exit "$rc"; }
done
"$PY" "$REPO/scripts/remote_bench_record.py" "$WORK" "$OUT" --bundle "$BUNDLE"
