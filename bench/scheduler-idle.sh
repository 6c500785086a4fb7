#!/usr/bin/env bash
# scheduler-idle.sh: the agent's CPU while N scheduled job networks wait
# for their due times (daily, spread over the day, none due during the
# measurement), with no checks and no event stream: the scheduler's own
# idle cost in the real binary, HTTP server and store included.
#
# Usage: bench/scheduler-idle.sh [N] [SECONDS]      (default 1000 networks, 120 s)
#
# Writes N job network files, builds cmd/minato, runs `minato agent` for
# SECONDS after a 20 s warm-up, and reports the agent's CPU time
# (utime+stime from /proc/<pid>/stat) as a share of one core, and its RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
SECS=${2:-120}
tmp=$(mktemp -d)
agent_pid=""
cleanup() {
  [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
go build -o "$tmp/minato" ./cmd/minato
now=$(( $(date -u +%H) * 60 + $(date -u +%M) ))
{
  echo "listen: 127.0.0.1:0"
  echo "events: {enabled: false}"
  echo "jobs: {store: $tmp/jobs.db}"
  echo "jobnets:"
} > "$tmp/agent.yaml"
for i in $(seq 1 "$N"); do
  m=$(( (now + 120 + i % 1200) % 1440 ))
  cat > "$tmp/net-$i.yaml" <<YAML
name: net-$i
schedule: {cron: "$(( m % 60 )) $(( m / 60 )) * * *", timezone: UTC}
units:
  - {name: u, host: {command: [/bin/true]}}
YAML
  echo "  - net-$i.yaml" >> "$tmp/agent.yaml"
done
"$tmp/minato" agent --config "$tmp/agent.yaml" --log-level info 2>"$tmp/agent.log" &
agent_pid=$!
sleep 20
grep -q "\"jobnets\":$N" "$tmp/agent.log" || { echo "the agent did not schedule $N networks:" >&2; cat "$tmp/agent.log" >&2; exit 1; }
ticks() { awk '{print $14 + $15}' "/proc/$agent_pid/stat"; }
hz=$(getconf CLK_TCK)
t0=$(ticks); s0=$(date +%s.%N)
sleep "$SECS"
t1=$(ticks); s1=$(date +%s.%N)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$agent_pid/status")
awk -v t0="$t0" -v t1="$t1" -v s0="$s0" -v s1="$s1" -v hz="$hz" -v n="$N" -v rss="$rss" 'BEGIN {
  printf "%d scheduled networks idle: %.3f %% of one core over %.0f s, RSS %.1f MiB\n", n, 100 * (t1 - t0) / hz / (s1 - s0), s1 - s0, rss / 1024 }'
