#!/usr/bin/env bash
# ha-idle.sh: what HA costs an idle agent. Runs, side by side for the same
# window, agents with the same checks (container state every 10 s on the
# local engine) and:
#   off            no ha: section
#   on-active      ha: node1 of a two-node cluster, holding the group
#   on-standby     ha: node2 of that cluster
#   lease-active   the same with the etcd lease (Debian's etcd-server on
#   lease-standby  loopback), when etcd is installed
# The cluster has the defaults: heartbeats every 1 s on one network,
# timeout 3 s, lease TTL 3 s (renewed every 1 s), an HTTP witness (only
# asked when a peer falls silent, so never here), and one failover group of
# a script resource checked every 10 s.
#
# Usage: bench/ha-idle.sh [SECONDS]      (default 60 s, after a 10 s warm-up)
#
# Reports per agent its CPU (utime+stime from /proc/<pid>/stat) as a share
# of one core, the same with its waited-for children (the resource's check
# commands: cutime+cstime), and its RSS (VmRSS) at the end; then HA's cost:
# each HA agent minus the agent without it.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-60}
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
go build -o "$tmp/minato" ./cmd/minato
head -c 32 /dev/urandom > "$tmp/ha.key"
chmod 600 "$tmp/ha.key"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
checks='checks:
  - {name: state, monitor: container-status, interval: 10s}'

etcd_ep=""
if command -v etcd >/dev/null; then
  cp=$(port); pp=$(port)
  etcd --name hx --data-dir "$tmp/etcd" --listen-client-urls "http://127.0.0.1:$cp" \
    --advertise-client-urls "http://127.0.0.1:$cp" --listen-peer-urls "http://127.0.0.1:$pp" \
    --initial-advertise-peer-urls "http://127.0.0.1:$pp" --initial-cluster "hx=http://127.0.0.1:$pp" \
    --log-level error 2>"$tmp/etcd.log" &
  pids+=($!)
  etcd_ep="http://127.0.0.1:$cp"
  for _ in $(seq 50); do curl -fs "$etcd_ep/health" >/dev/null 2>&1 && break; sleep 0.2; done
fi

# agent NAME [ha-yaml]: starts an agent, records its PID in pid_NAME.
agent() {
  local name=$1 ha=${2:-}
  mkdir -p "$tmp/$name"
  printf 'listen: 127.0.0.1:0\nstate_dir: %s\n%s\n%s\n' "$tmp/$name/state" "$checks" "$ha" > "$tmp/$name/agent.yaml"
  "$tmp/minato" agent --config "$tmp/$name/agent.yaml" --log-level warn 2>"$tmp/$name/agent.log" &
  pids+=($!)
  eval "pid_${name//-/_}=$!"
}

# cluster PREFIX [lease]: the two nodes of a cluster.
cluster() {
  local prefix=$1 lease=${2:-} a1 a2 wit
  a1=127.0.0.1:$(port); a2=127.0.0.1:$(port)
  wit='    http: {target: "http://127.0.0.1:9/"}'
  [ -n "$lease" ] && wit="$wit
    etcd: {endpoints: [\"$etcd_ep\"]}"
  for n in 1 2; do
    local role=active; [ $n = 2 ] && role=standby
    agent "$prefix-$role" "ha:
  cluster: $prefix
  node: node$n
  key_file: $tmp/ha.key
  nodes: [{name: node1, addresses: [\"$a1\"]}, {name: node2, addresses: [\"$a2\"]}]
  witness:
$wit
  groups:
    - name: web
      nodes: [node1, node2]
      resources:
        - name: svc
          script:
            start: {argv: [/bin/true]}
            stop: {argv: [/bin/true]}
            check: {argv: [/bin/true]}"
  done
}

names=(off on-active on-standby)
agent off
cluster on
if [ -n "$etcd_ep" ]; then
  cluster lease lease
  names+=(lease-active lease-standby)
else
  echo "etcd is not installed: no lease runs" >&2
fi
sleep 10
hz=$(getconf CLK_TCK)
declare -A c0 k0
for n in "${names[@]}"; do
  p=$(eval echo "\$pid_${n//-/_}")
  [ -d "/proc/$p" ] || { echo "agent $n exited:" >&2; cat "$tmp/$n/agent.log" >&2; exit 1; }
  read -r a b c d < <(awk '{print $14, $15, $16, $17}' "/proc/$p/stat")
  c0[$n]=$((a + b)); k0[$n]=$((a + b + c + d))
done
s0=$(date +%s.%N)
sleep "$SECS"
s1=$(date +%s.%N)
declare -A pct pctk rss
for n in "${names[@]}"; do
  p=$(eval echo "\$pid_${n//-/_}")
  read -r a b c d < <(awk '{print $14, $15, $16, $17}' "/proc/$p/stat")
  pct[$n]=$(awk -v x="$((a + b - c0[$n]))" -v hz="$hz" -v s0="$s0" -v s1="$s1" 'BEGIN{printf "%.3f", 100*x/hz/(s1-s0)}')
  pctk[$n]=$(awk -v x="$((a + b + c + d - k0[$n]))" -v hz="$hz" -v s0="$s0" -v s1="$s1" 'BEGIN{printf "%.3f", 100*x/hz/(s1-s0)}')
  rss[$n]=$(awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$p/status")
done
echo "window ${SECS}s; CPU as % of one core"
printf '%-14s %10s %16s %9s\n' agent cpu% "cpu%+children" "RSS MiB"
for n in "${names[@]}"; do
  printf '%-14s %10s %16s %9s\n' "$n" "${pct[$n]}" "${pctk[$n]}" "${rss[$n]}"
done
echo "HA's cost (minus the agent without HA):"
for n in "${names[@]:1}"; do
  awk -v n="$n" -v a="${pct[$n]}" -v b="${pct[off]}" -v ak="${pctk[$n]}" -v bk="${pctk[off]}" -v r="${rss[$n]}" -v r0="${rss[off]}" \
    'BEGIN{printf "%-14s %+9.3f%% %+15.3f%% %+8.1f MiB\n", n, a-b, ak-bk, r-r0}'
done
for n in "${names[@]}"; do
  e=$(grep -c '"level":"ERROR"' "$tmp/$n/agent.log" || true)
  [ "$e" = 0 ] || echo "$n logged $e errors" >&2
done
