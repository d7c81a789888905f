package views

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/fourkeys"
)

func TestFourKeysPanelReadsAtAGlance(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	f := func(v float64) *float64 { return &v }
	d := func(v time.Duration) *time.Duration { return &v }
	cur := fourkeys.Metrics{Window: fourkeys.LastDays(now, 30*fourkeys.Day), DeploymentsPerDay: f(3.4),
		LeadTime: d(5*time.Hour + 20*time.Minute), ChangeFailureRate: f(0.04), RecoveryTime: d(42 * time.Minute), TimeToRestore: d(50 * time.Minute),
		Deployments: 100, FailedDeployments: 4, Rework: 2, ReworkRate: f(0.02), Changes: 310, Recovered: 3, Restored: 5}
	prev := fourkeys.Metrics{Window: cur.Window.Previous(), DeploymentsPerDay: f(2.4),
		LeadTime: d(6 * time.Hour), ChangeFailureRate: f(0.02), TimeToRestore: nil}
	rep := &fourkeys.Report{Current: cur, Previous: prev, Trend: make([]fourkeys.Metrics, fourkeys.TrendWeeks),
		Benchmarks: fourkeys.Benchmarks, AttributionWindow: 6 * time.Hour}
	v := NewTileView("b", board.TileConfig{ID: "k", Kind: board.KindFourKeys}, board.TileState{Result: board.Result{FourKeys: rep}, UpdatedAt: now}, now, English)
	cells := v.keyCells()
	want := []struct{ value, tier, delta string }{
		{"3.4 / day", "elite", "▲ +1 / day vs previous 30 d"},
		{"5 h 20 m", "elite", "▼ −40 m vs previous 30 d"},
		{"4 %", "elite", "▲ +2 pts vs previous 30 d"},
		{"42 m", "elite", ""}, // no previous figure: no comparison
	}
	for i, w := range want {
		c := cells[i]
		if c.value != w.value || c.tier != w.tier || c.delta != w.delta {
			t.Errorf("%s: %q %q %q, want %q %q %q", c.name, c.value, c.tier, c.delta, w.value, w.tier, w.delta)
		}
	}
	if !cells[0].better || !cells[1].better || !cells[2].worse {
		t.Errorf("better/worse wrong: %+v", cells[:3])
	}
	var buf bytes.Buffer
	if err := Tile(v).Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"3.4 / day", ">elite<", "5 h 20 m", "Failed deployment recovery", "Rework", "2 %",
		"100 deployments in 30 d", "median of 310 changes", "4 of 100 deployments failed", "2 of 100 were rework",
		"recovery: median of 3 incidents", "tiers: DORA 2024 clusters", "within 6 h before",
		"restore, all incidents: 50 m, median of 5 incidents"} {
		if !strings.Contains(buf.String(), s) {
			t.Errorf("rendered tile lacks %q", s)
		}
	}
	if got := English.PerDay(0.3); got != "2.1 / week" {
		t.Errorf("English.PerDay(0.3) = %q, want 2.1 / week", got)
	}
}

// benchmarks: none shows no tier at all, and the footnote says so.
func TestFourKeysWithoutBenchmarksShowNoTier(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	f := func(v float64) *float64 { return &v }
	cur := fourkeys.Metrics{Window: fourkeys.LastDays(now, 30*fourkeys.Day), DeploymentsPerDay: f(3.4), ChangeFailureRate: f(0), Deployments: 102}
	rep := &fourkeys.Report{Current: cur, Previous: fourkeys.Metrics{Window: cur.Window.Previous()}, Trend: make([]fourkeys.Metrics, fourkeys.TrendWeeks)}
	v := NewTileView("b", board.TileConfig{ID: "k", Kind: board.KindFourKeys}, board.TileState{Result: board.Result{FourKeys: rep}, UpdatedAt: now}, now, English)
	var buf bytes.Buffer
	if err := Tile(v).Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, tier := range []string{">elite<", ">high<", ">medium<", ">low<", "class=\"tier "} {
		if strings.Contains(page, tier) {
			t.Errorf("benchmarks: none, yet the tile shows %q", tier)
		}
	}
	if !strings.Contains(page, "no benchmark tiers") || !strings.Contains(page, "0 of 102 deployments failed") {
		t.Errorf("footnote or count missing: %s", page)
	}
}

// The deploy feed marks a rework deployment with its own shape and says why.
func TestDeployFeedMarksRework(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	rep := &fourkeys.Report{Recent: []fourkeys.DeploymentLead{
		{Deployment: fourkeys.Deployment{ID: "fix", Service: "api", SHA: "abc1234", FinishedAt: now.Add(-time.Hour)}, Rework: true},
	}}
	v := NewTileView("b", board.TileConfig{ID: "d", Kind: board.KindDeploys}, board.TileState{Result: board.Result{FourKeys: rep}, UpdatedAt: now}, now, English)
	var buf bytes.Buffer
	if err := Tile(v).Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "↻") || !strings.Contains(buf.String(), "rework: made because of an incident") {
		t.Errorf("deploy feed does not mark the rework deployment: %s", buf.String())
	}
}
