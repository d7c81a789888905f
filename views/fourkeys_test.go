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
		LeadTime: d(5*time.Hour + 20*time.Minute), ChangeFailureRate: f(0.04), TimeToRestore: d(42 * time.Minute)}
	prev := fourkeys.Metrics{Window: cur.Window.Previous(), DeploymentsPerDay: f(2.4),
		LeadTime: d(6 * time.Hour), ChangeFailureRate: f(0.02), TimeToRestore: nil}
	rep := &fourkeys.Report{Current: cur, Previous: prev, Trend: make([]fourkeys.Metrics, fourkeys.TrendWeeks)}
	v := NewTileView("b", board.TileConfig{ID: "k", Kind: KindFourKeys}, board.TileState{Result: board.Result{FourKeys: rep}, UpdatedAt: now}, now, English)
	cells := v.KeyCells()
	want := []struct{ value, tier, delta string }{
		{"3.4 / day", "elite", "▲ +1 / day vs previous 30 d"},
		{"5 h 20 m", "elite", "▼ −40 m vs previous 30 d"},
		{"4 %", "elite", "▲ +2 pts vs previous 30 d"},
		{"42 m", "elite", ""}, // no previous figure: no comparison
	}
	for i, w := range want {
		c := cells[i]
		if c.Value != w.value || c.Tier != w.tier || c.Delta != w.delta {
			t.Errorf("%s: %q %q %q, want %q %q %q", c.Name, c.Value, c.Tier, c.Delta, w.value, w.tier, w.delta)
		}
	}
	if !cells[0].Better || !cells[1].Better || !cells[2].Worse {
		t.Errorf("better/worse wrong: %+v", cells[:3])
	}
	var buf bytes.Buffer
	if err := Tile(v).Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"3.4 / day", ">elite<", "5 h 20 m", "Time to restore"} {
		if !strings.Contains(buf.String(), s) {
			t.Errorf("rendered tile lacks %q", s)
		}
	}
	if got := FormatPerDay(0.3); got != "2.1 / week" {
		t.Errorf("FormatPerDay(0.3) = %q, want 2.1 / week", got)
	}
}
