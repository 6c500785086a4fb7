#!/usr/bin/env bash
# agent-footprint.sh: the agent's CPU and memory while it watches N running
# containers with the default checks (CPU, memory, state every 10 s).
#
# Usage: bench/agent-footprint.sh [N] [SECONDS]      (default 100 containers, 120 s)
#
# Starts N labelled testbox containers (the image the Go test harness builds;
# run `go test ./internal/dockertest` once first), builds cmd/minato, runs
# `minato agent` for SECONDS after a 20 s warm-up, and reports the agent's
# CPU time (utime+stime from /proc/<pid>/stat) as a share of one core, and
# its peak and final RSS (VmHWM, VmRSS). Everything it starts is removed on
# exit.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100}
SECS=${2:-120}
run=fp$$
img=$(docker images --format '{{.Repository}}:{{.Tag}}' | grep '^minato-testbox:' | head -1)
[ -n "$img" ] || { echo "no minato-testbox image: run 'go test ./internal/dockertest' first" >&2; exit 1; }
tmp=$(mktemp -d)
agent_pid=""
cleanup() {
  [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null || true
  ids=$(docker ps -aq --filter "label=minato.bench.run=$run")
  [ -n "$ids" ] && docker rm -f $ids >/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
echo "starting $N containers from $img"
seq 1 "$N" | xargs -P 8 -I{} docker run -d --label minato.bench=1 --label "minato.bench.run=$run" --name "$run-{}" "$img" sleep forever >/dev/null
go build -o "$tmp/minato" ./cmd/minato
cat > "$tmp/agent.yaml" <<YAML
listen: 127.0.0.1:0
state_dir: $tmp/state
events: {enabled: true}
checks:
  - {name: cpu, monitor: cpu, interval: 10s, targets: {labels: {minato.bench.run: "$run"}}}
  - {name: memory, monitor: memory, interval: 10s, targets: {labels: {minato.bench.run: "$run"}}}
  - {name: state, monitor: state, interval: 10s, targets: {labels: {minato.bench.run: "$run"}}}
YAML
"$tmp/minato" agent --config "$tmp/agent.yaml" --log-level warn 2>"$tmp/agent.log" &
agent_pid=$!
sleep 20
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14+$15}' "/proc/$agent_pid/stat"; }
c0=$(cpu); t0=$(date +%s.%N)
sleep "$SECS"
c1=$(cpu); t1=$(date +%s.%N)
hwm=$(awk '/VmHWM/{print $2}' "/proc/$agent_pid/status")
rss=$(awk '/VmRSS/{print $2}' "/proc/$agent_pid/status")
pct=$(awk -v a="$c0" -v b="$c1" -v s="$t0" -v e="$t1" -v hz="$ticks" 'BEGIN{printf "%.2f", (b-a)/hz/(e-s)*100}')
echo "engine: $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})'), containers: $N, window: ${SECS}s"
echo "agent CPU: ${pct}% of one core"
echo "agent RSS: peak $((hwm/1024)) MiB, now $((rss/1024)) MiB"
grep -c '"level":"ERROR"' "$tmp/agent.log" | sed 's/^/agent errors logged: /' || true
