package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// report turns the result files of scripts/bench.sh into the markdown that
// goes between the markers in BENCHMARKS.md, with PASS/MISS per budget. A
// missing result is reported as such, never guessed.
func report(args []string) error {
	fset := flag.NewFlagSet("report", flag.ExitOnError)
	dir := fset.String("dir", "", "directory of result files written by scripts/bench.sh")
	fset.Parse(args)
	if *dir == "" {
		return errors.New("report: -dir is required")
	}
	r := &reporter{dir: *dir}
	r.run()
	if r.err != nil {
		return r.err
	}
	fmt.Print(r.out.String())
	return nil
}

type reporter struct {
	dir string
	out strings.Builder
	err error
}

func (r *reporter) p(format string, a ...any) { fmt.Fprintf(&r.out, format+"\n", a...) }

// load reads a JSON result; ok is false when the file does not exist.
func (r *reporter) load(name string, v any) bool {
	b, err := os.ReadFile(filepath.Join(r.dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		r.err = errors.Join(r.err, fmt.Errorf("report: %s: %w", name, err))
		return false
	}
	return true
}

// benchLine is one `go test -bench` result line.
type benchLine struct {
	name    string
	nsPerOp float64
	line    string
}

func (r *reporter) benches() map[string]benchLine {
	out := map[string]benchLine{}
	f, err := os.Open(filepath.Join(r.dir, "gotest-bench.txt"))
	if err != nil {
		return out
	}
	defer f.Close()
	pkg := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = rest
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") || fields[3] != "ns/op" {
			continue
		}
		ns, err := strconv.ParseFloat(fields[2], 64)
		if err != nil {
			continue
		}
		name := strings.TrimSuffix(fields[0], "-2") // GOMAXPROCS suffix on this machine
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		out[name] = benchLine{name: name, nsPerOp: ns, line: pkg + " " + line}
	}
	return out
}

func verdict(ok bool) string {
	if ok {
		return "**PASS**"
	}
	return "**MISS**"
}

func (r *reporter) run() {
	machine, _ := os.ReadFile(filepath.Join(r.dir, "machine.txt"))
	r.p("### Machine and run\n")
	r.p("```\n%s```\n", machine)

	fan := map[string]*result{}
	for _, k := range []string{"1", "1000", "5000", "10000", "10000-deflate"} {
		var res result
		if r.load("fanout-"+k+".json", &res) {
			fan[k] = &res
		}
	}
	var first pageBytes
	haveFirst := r.load("firstload.json", &first)
	var push = map[string]*result{}
	for _, k := range []string{"plain", "deflate"} {
		var res result
		if r.load("push-"+k+".json", &res) {
			push[k] = &res
		}
	}
	var fl writeFloor
	haveFloor := r.load("floor.json", &fl)
	b := r.benches()

	r.p("### Budgets\n")
	r.p("| figure | budget | measured | verdict |")
	r.p("| --- | --- | --- | --- |")
	row := func(fig, budget, measured, v string) { r.p("| %s | %s | %s | %s |", fig, budget, measured, v) }
	none := func(fig, budget, why string) { row(fig, budget, why, "not measured") }
	if x := fan["10000"]; x != nil && x.Deliveries > 0 {
		row("10,000 viewers, p99 publish-to-receipt", "≤ 100 ms", fmt.Sprintf("%.0f ms (p50 %.0f, max %.0f)", x.P99ms, x.P50ms, x.MaxMs), verdict(x.P99ms <= 100))
		// The larger of just after connecting and at the end of the window
		// (the heap grows a little between GC cycles).
		rss := max(x.ServerRSSPerViewer, rssEnd(x))
		row("server memory per connected viewer", "≤ 10 KB", fmt.Sprintf("%.2f KB RSS (%.0f B; %.2f KB just after connecting, %.2f KB at the end of the window)", rss/1000, rss, x.ServerRSSPerViewer/1000, rssEnd(x)/1000), verdict(rss <= 10000))
		extra := ""
		if haveFloor {
			extra = fmt.Sprintf("; a bare loopback write costs %.1f µs here", fl.CPUPerWrite)
		}
		row("server CPU per viewer per update", "≤ 5 µs", fmt.Sprintf("%.1f µs%s", x.ServerCPUPerDelivery, extra), verdict(x.ServerCPUPerDelivery <= 5))
	} else {
		none("10,000 viewers, p99 publish-to-receipt", "≤ 100 ms", "no fan-out result")
		none("server memory per connected viewer", "≤ 10 KB", "no fan-out result")
		none("server CPU per viewer per update", "≤ 5 µs", "no fan-out result")
	}
	if haveFirst {
		row("first load, gzip", "≤ 30 KB", fmt.Sprintf("%.1f KB (%d B)", float64(first.Gzip)/1000, first.Gzip), verdict(first.Gzip <= 30000))
	} else {
		none("first load, gzip", "≤ 30 KB", "no result")
	}
	if x, ok := b["BenchmarkPage"]; ok {
		row("full page render, 24 tiles", "≤ 2 ms", fmt.Sprintf("%.3f ms", x.nsPerOp/1e6), verdict(x.nsPerOp <= 2e6))
	} else {
		none("full page render, 24 tiles", "≤ 2 ms", "BenchmarkPage missing")
	}
	worst := benchLine{}
	for name, x := range b {
		if strings.HasPrefix(name, "BenchmarkTile/") && x.nsPerOp > worst.nsPerOp {
			worst = x
		}
	}
	if worst.name != "" {
		row("one fragment render", "≤ 100 µs", fmt.Sprintf("%.1f µs (slowest kind: %s)", worst.nsPerOp/1e3, strings.TrimPrefix(worst.name, "BenchmarkTile/")), verdict(worst.nsPerOp <= 100e3))
	} else {
		none("one fragment render", "≤ 100 µs", "BenchmarkTile missing")
	}
	one, thousand := fan["1"], fan["1000"]
	if one != nil && thousand != nil && one.BackendCallsPerMin > 0 {
		// Rates are taken between last calls, so only the poller's ±10 %
		// jitter per interval is left: over ~20 intervals that averages to
		// about ±1.3 % (one standard deviation); 5 % is far outside it.
		ratio := thousand.BackendCallsPerMin / one.BackendCallsPerMin
		row("backend calls, 1,000 viewers vs 1", "equal", fmt.Sprintf("%.1f vs %.1f calls/min (×%.3f; equal means within 5 %%, the poller's jitter)",
			thousand.BackendCallsPerMin, one.BackendCallsPerMin, ratio), verdict(math.Abs(ratio-1) <= 0.05))
	} else {
		none("backend calls, 1,000 viewers vs 1", "equal", "no result")
	}
	if x, ok := b["BenchmarkBusyYear"]; ok {
		row("Four Keys, busy year (store.BenchmarkBusyYear)", "≤ 200 ms (the target in store/fourkeys_test.go)", fmt.Sprintf("%.1f ms", x.nsPerOp/1e6), verdict(x.nsPerOp <= 200e6))
	} else {
		row("Four Keys, busy year", "(no budget)", "see fourkeys (BenchmarkBusyYear not in this tree yet)", "pending")
	}
	if first, last, nodes, when, ok := r.soak(); ok {
		row("heap growth over a long run", "≤ 1 MB", fmt.Sprintf("%+.0f B JS heap (%.0f → %.0f) after 10,000 vs 100 updates; DOM nodes %s (e2e soak, %s)", last-first, first, last, nodes, when), verdict(last-first <= 1e6))
	} else {
		row("heap growth over a long run", "≤ 1 MB", "see the display soak test, e2e.TestSoakUpdatesAndRotations (no soak report: run make bench without SOAK=0)", "pending")
	}
	r.p("")

	r.p("### Fan-out: one board, one tile updated every second\n")
	r.p("Publish-to-receipt: from the tile's `data-updated` (unix ms, set when the server applies the poll, before rendering) to the load generator's read. Missing: (update, viewer) pairs never received. CPU: utime+stime of /proc/PID/stat over the window, in percent of one core (the machine has two); other processes' CPU is the machine's busy time (/proc/stat) minus server and load generator: the helpers and builds that shared the cores during the run.\n")
	r.p("| viewers | deflate | connect | updates | p50 | p99 | max | last viewer has it (median / max) | missing | dropped | RSS / viewer (connected / end) | stack / viewer | heap / viewer | goroutines / viewer | server CPU / viewer / update | server CPU | load generator CPU | other processes' CPU | backend calls / min |")
	r.p("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, k := range []string{"1", "1000", "5000", "10000", "10000-deflate"} {
		x := fan[k]
		if x == nil {
			continue
		}
		// Per-viewer memory and CPU of a handful of viewers is the noise of
		// the whole process divided by a small number: not shown.
		perViewer := "— | — | — | — | —"
		if x.Connected >= 100 {
			perViewer = fmt.Sprintf("%.1f / %.1f KB | %.1f KB | %.1f KB | %.2f | %.1f µs",
				x.ServerRSSPerViewer/1000, rssEnd(x)/1000, x.ServerStackPerViewer/1000, x.ServerHeapPerViewer/1000, x.ServerGoroutinesPerViewer, x.ServerCPUPerDelivery)
		}
		r.p("| %d | %v | %.1f s | %d | %.1f ms | %.1f ms | %.1f ms | %.1f / %.1f ms | %d | %d | %s | %.0f %% | %.0f %% | %.0f %% | %.1f |",
			x.Connected, yesNo(x.Compression), x.ConnectSecs, x.Updates, x.P50ms, x.P99ms, x.MaxMs, x.LastViewerP50ms, x.LastViewerMaxMs,
			x.Missing, x.Dropped, perViewer, x.ServerCPUPercent, x.LoadgenCPUPercent, x.OthersCPUPercent, x.BackendCallsPerMin)
	}
	for k, x := range fan {
		if x.DialErrors > 0 || x.Dropped > 0 {
			r.p("\n%s viewers: %d dial errors (%s), %d dropped (%s)", k, x.DialErrors, x.DialError, x.Dropped, x.DropError)
		}
	}
	if haveFloor {
		r.p("\nFloor: one %d-byte write to a loopback TCP socket read by another process costs **%.1f µs** of CPU here (%d sockets, %d writes, `loadgen floor`). On loopback the receiver's TCP processing runs inside the sender's system call, so this is the least any server can spend per viewer per update on this machine.", fl.Size, fl.CPUPerWrite, fl.Conns, fl.Writes)
	}
	r.p("")

	r.p("### Bytes\n")
	if haveFirst {
		r.p("First load of `%s` (bodies as received with `Accept-Encoding: gzip`; headers not counted):\n", first.URL)
		r.p("| file | on the wire | uncompressed | encoding |")
		r.p("| --- | ---: | ---: | --- |")
		for _, f := range first.Files {
			r.p("| `%s` | %d B | %d B | %s |", f.Path, f.Gzip, f.Raw, f.Encoding)
		}
		r.p("| **total** | **%d B** | %d B | |\n", first.Gzip, first.Raw)
	}
	if len(push) > 0 {
		r.p("Pushed updates on the demo board (every tile, all kinds), per message:\n")
		r.p("| permessage-deflate | messages | payload (HTML) | on the wire (frames, pings included) |")
		r.p("| --- | ---: | ---: | ---: |")
		for _, k := range []string{"plain", "deflate"} {
			if x := push[k]; x != nil {
				r.p("| %s | %d | %.0f B | %.0f B |", yesNo(x.Compression), x.Messages, x.PayloadPerMessage, x.WirePerMessage)
			}
		}
		r.p("")
	}

	r.p("### Go benchmarks (`go test -run '^$' -bench . -benchmem ./...`)\n")
	r.p("```")
	names := make([]string, 0, len(b))
	for n := range b {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		r.p("%s", b[n].line)
	}
	r.p("```")
}

// soak reads the display soak's report (e2e/testdata/artifacts/soak.txt,
// copied into the results): JS heap after 100 and after all updates, the DOM
// node change, and when it ran.
func (r *reporter) soak() (first, last float64, nodes, when string, ok bool) {
	b, err := os.ReadFile(filepath.Join(r.dir, "soak.txt"))
	if err != nil {
		return 0, 0, "", "", false
	}
	lines := strings.Split(string(b), "\n")
	if f := strings.Fields(lines[0]); len(f) > 0 {
		when = f[len(f)-1]
	}
	heap := false
	for _, line := range lines {
		if rest, ok := strings.CutPrefix(line, "JS heap used (bytes)"); ok {
			f := strings.Fields(rest)
			if len(f) >= 2 {
				first, _ = strconv.ParseFloat(f[0], 64)
				last, _ = strconv.ParseFloat(f[1], 64)
				heap = true
			}
		}
		if rest, ok := strings.CutPrefix(line, "DOM nodes (Nodes)"); ok {
			f := strings.Fields(rest)
			if len(f) >= 2 {
				nodes = f[0] + " → " + f[1]
			}
		}
	}
	return first, last, nodes, when, heap
}

// rssEnd is the server's RSS per viewer at the end of the window.
func rssEnd(x *result) float64 {
	if x.Connected == 0 {
		return 0
	}
	return float64(x.ServerRSSEnd-x.ServerRSSBefore) / float64(x.Connected)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
