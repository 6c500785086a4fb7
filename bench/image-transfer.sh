#!/usr/bin/env bash
# image-transfer.sh: the pull and push comparison of docs/benchmarks.md
# ("Images"): a ~50 MiB image pulled from and pushed to a registry on
# loopback, `minato image pull|push` against `docker pull|push`, in the
# same run, alternating, with hyperfine.
#
#   1. Starts Debian's docker-registry on 127.0.0.1:$PORT (default 5055)
#      with its storage in OUTDIR/registry (no cache: every push uploads).
#   2. Builds a FROM-scratch image holding SIZE_MIB (default 50) of random,
#      incompressible data in one layer and a second small layer.
#   3. Push: before each run the registry's storage is wiped, so each push
#      uploads every layer. Pull: before each run the local image is removed,
#      so each pull downloads and extracts every layer.
#
# Usage: bench/image-transfer.sh [OUTDIR]
# Environment: RUNS (default 10), SIZE_MIB (default 50), PORT (default 5055).
# Needs go, docker (CLI), hyperfine and docker-registry (apt-get install
# hyperfine docker-registry when missing and running as root).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-10}
SIZE_MIB=${SIZE_MIB:-50}
PORT=${PORT:-5055}
out=${1:-$(mktemp -d /tmp/minato-imgbench.XXXXXX)}
mkdir -p "$out"
out=$(cd "$out" && pwd)

for p in hyperfine docker-registry; do
  if ! command -v "$p" >/dev/null 2>&1; then
    apt-get install -y -qq "$p" >/dev/null
  fi
done

go build -o "$out/minato" ./cmd/minato
ref="127.0.0.1:$PORT/bench/transfer:1"

mkdir -p "$out/registry"
cat > "$out/registry.yml" <<YAML
version: 0.1
log: {level: error}
storage:
  filesystem: {rootdirectory: $out/registry}
  delete: {enabled: true}
http: {addr: 127.0.0.1:$PORT}
YAML
docker-registry serve "$out/registry.yml" >"$out/registry.log" 2>&1 &
reg=$!
cleanup() {
  kill "$reg" 2>/dev/null || true
  docker rmi -f "$ref" >/dev/null 2>&1 || true
}
trap cleanup EXIT
for _ in $(seq 1 50); do curl -fsS "http://127.0.0.1:$PORT/v2/" >/dev/null 2>&1 && break; sleep 0.1; done

ctx="$out/context"
mkdir -p "$ctx"
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom > "$ctx/payload"
echo "minato image benchmark" > "$ctx/readme"
printf 'FROM scratch\nCOPY payload /payload\nCOPY readme /readme\nLABEL minato.bench=1\n' > "$ctx/Dockerfile"
"$out/minato" image build -q -t "$ref" "$ctx" >/dev/null

wipe="rm -rf $out/registry/docker"
echo "== push of $SIZE_MIB MiB ($RUNS runs each, registry storage wiped before each)"
hyperfine --runs "$RUNS" --warmup 1 --prepare "$wipe" --export-markdown "$out/push.md" \
  -n minato "$out/minato image push -q $ref" \
  -n docker "docker push -q $ref"

echo "== pull of $SIZE_MIB MiB ($RUNS runs each, local image removed before each)"
docker push -q "$ref" >/dev/null
hyperfine --runs "$RUNS" --warmup 1 --prepare "docker rmi -f $ref" --export-markdown "$out/pull.md" \
  -n minato "$out/minato image pull -q $ref" \
  -n docker "docker pull -q $ref"
echo "results: $out/push.md $out/pull.md"
