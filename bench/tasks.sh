#!/usr/bin/env bash
# Import, copy and export of a 1 GiB image through ecsim, beside plain `cp` and `qemu-img convert`
# of the same file on the same disk, reported as ratios (higher is better for ecsim).
#
# Usage: bench/tasks.sh [ECSIM_BIN] [SIZE_MIB]     (default target/release/ecsim, 1024)
# Needs qemu-img and python3. Runs each measurement 3 times and reports the median.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BIN=${1:-target/release/ecsim}
SIZE_MIB=${2:-1024}
WORK=$(mktemp -d /tmp/ecsim-bench-tasks.XXXXXX)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
unset HTTP_PROXY http_proxy HTTPS_PROXY https_proxy ALL_PROXY all_proxy

mkdir -p "$WORK/oss/bench"
# Random bytes: neither cp nor ecsim can skip holes, so all three move every byte.
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom > "$WORK/oss/bench/disk.raw"
sync

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

run_cp() { local t0 t1; rm -f "$WORK/cp.raw"; t0=$(now); cp "$WORK/oss/bench/disk.raw" "$WORK/cp.raw"; sync "$WORK/cp.raw"; t1=$(now); echo "$t1 - $t0" | bc; }
run_convert() { local t0 t1; rm -f "$WORK/conv.qcow2"; t0=$(now); qemu-img convert -f raw -O qcow2 "$WORK/oss/bench/disk.raw" "$WORK/conv.qcow2"; sync "$WORK/conv.qcow2"; t1=$(now); echo "$t1 - $t0" | bc; }

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export ECSIM_ROOT_ACCESS_KEY_ID=LTAIbenchtasks ECSIM_ROOT_ACCESS_KEY_SECRET=benchtaskssecret
export ALIBABA_CLOUD_ACCESS_KEY_ID=$ECSIM_ROOT_ACCESS_KEY_ID ALIBABA_CLOUD_ACCESS_KEY_SECRET=$ECSIM_ROOT_ACCESS_KEY_SECRET
export ECSIM_ENDPOINT=http://127.0.0.1:$PORT
"$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" --oss-root "$WORK/oss" 2>"$WORK/server.log" &
SERVER=$!
until curl -sf "$ECSIM_ENDPOINT/healthz" >/dev/null; do sleep 0.05; done

call() { "$BIN" call "$@"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
wait_task() {  # region task-id → returns once the task is Finished
  # Polls with `ecsim call` and grep only: a Python interpreter per poll (every 20 ms) took CPU
  # from the task being measured on a 2-core machine.
  local region=$1 id=$2 status
  while true; do
    status=$(call DescribeTaskAttribute --RegionId "$region" --TaskId "$id" | grep -o '"TaskStatus": "[A-Za-z]*"')
    case "$status" in
      *Finished*) return 0 ;;
      *Failed*) echo "task $id failed" >&2; return 1 ;;
    esac
    sleep 0.05
  done
}
timed() { local t0 t1; t0=$(now); "$@" >/dev/null; t1=$(now); echo "$t1 - $t0" | bc; }

import_once() {
  local out; out=$(call ImportImage --RegionId cn-hangzhou --DiskDeviceMapping.1.OSSBucket bench --DiskDeviceMapping.1.OSSObject disk.raw --DiskDeviceMapping.1.Format RAW)
  LAST_IMAGE=$(echo "$out" | field "['ImageId']")
  wait_task cn-hangzhou "$(echo "$out" | field "['TaskId']")"
}
copy_once() {
  local out; out=$(call CopyImage --RegionId cn-hangzhou --ImageId "$LAST_IMAGE" --DestinationRegionId cn-shanghai)
  local copy; copy=$(echo "$out" | field "['ImageId']")
  local task; task=$(call DescribeTasks --RegionId cn-shanghai --ResourceIds.1 "$copy" | field "['TaskSet']['Task'][0]['TaskId']")
  wait_task cn-shanghai "$task"
}
export_once() {
  local out; out=$(call ExportImage --RegionId cn-hangzhou --ImageId "$LAST_IMAGE" --OSSBucket bench --ImageFormat qcow2 --OSSPrefix "x$RANDOM")
  wait_task cn-hangzhou "$(echo "$out" | field "['TaskId']")"
}

declare -A T
for name in cp convert; do T[$name]=$(for i in 1 2 3; do "run_$name"; done | median); done
T[import]=$(for i in 1 2 3; do timed import_once; done | median)
import_once >/dev/null  # LAST_IMAGE for copy and export
T[copy]=$(for i in 1 2 3; do timed copy_once; done | median)
T[export]=$(for i in 1 2 3; do timed export_once; done | median)

echo "machine: $(nproc) cores, $(uname -r); file: ${SIZE_MIB} MiB of random bytes; median of 3"
printf '%-8s %8s s\n' cp "${T[cp]}" "qemu-img convert raw→qcow2" "${T[convert]}"
for op in import copy export; do
  base=cp; [ "$op" = export ] && base=convert
  ratio=$(echo "scale=2; ${T[$base]} / ${T[$op]}" | bc)
  printf '%-8s %8s s   = %s × the speed of %s\n' "$op" "${T[$op]}" "$ratio" "$base"
done
