#!/usr/bin/env bash
# bench/run's "CreateImage(instance) + DeleteImage once Available" scenario on its own: a fresh
# ecsim (--creation-time-ms 0) with one instance of the x86 system image, then `ecsim-bench load`
# with the same flags as bench/run.py (32 connections, DeleteImage resent every 10 ms while it
# answers ImageIsCreating). Prints, per run, the generator's JSON line, the load average before
# it and the server's CPU seconds during it (1 s warm-up + DURATION).
#
# Usage: bench/cycle.sh [BIN_DIR] [RUNS] [DURATION]   (default target/release, 3, 5)
# BIN_DIR holds `ecsim` and `ecsim-bench` (cargo build --release -p ecsim -p ecsim-bench).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BIN_DIR=${1:-target/release}
RUNS=${2:-3}
DURATION=${3:-5}
WORK=$(mktemp -d /tmp/ecsim-bench-cycle.XXXXXX)
unset HTTP_PROXY http_proxy HTTPS_PROXY https_proxy ALL_PROXY all_proxy
export ECSIM_ROOT_ACCESS_KEY_ID=LTAIbenchmark00000001 ECSIM_ROOT_ACCESS_KEY_SECRET=benchmarksecret0000000000000000
export ALIBABA_CLOUD_ACCESS_KEY_ID=$ECSIM_ROOT_ACCESS_KEY_ID ALIBABA_CLOUD_ACCESS_KEY_SECRET=$ECSIM_ROOT_ACCESS_KEY_SECRET
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export ECSIM_ENDPOINT=http://127.0.0.1:$PORT
"$BIN_DIR/ecsim" serve --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" --creation-time-ms 0 2>"$WORK/server.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
until curl -sf "$ECSIM_ENDPOINT/healthz" >/dev/null; do sleep 0.05; done
INSTANCE=$("$BIN_DIR/ecsim" call RunInstances --RegionId cn-hangzhou \
  --ImageId aliyun_3_x64_20G_alibase_20240819.vhd --InstanceType ecs.g7.large |
  grep -o '"i-[a-z0-9]*"' | head -n 1 | tr -d '"')
cpu_s() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$SERVER/stat"; }
for i in $(seq "$RUNS"); do
  load=$(cut -d ' ' -f 1 /proc/loadavg)
  c0=$(cpu_s)
  out=$("$BIN_DIR/ecsim-bench" load --endpoint "$ECSIM_ENDPOINT" --scheme v3 --connections 32 \
    --threads 2 --json --key-id "$ECSIM_ROOT_ACCESS_KEY_ID" --secret "$ECSIM_ROOT_ACCESS_KEY_SECRET" \
    --action CreateImage --param RegionId=cn-hangzhou --param "InstanceId=$INSTANCE" \
    --then DeleteImage --param RegionId=cn-hangzhou --param 'ImageId={id}' --extract ImageId \
    --retry-code ImageIsCreating --retry-wait-ms 10 --duration "$DURATION" --warmup 1 | tail -n 1)
  echo "run $i: load average $load, server CPU $(echo "$(cpu_s) - $c0" | bc) s: $out"
done
