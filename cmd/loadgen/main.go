// Command loadgen measures Wallboard under load on one machine. It is a
// benchmark tool, never part of the wallboard binary.
//
//	loadgen serve -board bench|demo -addr-file F      the server under test
//	loadgen dial  -url ws://127.0.0.1:P/boards/bench/ws -n 10000 -server-pid PID
//	loadgen bytes -url http://127.0.0.1:P/boards/demo  first-load bytes
//	loadgen floor -n 5000                             CPU of a bare loopback write
//	loadgen report -dir RESULTS                       BENCHMARKS.md figures (markdown)
//
// serve runs the real app (poller, hub, websocket server) on the benchmark
// board, whose one tile is polled every second from a counting clock source
// (package bench), so the production path runs unchanged and nothing in it
// knows about benchmarks. It also serves net/http/pprof and the clock's fetch
// count, on this benchmark binary only.
//
// dial opens N websocket connections, reads every message, and reports
// publish-to-receipt latency (publish time = the fragment's data-updated,
// unix ms, stamped by the server when it applied the poll, before rendering),
// missing updates, dropped viewers, and the server's RSS and CPU read from
// /proc/PID. Results are one JSON object on stdout.
//
// Server and load generator must be separate processes: one process can hold
// at most about 19,000 sockets under this machine's open-file limit.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "dial":
		err = dial(os.Args[2:])
	case "bytes":
		err = firstLoad(os.Args[2:])
	case "floor":
		err = floor(os.Args[2:])
	case "floor-reader":
		err = floorReader(os.Args[2:])
	case "report":
		err = report(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: loadgen serve|dial|bytes|floor|report [flags] (loadgen CMD -h for flags)")
	os.Exit(2)
}
