#!/usr/bin/env bash
# The benchmarks behind BENCHMARKS.md: Go benchmarks of every package, then
# the fan-out of one board to 1, 1,000, 5,000 and 10,000 websocket viewers,
# first-load bytes and bytes per pushed update, and the kernel's floor for one
# loopback write. Server and load generator are separate processes on
# 127.0.0.1 (one process holds at most ~19,000 sockets under the open-file
# limit). Every run is bounded and stops by itself; the whole script takes
# about 6-8 minutes on the 2-core machine.
#
# Results go to $OUT (default bench-results/, JSON per run); the figures are
# written into BENCHMARKS.md between the bench:begin/bench:end markers.
#
#   scripts/bench.sh                  everything
#   FANOUT="1 1000" scripts/bench.sh  fewer viewers (quick check)
#   WINDOW=30s scripts/bench.sh       longer measuring windows (default 20s)
#   GOBENCH=0 scripts/bench.sh        skip the Go benchmarks
#   REPLICAS=0 scripts/bench.sh       skip the 3-replica PostgreSQL run
#                                     (REPLICA_SCREENS per replica, default
#                                     3000; REPLICA_DELIVERIES, default 20)
#   SOAK=0 scripts/bench.sh           skip the display soak in Chromium
#                                     (e2e.TestSoakUpdatesAndRotations, under a
#                                     minute); its last report, if any, is
#                                     then used and dated
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
OUT=${OUT:-bench-results}
WINDOW=${WINDOW:-20s}
FANOUT=${FANOUT:-1 1000 5000 10000}
GOBENCH=${GOBENCH:-1}
SOAK=${SOAK:-1}

# One process per 10,000 sockets needs more than the default soft limit.
ulimit -n "$(ulimit -Hn)"
rm -rf "$OUT"
mkdir -p "$OUT"
BIN=$(mktemp -d)
SERVER_PID=""
cleanup() {
	if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
	rm -rf "$BIN"
}
trap cleanup EXIT
$GO build -o "$BIN/loadgen" ./cmd/loadgen
LG="$BIN/loadgen"

{
	echo "date:        $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "commit:      $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
	echo "cpu:         $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
	echo "memory:      $(free -g | awk '/^Mem:/ {print $2 " GiB"}')"
	echo "kernel:      $(uname -r)"
	echo "go:          $($GO version | cut -d' ' -f3)"
	echo "open files:  $(ulimit -n)"
	echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) (other processes share these cores)"
} > "$OUT/machine.txt"

# start_server BOARD: runs `loadgen serve`, sets ADDR and SERVER_PID.
start_server() {
	rm -f "$BIN/addr"
	"$LG" serve -board "$1" -addr-file "$BIN/addr" 2>>"$OUT/server.log" &
	SERVER_PID=$!
	for _ in $(seq 100); do [ -f "$BIN/addr" ] && break; sleep 0.1; done
	[ -f "$BIN/addr" ] || { echo "bench: server did not start (see $OUT/server.log)" >&2; exit 1; }
	read -r ADDR _ < "$BIN/addr"
}
stop_server() {
	kill "$SERVER_PID"
	wait "$SERVER_PID" || true
	SERVER_PID=""
}

if [ "$GOBENCH" = 1 ]; then
	echo "bench: go test -bench (all packages)"
	# e2e/replicas has its own step below (thousands of sockets, minutes).
	$GO test -run '^$' -bench . -benchmem -timeout 10m $($GO list ./... | grep -v /e2e/replicas) | tee "$OUT/gotest-bench.txt" | grep -E '^(Benchmark|ok|FAIL|---)' || true
fi

# Three replicas on one throwaway PostgreSQL, REPLICA_SCREENS screens each
# (default 3,000): a webhook to one replica -> every screen's p50/p99, and
# the PostgreSQL path's cost per update per replica. BENCHMARKS.md's
# "Replicas" section quotes it (by hand: it is not in the generated report).
if [ "${REPLICAS:-1}" = 1 ]; then
	echo "bench: 3 replicas x ${REPLICA_SCREENS:-3000} screens on PostgreSQL, ${REPLICA_DELIVERIES:-20} webhooks"
	WB_BENCH_SCREENS=${REPLICA_SCREENS:-3000} $GO test -run '^$' -bench BenchmarkReplicasWebhookFanout \
		-benchtime "${REPLICA_DELIVERIES:-20}x" -timeout 20m ./e2e/replicas/ 2>&1 | grep -v 'level=' | tee "$OUT/replicas.txt" | grep -E '^(Benchmark|ok|FAIL)|bench_test' || true
fi

if [ "$SOAK" = 1 ]; then
	echo "bench: display soak (headless Chromium, 10,000 updates)"
	$GO test -count=1 -run 'TestSoakUpdatesAndRotations$' -timeout 15m ./e2e/
fi
if [ -f e2e/testdata/artifacts/soak.txt ]; then
	cp e2e/testdata/artifacts/soak.txt "$OUT/soak.txt"
fi

# Main-thread CPU of a page in headless Chromium (demo board, team board,
# standup view, idle page), PAGECPU_WINDOW each (default 60s; 4 pages).
if [ "${PAGECPU:-1}" = 1 ]; then
	echo "bench: page main-thread CPU (headless Chromium, ${PAGECPU_WINDOW:-60s} per page)"
	PAGECPU_WINDOW=${PAGECPU_WINDOW:-60s} $GO test -count=1 -run '^$' -bench 'PageCPU' -benchtime 1x -timeout 15m ./e2e/ | tee "$OUT/pagecpu.txt" | grep -E '^(Benchmark|ok|FAIL)' || true
fi

echo "bench: floor (a bare loopback write)"
"$LG" floor -n 5000 > "$OUT/floor.json"

echo "bench: first-load bytes and bytes per pushed update (demo board)"
start_server demo
# Measure the page a screen really gets: every tile with its data (values,
# sparklines), not the empty page of the first second after start.
for _ in $(seq 100); do
	curl -fsS "http://$ADDR/api/v1/boards/demo" | grep -q '"updated_at": null' || break
	sleep 0.2
done
"$LG" bytes -url "http://$ADDR/boards/demo" > "$OUT/firstload.json"
# The team board of the demo (health, alerts, Four Keys and its feed: the
# board a new team starts from) has its own budget, the same 30 KB.
for _ in $(seq 100); do
	curl -fsS "http://$ADDR/api/v1/boards/team" | grep -q '"updated_at": null' || break
	sleep 0.2
done
"$LG" bytes -url "http://$ADDR/boards/team" > "$OUT/firstload-team.json"
"$LG" dial -url "ws://$ADDR/boards/demo/ws" -n 10 -duration "$WINDOW" -tile "" -compress=false -server-pid "$SERVER_PID" > "$OUT/push-plain.json"
"$LG" dial -url "ws://$ADDR/boards/demo/ws" -n 10 -duration "$WINDOW" -tile "" -compress=true -server-pid "$SERVER_PID" > "$OUT/push-deflate.json"
stop_server

# Fan-out without permessage-deflate: the server's work per viewer is the same
# either way (it compresses once per change), while inflating 10,000 messages a
# second would cost the load generator, which shares the two cores, far more.
# One 10,000-viewer run with deflate shows the difference.
for n in $FANOUT; do
	echo "bench: fan-out to $n viewers"
	start_server bench
	"$LG" dial -url "ws://$ADDR/boards/bench/ws" -n "$n" -duration "$WINDOW" -compress=false -server-pid "$SERVER_PID" > "$OUT/fanout-$n.json"
	stop_server
done
if [[ " $FANOUT " == *" 10000 "* ]]; then
	echo "bench: fan-out to 10000 viewers with permessage-deflate"
	start_server bench
	"$LG" dial -url "ws://$ADDR/boards/bench/ws" -n 10000 -duration "$WINDOW" -compress=true -server-pid "$SERVER_PID" > "$OUT/fanout-10000-deflate.json"
	stop_server
fi
echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"

"$LG" report -dir "$OUT" > "$OUT/report.md"
# Replace the generated section of BENCHMARKS.md.
awk -v report="$OUT/report.md" '
	/<!-- bench:begin -->/ { print; while ((getline line < report) > 0) print line; skip = 1; next }
	/<!-- bench:end -->/ { skip = 0 }
	!skip { print }
' BENCHMARKS.md > "$BIN/BENCHMARKS.md"
cp "$BIN/BENCHMARKS.md" BENCHMARKS.md
echo "bench: figures written to BENCHMARKS.md (raw results in $OUT/)"
grep -A 12 '^### Budgets' BENCHMARKS.md
