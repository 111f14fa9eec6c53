#!/usr/bin/env bash
# Import, copy and export of a 1 GiB image through ecsim, beside plain `cp` and `qemu-img convert`
# of the same file on the same disk, reported as ratios (higher is better for ecsim).
#
# Usage: bench/tasks.sh [ECSIM_BIN] [SIZE_MIB] [RUNS]   (default target/release/ecsim, 1024, 5)
# Needs qemu-img and python3. Reports the median and the range of RUNS runs of each.
#
# Baseline and ecsim runs alternate (cp, import, cp, import, …), so that other load on the machine
# disturbs both alike, and each run first removes what the previous run of the same kind wrote
# (cp's copy, the imported image, the exported object): a new 1 GiB file then reuses the page
# cache the previous one freed on both sides, instead of one side allocating fresh memory every
# time (on this VM, first-touch memory costs several times a warm page).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BIN=${1:-target/release/ecsim}
SIZE_MIB=${2:-1024}
RUNS=${3:-5}
WORK=$(mktemp -d /tmp/ecsim-bench-tasks.XXXXXX)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
unset HTTP_PROXY http_proxy HTTPS_PROXY https_proxy ALL_PROXY all_proxy

mkdir -p "$WORK/oss/bench"
# Random bytes: neither cp nor ecsim can skip holes, so all three move every byte.
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom > "$WORK/oss/bench/disk.raw"
sync

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
range() { sort -n | awk 'NR==1 {lo=$1} {hi=$1} END {printf "%.2f-%.2f", lo, hi}'; }

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
# The first string value of KEY in `ecsim call`'s JSON. grep, not Python: an interpreter start
# (through pyenv's shim) took 0.3 s on the loaded 2-core machine, inside the timed section.
field() { grep -o "\"$1\": \"[^\"]*\"" | head -n 1 | cut -d '"' -f 4; }
wait_task() {  # region task-id → returns once the task is Finished
  # Polls every 20 ms with `ecsim call` and grep only: a Python interpreter per poll took CPU
  # from the task being measured on a 2-core machine.
  local region=$1 id=$2 status
  while true; do
    status=$(call DescribeTaskAttribute --RegionId "$region" --TaskId "$id" | grep -o '"TaskStatus": "[A-Za-z]*"')
    case "$status" in
      *Finished*) return 0 ;;
      *Failed*) echo "task $id failed" >&2; return 1 ;;
    esac
    sleep 0.02
  done
}
timed() { local t0 t1; t0=$(now); "$@" >/dev/null; t1=$(now); echo "$t1 - $t0" | bc; }

# Timed runs happen in command substitutions (subshells): what a run made is passed on in files.
last_image() { cat "$WORK/last_image" 2>/dev/null || true; }
delete_last_image() {
  local id; id=$(last_image)
  if [ -n "$id" ]; then call DeleteImage --RegionId cn-hangzhou --ImageId "$id" >/dev/null; fi
}
import_once() {
  local out; out=$(call ImportImage --RegionId cn-hangzhou --DiskDeviceMapping.1.OSSBucket bench --DiskDeviceMapping.1.OSSObject disk.raw --DiskDeviceMapping.1.Format RAW)
  echo "$out" | field ImageId > "$WORK/last_image"
  wait_task cn-hangzhou "$(echo "$out" | field TaskId)"
}
copy_once() {
  local out; out=$(call CopyImage --RegionId cn-hangzhou --ImageId "$(last_image)" --DestinationRegionId cn-shanghai)
  local copy; copy=$(echo "$out" | field ImageId)
  local task; task=$(call DescribeTasks --RegionId cn-shanghai --ResourceIds.1 "$copy" | field TaskId)
  wait_task cn-shanghai "$task"
}
export_once() {
  local prefix=x$RANDOM
  echo "$prefix" > "$WORK/last_export"
  local out; out=$(call ExportImage --RegionId cn-hangzhou --ImageId "$(last_image)" --OSSBucket bench --ImageFormat qcow2 --OSSPrefix "$prefix")
  wait_task cn-hangzhou "$(echo "$out" | field TaskId)"
}
delete_last_export() {
  local prefix; prefix=$(cat "$WORK/last_export" 2>/dev/null || true)
  if [ -n "$prefix" ]; then rm -f "$WORK/oss/bench/${prefix}_"*; fi
}

echo "load before: $(uptime)"
declare -A ALL
for i in $(seq "$RUNS"); do
  ALL[cp]+="$(run_cp) "
  delete_last_image
  ALL[import]+="$(timed import_once) "
done
for i in $(seq "$RUNS"); do
  ALL[convert]+="$(run_convert) "
  delete_last_export
  ALL[export]+="$(timed export_once) "
done
for i in $(seq "$RUNS"); do ALL[copy]+="$(timed copy_once) "; done
echo "load after:  $(uptime)"

declare -A T R
for op in cp convert import copy export; do
  T[$op]=$(echo "${ALL[$op]}" | tr ' ' '\n' | grep . | median)
  R[$op]=$(echo "${ALL[$op]}" | tr ' ' '\n' | grep . | range)
done
echo "machine: $(nproc) cores, $(uname -r); file: ${SIZE_MIB} MiB of random bytes; median (range) of $RUNS"
printf '%-28s %6.2f s (%s)\n' cp "${T[cp]}" "${R[cp]}" "qemu-img convert raw→qcow2" "${T[convert]}" "${R[convert]}"
for op in import copy export; do
  base=cp; [ "$op" = export ] && base=convert
  ratio=$(echo "scale=2; ${T[$base]} / ${T[$op]}" | bc)
  printf '%-28s %6.2f s (%s)   = %s × the speed of %s\n' "$op" "${T[$op]}" "${R[$op]}" "$ratio" "$base"
done
