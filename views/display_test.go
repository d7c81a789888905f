package views

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wallboard/wallboard/board"
)

// trendOf returns the rendered trend element of a tile, "" when none.
func trendOf(html string) string {
	return regexp.MustCompile(`<p class="trend[^"]*">[^<]*</p>`).FindString(html)
}

// A rising value is not a warning: without thresholds (no direction) the
// trend is neutral, and its glyph is never one of the status icons.
func TestTrendNeutralWithoutDirectionNeverAStatusIcon(t *testing.T) {
	now := time.Date(2026, 11, 25, 14, 10, 0, 0, time.UTC)
	st := board.TileState{Status: board.StatusUnknown, UpdatedAt: now.Add(-time.Second), Freshness: time.Minute,
		Result: board.Result{Value: board.F(110)}, Prev: board.F(100)}
	plain := board.TileConfig{ID: "req", Kind: "stat", Title: "Requests"}
	tr := trendOf(render(t, NewTileView("b", plain, st, now, English)))
	if tr == "" {
		t.Fatal("no trend rendered")
	}
	for _, icon := range []string{"✓", "▲", "✖", "?"} {
		if strings.Contains(tr, icon) {
			t.Errorf("trend %s uses the status icon %s", tr, icon)
		}
	}
	if strings.Contains(tr, "worse") || strings.Contains(tr, "better") {
		t.Errorf("a tile without direction colours its trend: %s", tr)
	}

	directed := plain
	directed.Thresholds = &board.Thresholds{Warn: board.F(200), Critical: board.F(300)}
	tr = trendOf(render(t, NewTileView("b", directed, st, now, English)))
	if !strings.Contains(tr, "trend worse") || strings.Contains(tr, "▲") {
		t.Errorf("rising on a higher-is-worse tile: %s, want class worse and no status icon", tr)
	}
	directed.Thresholds = &board.Thresholds{Warn: board.F(50), Critical: board.F(20), Direction: board.LowerIsWorse}
	tr = trendOf(render(t, NewTileView("b", directed, st, now, English)))
	if !strings.Contains(tr, "trend better") {
		t.Errorf("rising on a lower-is-worse tile: %s, want class better", tr)
	}
}
