package views

import (
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wallboard/wallboard/board"
)

// trendElement returns the rendered trend element of a tile, "" when none.
func trendElement(html string) string {
	return regexp.MustCompile(`<p class="trend[^"]*">[^<]*</p>`).FindString(html)
}

// A rising value is not a warning: without thresholds (no direction) the
// trend is neutral, and its glyph is never one of the status icons.
func TestTrendNeutralWithoutDirectionNeverAStatusIcon(t *testing.T) {
	now := time.Date(2026, 11, 25, 14, 10, 0, 0, time.UTC)
	st := board.TileState{Status: board.StatusUnknown, UpdatedAt: now.Add(-time.Second), Freshness: time.Minute,
		Result: board.Result{Value: board.F(110)}, Prev: board.F(100)}
	plain := board.TileConfig{ID: "req", Kind: "stat", Title: "Requests"}
	tr := trendElement(render(t, NewTileView("b", plain, st, now, English)))
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
	tr = trendElement(render(t, NewTileView("b", directed, st, now, English)))
	if !strings.Contains(tr, "trend worse") || strings.Contains(tr, "▲") {
		t.Errorf("rising on a higher-is-worse tile: %s, want class worse and no status icon", tr)
	}
	directed.Thresholds = &board.Thresholds{Warn: board.F(50), Critical: board.F(20), Direction: board.LowerIsWorse}
	tr = trendElement(render(t, NewTileView("b", directed, st, now, English)))
	if !strings.Contains(tr, "trend better") {
		t.Errorf("rising on a lower-is-worse tile: %s, want class better", tr)
	}
}

// ys are the y coordinates of an SVG path's points, in user units.
func ys(path string) []float64 {
	var out []float64
	for _, m := range regexp.MustCompile(`[ML]([-\d.]+) ([-\d.]+)`).FindAllStringSubmatch(path, -1) {
		y, _ := strconv.ParseFloat(m[2], 64)
		out = append(out, y)
	}
	return out
}

// A sparkline breaks where data is missing (an outage, a restart) instead
// of drawing a ramp across the hole.
func TestSparkBreaksAtGaps(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var pts []board.Point
	for i := 0; i < 10; i++ { // every 10 s for 90 s
		pts = append(pts, board.Point{T: t0.Add(time.Duration(i) * 10 * time.Second), V: 100 + float64(i)})
	}
	for i := 0; i < 10; i++ { // then nothing for 10 minutes, and again
		pts = append(pts, board.Point{T: t0.Add(11*time.Minute + time.Duration(i)*10*time.Second), V: 50 + float64(i)})
	}
	s := sparkOf(pts)
	if n := strings.Count(s.line, "M"); n != 2 {
		t.Errorf("line across a 10-minute gap has %d subpaths, want 2: %s", n, s.line)
	}
	if n := strings.Count(s.area, "Z"); n != 2 {
		t.Errorf("area across a gap has %d closed parts, want 2: %s", n, s.area)
	}
	nan := sparkOf([]board.Point{{T: t0, V: 1}, {T: t0.Add(time.Second), V: 2}, {T: t0.Add(2 * time.Second), V: math.NaN()},
		{T: t0.Add(3 * time.Second), V: 2}, {T: t0.Add(4 * time.Second), V: 3}})
	if n := strings.Count(nan.line, "M"); n != 2 {
		t.Errorf("a NaN point must break the line, got %d subpaths: %s", n, nan.line)
	}
}

// A 0.3 % wobble of a large value is drawn as the small change it is, not
// stretched over the whole height.
func TestSparkScalesHonestly(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var pts []board.Point
	for i := 0; i < 30; i++ {
		pts = append(pts, board.Point{T: t0.Add(time.Duration(i) * time.Minute), V: 1000 + 3*math.Sin(float64(i))})
	}
	s := sparkOf(pts)
	y := ys(s.line)
	if len(y) != 30 {
		t.Fatalf("%d points in %q", len(y), s.line)
	}
	lo, hi := slices.Min(y), slices.Max(y)
	if share := (hi - lo) / sparkH; share > 0.05 {
		t.Errorf("a 0.6 %% peak-to-peak wobble spans %.0f %% of the sparkline's height", share*100)
	}
	if s.lo != 0 || s.hi < 1002.9 {
		t.Errorf("scale %g–%g: want a baseline at zero up to the largest value", s.lo, s.hi)
	}
}

// Time series tiles print their axis range and draw their threshold lines;
// the sparkline's stroke width is set by the stylesheet (it scales with the
// screen), not a fixed attribute.
func TestTimeseriesShowsRangeAndThresholds(t *testing.T) {
	now := time.Date(2026, 11, 25, 14, 10, 0, 0, time.UTC)
	var pts []board.Point
	for i := 0; i < 20; i++ {
		pts = append(pts, board.Point{T: now.Add(time.Duration(i-20) * time.Minute), V: 0.2 + 0.01*float64(i)})
	}
	cfg := board.TileConfig{ID: "lat", Kind: "timeseries", Title: "Latency", Unit: "s",
		Thresholds: &board.Thresholds{Warn: board.F(0.5), Critical: board.F(1)}}
	st := board.TileState{Status: board.StatusOK, UpdatedAt: now, Freshness: time.Minute,
		Result: board.Result{Value: board.F(0.39), Series: pts}}
	html := render(t, NewTileView("b", cfg, st, now, English))
	for _, want := range []string{`class="spark-range"`, `class="spark-hi"`, `class="spark-lo"`, "1 s", "0 ms", `class="spark-th th-warn"`, `class="spark-th th-critical"`} {
		if !strings.Contains(html, want) {
			t.Errorf("time series tile lacks %s:\n%s", want, html)
		}
	}
	if strings.Contains(html, "stroke-width") {
		t.Error("stroke width fixed in the markup")
	}
}

// Every tile says when its data is from, on the tile: a fresh tile its data
// time (only the header ticks an age), a stale tile its age in its stale line.
func TestTileShowsItsOwnDataAge(t *testing.T) {
	now := time.Date(2026, 11, 25, 14, 10, 0, 0, time.UTC)
	cfg := board.TileConfig{ID: "req", Kind: "stat", Title: "Requests"}
	st := board.TileState{Status: board.StatusOK, UpdatedAt: now.Add(-3 * time.Second), Freshness: time.Minute,
		Result: board.Result{Value: board.F(110)}}
	html := render(t, NewTileView("b", cfg, st, now, English))
	if !regexp.MustCompile(`<span class="tile-age"[^>]*>as of 14:09</span>`).MatchString(html) {
		t.Errorf("a fresh tile does not say the time of its data:\n%s", html)
	}
	ja := render(t, NewTileView("b", cfg, st, now, japanese))
	if !strings.Contains(ja, "14:09時点") {
		t.Errorf("Japanese tile data time missing:\n%s", ja)
	}
	st.UpdatedAt = now.Add(-5 * time.Minute)
	html = render(t, NewTileView("b", cfg, st, now, English))
	if !strings.Contains(html, "stale · 5 m old") || regexp.MustCompile(`<span class="tile-age"[^>]*>[^<]`).MatchString(html) {
		t.Errorf("a stale tile should say its age once, in the stale line:\n%s", html)
	}
	st.UpdatedAt = time.Time{}
	if html := render(t, NewTileView("b", cfg, st, now, English)); regexp.MustCompile(`<span class="tile-age"[^>]*>[^<]`).MatchString(html) {
		t.Errorf("a tile waiting for data shows an age:\n%s", html)
	}
}

// Bar labels that share a long beginning keep what tells them apart: the
// common prefix goes, and each label's end stays visible beside the part
// that may be shortened.
func TestBarLabelsKeepTheDistinguishingPart(t *testing.T) {
	now := time.Date(2026, 11, 25, 14, 10, 0, 0, time.UTC)
	cfg := board.TileConfig{ID: "ep", Kind: "bar", Title: "Busiest endpoints"}
	labels := []string{"/api/v1/query_range?team=payments", "/api/v1/query_range?team=search", "/api/v1/query?team=payments", "/api/v1/series"}
	var rows []board.Row
	for i, l := range labels {
		rows = append(rows, board.Row{Label: l, Value: board.F(float64(100 - i))})
	}
	st := board.TileState{Status: board.StatusOK, UpdatedAt: now, Freshness: time.Minute, Result: board.Result{Rows: rows}}
	html := render(t, NewTileView("b", cfg, st, now, English))
	re := regexp.MustCompile(`<span class="row-label" title="([^"]*)"><span class="label-head">([^<]*)</span><span class="label-tail">([^<]*)</span></span>`)
	m := re.FindAllStringSubmatch(html, -1)
	if len(m) != len(labels) {
		t.Fatalf("%d labels in head and tail parts, want %d:\n%s", len(m), len(labels), html)
	}
	tails := map[string]bool{}
	for i, x := range m {
		if x[1] != labels[i] {
			t.Errorf("label %d title %q, want the whole label %q", i, x[1], labels[i])
		}
		if strings.HasPrefix(x[2], "/api/v1/") {
			t.Errorf("label %q still starts with the prefix every label shares", x[2]+x[3])
		}
		// What is always visible: the first characters of the head (an
		// ellipsis may cut the rest) and the whole tail.
		shown := []rune(x[2])
		seen := string(shown[:min(len(shown), 8)]) + "|" + x[3]
		if tails[seen] {
			t.Errorf("two labels look alike when shortened: %q", seen)
		}
		tails[seen] = true
		// A narrow tile shows little more than the tail's beginning (the head
		// shrinks to nothing first, the tail is cut at its end): the first 8
		// characters of the tails tell the rows apart on their own.
		t8 := "tail|" + string([]rune(x[3])[:min(len([]rune(x[3])), 8)])
		if tails[t8] {
			t.Errorf("two labels' tails begin alike, %q: a narrow tile shows them the same", t8)
		}
		tails[t8] = true
	}
}
