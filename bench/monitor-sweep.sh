#!/usr/bin/env bash
# monitor-sweep.sh: the CPU + memory sweep comparison of docs/benchmarks.md
# ("Monitor sweeps"), in one run, on the engine DOCKER_HOST (or the local
# socket) points at:
#
#   1. BenchmarkSweep (monitor/docker/bench_test.go): one CPU + memory sweep
#      of 10, 50 and 100 running containers through minato's one-shot API
#      mode (default and unbounded concurrency), its direct mode, and
#      `docker stats --no-stream`; benchstat with one column per mode.
#   2. Peak RSS of the CLI: build cmd/minato, start N (default 100) labelled
#      containers, and run `minato monitor cpu -k KEY` twice (the first run
#      writes the baseline) and `minato monitor memory` under
#      /usr/bin/time -v, with --collect auto (direct on the engine's host)
#      and --collect oneshot; `docker stats --no-stream` for comparison.
#
# Usage: bench/monitor-sweep.sh [OUTDIR]
# Environment: COUNT (benchmark -count, default 6, the fewest for which
# benchstat gives a 95 % interval), BENCHTIME (default 1s), N (containers
# for the RSS part, default 100), SKIP_BENCH=1 (RSS part only), SKIP_RSS=1
# (benchmark only), BENCHSTAT (default: benchstat in PATH, else
# ~/go/bin/benchstat). OUTDIR defaults to a new /tmp/minato-sweep.* directory.
#
# Needs go, docker (CLI), benchstat and GNU time (installed with apt-get when
# missing and running as root). Every container of part 2 carries the labels
# minato.bench=1 and minato.bench.run=<this run> and is removed on exit,
# whatever the exit; part 1's containers are the Go test harness's
# (label minato.test), removed by the benchmark itself, except when the
# test binary is killed (Ctrl-C): then remove them with
#   docker rm -f $(docker ps -aq --filter label=minato.test.name=BenchmarkSweep/n=100)
# (or n=10, n=50), or dockertest.Sweep when nothing else is testing.
set -euo pipefail

cd "$(dirname "$0")/.."

COUNT=${COUNT:-6}
BENCHTIME=${BENCHTIME:-1s}
N=${N:-100}
out=${1:-$(mktemp -d /tmp/minato-sweep.XXXXXX)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
run=$(date +%s)-$$
label=minato.bench.run=$run

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'monitor-sweep: %s\n' "$*" >&2; exit 1; }

cleanup() {
	local ids
	ids=$(docker ps -aq --filter "label=$label" 2>/dev/null || true)
	if [ -n "$ids" ]; then
		log "removing $(echo "$ids" | wc -l) bench containers"
		# shellcheck disable=SC2086
		docker rm -f $ids >/dev/null 2>&1 || true
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

command -v go >/dev/null || die "go not in PATH"
command -v docker >/dev/null || die "docker CLI not in PATH"
benchstat=${BENCHSTAT:-$(command -v benchstat || echo "$HOME/go/bin/benchstat")}
[ -x "$benchstat" ] || die "benchstat not found: go install golang.org/x/perf/cmd/benchstat@latest"
if [ ! -x /usr/bin/time ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		log "installing GNU time"
		apt-get install -y -qq time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
	fi
	[ -x /usr/bin/time ] || die "GNU time (/usr/bin/time) missing: apt-get install time"
fi

docker version --format 'Engine {{.Server.Version}} (API {{.Server.APIVersion}}), docker CLI {{.Client.Version}}' | tee "$out/engine.txt"
docker info --format '{{.OperatingSystem}}, kernel {{.KernelVersion}}, {{.NCPU}} CPUs, {{.MemTotal}} bytes, storage {{.Driver}}, cgroup v{{.CgroupVersion}} {{.CgroupDriver}}' | tee -a "$out/engine.txt"
go version | tee -a "$out/engine.txt"
log "results in $out"

# Part 1: the Go benchmark, all modes in the same run.
if [ "${SKIP_BENCH:-0}" != 1 ]; then
	cmd=(go test ./monitor/docker -run '^$' -bench '^BenchmarkSweep$' -benchtime "$BENCHTIME" -count "$COUNT" -timeout 60m)
	log "${cmd[*]}"
	"${cmd[@]}" | tee "$out/sweep.txt"
	log "benchstat -col /mode sweep.txt"
	"$benchstat" -col /mode "$out/sweep.txt" | tee "$out/sweep-benchstat.txt"
fi

# Part 2: peak RSS of the CLI over N containers.
[ "${SKIP_RSS:-0}" = 1 ] && exit 0

image() { docker images minato-testbox --filter label=minato.test=image --format '{{.Repository}}:{{.Tag}}' | head -n 1; }
img=$(image)
if [ -z "$img" ]; then
	log "no minato-testbox image yet: building it through the test harness"
	go test ./internal/dockertest -run '^TestEngine$/^image$' -count=1 >/dev/null
	img=$(image)
	[ -n "$img" ] || die "the harness did not build minato-testbox"
fi

log "go build -o $out/minato ./cmd/minato"
go build -o "$out/minato" ./cmd/minato

prefix=minato-bench-$run-
log "starting $N containers ($img sleep forever), 8 at a time"
seq -w 1 "$N" | xargs -P 8 -I{} timeout 120 docker run -d --label minato.bench=1 --label "$label" \
	--name "$prefix{}" "$img" sleep forever >/dev/null
running=$(docker ps -q --filter "label=$label" --filter status=running | wc -l)
[ "$running" -eq "$N" ] || die "$running of $N containers running"

# timed NAME CMD...: runs CMD under GNU time, output in $out/NAME.out, the
# time report in $out/NAME.time; prints "NAME maxrss_kB elapsed lines status".
timed() {
	local name=$1 st=0
	shift
	timeout 300 /usr/bin/time -v -o "$out/$name.time" "$@" >"$out/$name.out" 2>"$out/$name.err" || st=$?
	local rss el lines
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out/$name.time")
	el=$(awk -F'): ' '/Elapsed \(wall clock\)/ {print $2}' "$out/$name.time")
	lines=$(wc -l <"$out/$name.out")
	printf '%-24s %8s %10s %6s %4s\n' "$name" "$rss" "$el" "$lines" "$st"
}

sel=(-n "$prefix*")
{
	printf '%-24s %8s %10s %6s %4s\n' "command" "maxrss_kB" "elapsed" "lines" "exit"
	for mode in auto oneshot; do
		state=$out/state-$mode
		timed "cpu-$mode-1st" "$out/minato" monitor cpu -k bench --state-dir "$state" --collect "$mode" "${sel[@]}"
		timed "cpu-$mode-2nd" "$out/minato" monitor cpu -k bench --state-dir "$state" --collect "$mode" "${sel[@]}"
		timed "memory-$mode" "$out/minato" monitor memory --collect "$mode" "${sel[@]}"
	done
	ids=$(docker ps -q --no-trunc --filter "label=$label")
	# shellcheck disable=SC2086
	timed docker-stats docker stats --no-stream --format '{{.ID}} {{.CPUPerc}} {{.MemUsage}}' $ids
} | tee "$out/rss.txt"

# The second CPU run and the memory runs must have printed one line per
# container and exited 0.
awk -v n="$N" 'NR > 1 && $1 !~ /-1st$/ && ($4 != n || $5 != 0) { print "monitor-sweep: " $1 ": " $4 " lines, exit " $5 " (want " n ", 0)" > "/dev/stderr"; bad = 1 } END { exit bad }' "$out/rss.txt"
log "done: $out"
