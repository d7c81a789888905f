// Package bench holds what the benchmarks of Wallboard share: a counting
// clock source that makes one tile change every second, the board config
// that shows it, and a realistic 24-tile board for the render benchmarks.
//
// Nothing here is linked into the wallboard binary: cmd/loadgen and the
// benchmarks in this package import it, the production path never does.
package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/wallboard/wallboard/board"
)

// ClockSource is a poller.Source whose value changes on every fetch, so every
// poll of its tile is a real change that the server renders and pushes. The
// publish time the benchmarks measure from is the tile's data-updated
// attribute (unix ms), which the server sets when it applies the poll, just
// before it renders the fragment and hands it to the hub.
type ClockSource struct {
	mu      sync.Mutex
	fetches int64
	last    time.Time
}

// Fetch counts the call and returns the call's ordinal as the value.
func (c *ClockSource) Fetch(ctx context.Context, q board.Query) (board.Result, error) {
	if err := ctx.Err(); err != nil {
		return board.Result{}, err
	}
	c.mu.Lock()
	c.fetches++
	n := c.fetches
	c.last = time.Now()
	c.mu.Unlock()
	return board.Result{Value: board.F(float64(n))}, nil
}

// Fetches is how many times Fetch was called, and when it last was. Rates
// taken between two last-call times have no window-edge error.
func (c *ClockSource) Fetches() (int64, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fetches, c.last
}

// BoardID and TileID name the benchmark board and its one changing tile.
const (
	boardID = "bench"
	tileID  = "clock"
	// SourceID is the id the config gives the clock; app.Options.Sources
	// replaces it with a ClockSource.
	SourceID = "clock"
)

// Config is the benchmark board: one stat tile polled every second from the
// clock source. Its kind is demo only so that the config loads; the running
// source is always replaced by a ClockSource.
func Config() []byte {
	return []byte(`sources:
  - id: ` + SourceID + `
    kind: demo
boards:
  - id: ` + boardID + `
    title: Benchmark
    tiles:
      - id: ` + tileID + `
        kind: stat
        title: Publishes
        source: ` + SourceID + `
        query: requests
        interval: 1s
`)
}

// config24 is a 24-tile board on the demo source with every tile kind the
// demo offers: the board the full-page render benchmark draws.
func config24() []byte {
	var b strings.Builder
	b.WriteString("sources:\n  - id: demo\n    kind: demo\nboards:\n  - id: big\n    title: Twenty-four tiles\n    columns: 6\n    tiles:\n")
	kinds := []struct{ kind, query, unit, extra string }{
		{"stat", "requests", "req/s", ""},
		{"stat", "error_ratio", "ratio", "        thresholds: {warn: 0.01, critical: 0.05}\n"},
		{"stat", "latency_p99", "s", "        thresholds: {warn: 0.5, critical: 1}\n"},
		{"gauge", "cpu", "ratio", "        thresholds: {warn: 0.75, critical: 0.9}\n"},
		{"timeseries", "requests", "req/s", "        range: 1h\n"},
		{"timeseries", "latency_p95", "s", "        range: 1h\n        thresholds: {warn: 0.3, critical: 0.6}\n"},
		{"list", "services", "ratio", ""},
		{"stat", "queue_age", "s", "        thresholds: {warn: 60, critical: 180}\n"},
	}
	for i := range 24 {
		k := kinds[i%len(kinds)]
		fmt.Fprintf(&b, "      - id: t%02d\n        kind: %s\n        title: Tile %d %s\n        source: demo\n        query: %s\n        unit: %s\n        interval: 5s\n%s",
			i, k.kind, i, k.query, k.query, k.unit, k.extra)
	}
	return []byte(b.String())
}
