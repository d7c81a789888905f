// Package demo is the built-in source that needs no credentials: believable,
// deterministic system signals (a daily traffic shape, latency percentiles, an
// error ratio with occasional incidents, CPU) so every tile kind shows
// something real-looking. Everything it shows is labelled DEMO on screen.
package demo

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/wallboard/wallboard/board"
)

// signals the demo source answers, by query text.
var signals = []string{"requests", "latency_p50", "latency_p95", "latency_p99", "error_ratio", "cpu", "memory", "queue_age", "services", "instances", "alerts"}

// Source is the demo source. Now is injectable for tests; start anchors the
// demo alert's cycle (see alerts).
type Source struct {
	Now   func() time.Time
	start time.Time
}

// New returns a demo source on the wall clock.
func New() *Source { return &Source{Now: time.Now, start: time.Now()} }

// CheckQuery refuses signals the demo does not know.
func (s *Source) CheckQuery(_ board.TileConfig, q board.Query) error {
	if !slices.Contains(signals, q.Text) {
		return fmt.Errorf("demo signal %q unknown (known: %v)", q.Text, signals)
	}
	return nil
}

// Fetch computes the signal at the current time.
func (s *Source) Fetch(ctx context.Context, q board.Query) (board.Result, error) {
	if err := ctx.Err(); err != nil {
		return board.Result{}, err
	}
	if err := s.CheckQuery(board.TileConfig{}, q); err != nil {
		return board.Result{}, err
	}
	now := s.Now()
	switch q.Text {
	case "services":
		return services(now), nil
	case "alerts":
		return board.Result{Alerts: alerts(s.start, now), AlertsComplete: true, At: now}, nil
	}
	res := board.Result{Value: board.F(value(q.Text, "api", now)), At: now}
	if q.Range > 0 {
		const points = 60
		step := q.Range / points
		for i := points; i >= 0; i-- {
			t := now.Add(-time.Duration(i) * step)
			res.Series = append(res.Series, board.Point{T: t, V: value(q.Text, "api", t)})
		}
	}
	return res, nil
}

func services(now time.Time) board.Result {
	names := []string{"api", "checkout", "search", "auth", "billing", "images"}
	var rows []board.Row
	for _, n := range names {
		v := value("error_ratio", n, now)
		st := board.StatusOK
		switch {
		case v >= 0.05:
			st = board.StatusCritical
		case v >= 0.01:
			st = board.StatusWarn
		}
		rows = append(rows, board.Row{Label: n, Value: board.F(v), Status: st, Detail: fmt.Sprintf("%.0f req/s", value("requests", n, now))})
	}
	sort.SliceStable(rows, func(i, j int) bool { return *rows[i].Value > *rows[j].Value })
	return board.Result{Rows: rows, At: now}
}

// value is the signal's value for a service at time t. It is a pure function
// of its arguments, so tests and screens agree.
func value(signal, service string, t time.Time) float64 {
	h := fnv.New32a()
	h.Write([]byte(service))
	seed := float64(h.Sum32()%1000) / 1000
	scale := 0.4 + seed*1.2
	sec := float64(t.Unix())
	// Daily shape: quiet at 04:00 UTC, busiest mid-afternoon.
	hour := math.Mod(sec/3600, 24)
	daily := 0.55 + 0.45*math.Sin((hour-10)/24*2*math.Pi)
	wobble := 0.06*math.Sin(sec/47+seed*10) + 0.04*math.Sin(sec/13+seed*3)
	load := daily * (1 + wobble)
	incident := incidentLevel(sec, seed)
	switch signal {
	case "requests":
		return math.Round(1200 * scale * load)
	case "latency_p50":
		return 0.042 * (1 + 0.3*load + 2*incident)
	case "latency_p95":
		return 0.120 * (1 + 0.5*load + 4*incident)
	case "latency_p99":
		return 0.260 * (1 + 0.8*load + 6*incident)
	case "error_ratio":
		return math.Max(0, 0.002+0.001*wobble*10+0.07*incident)
	case "cpu":
		return math.Min(1, 0.25+0.5*load+0.2*incident)
	case "memory":
		return 0.58 + 0.08*math.Sin(sec/900+seed)
	case "queue_age":
		return math.Max(0, 4+6*load+240*incident+3*math.Sin(sec/31))
	case "instances":
		return math.Ceil(3 + 9*load*scale)
	}
	return math.NaN()
}

// incidentLevel is 0 most of the time and rises to 1 for about two minutes in
// every twenty, so the demo shows threshold breaches without being on fire.
func incidentLevel(sec, seed float64) float64 {
	const period, length = 1200.0, 120.0
	p := math.Mod(sec+seed*period, period)
	if p > length {
		return 0
	}
	return math.Sin(p / length * math.Pi)
}

// The demo alert's cycle: a critical alert opens alertOpensAfter into each
// alertCycle (counted from the source's start) and resolves alertOpenFor
// later, so a newcomer sees the takeover within seconds of `make run`, then
// the banner, then the board without it.
const (
	alertCycle      = 3 * time.Minute
	alertOpensAfter = 10 * time.Second
	alertOpenFor    = 100 * time.Second
)

// alerts are the demo's open alerts at now: a warning that stays open, and
// the critical alert of the cycle while it fires. Each says what to do next.
func alerts(start, now time.Time) []board.Alert {
	out := []board.Alert{{
		ID: "demo-disk-db-1", Source: "demo", Title: "Disk 81 % full on db-1", Severity: board.SeverityWarning,
		State: board.AlertOpen, StartedAt: start.Add(-2 * time.Hour).Truncate(time.Minute), Resource: "db-1",
		NextAction: "Rotate the query logs on db-1 before it reaches 90 %", Policy: "DiskFull",
	}}
	if start.IsZero() || now.Before(start) {
		return out
	}
	n := now.Sub(start) / alertCycle
	opened := start.Add(n*alertCycle + alertOpensAfter)
	if !now.Before(opened) && now.Before(opened.Add(alertOpenFor)) {
		out = append(out, board.Alert{
			ID: "demo-checkout-5xx", Source: "demo", Title: "Checkout 5xx above 5\u00a0%", Severity: board.SeverityCritical,
			State: board.AlertOpen, StartedAt: opened, Resource: "checkout",
			Summary:    "Payment provider timeouts since the last deploy",
			NextAction: "Roll back checkout to the previous release", Policy: "Checkout5xx",
		})
	}
	return out
}
