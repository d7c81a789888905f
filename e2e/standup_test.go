package e2e

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/wallboard/wallboard/app/apptest"
	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/views"
)

// history answers with two days of latency rising from 200 ms to 500 ms and
// an open alert that started an hour ago.
type history struct{}

func (history) Fetch(ctx context.Context, q board.Query) (board.Result, error) {
	now := time.Now()
	switch q.Text {
	case "latency_p95":
		var s []board.Point
		for h := 48; h >= 0; h-- {
			v := 0.2
			if h < 24 {
				v = 0.2 + 0.3*float64(24-h)/24
			}
			s = append(s, board.Point{T: now.Add(-time.Duration(h) * time.Hour), V: math.Round(v*1000) / 1000})
		}
		return board.Result{Value: board.F(0.5), Series: s}, nil
	case "cpu":
		return board.Result{Value: board.F(0.4), Alerts: []board.Alert{{
			ID: "1", Source: "hist", Title: "Disk almost full on db-1", Severity: board.SeverityWarning,
			State: board.AlertOpen, StartedAt: now.Add(-time.Hour),
		}}}, nil
	}
	return board.Result{Value: board.F(1234)}, nil
}

// deploys is a standup feed like the four keys feature's.
type deploys struct{}

func (deploys) StandupItems(ctx context.Context, boardID string, since, until time.Time) ([]views.StandupItem, error) {
	return []views.StandupItem{
		{Kind: "deployment", State: "succeeded", At: until.Add(-2 * time.Hour), Title: "api v1.2.3", Detail: "sha 4f2a9c1"},
		{Kind: "incident", State: "resolved", At: until.Add(-3 * time.Hour), Title: "Checkout 5xx spike", Detail: "restored in 42 m"},
	}, nil
}

func TestStandupView(t *testing.T) {
	cfg := `
sources:
  - {id: hist, kind: demo}
boards:
  - id: team
    title: Team board
    standup: {at: "09:30", timezone: Asia/Tokyo}
    tiles:
      - {id: lat, kind: timeseries, title: Latency p95, source: hist, query: latency_p95, unit: s, interval: 1s, thresholds: {warn: 0.3, critical: 0.6}}
      - {id: cpu, kind: stat, title: CPU, source: hist, query: cpu, unit: ratio, interval: 1s}
`
	s := StartServer(t, ServerOptions{Config: cfg, Sources: map[string]poller.Source{"hist": history{}}})
	s.App.Server().AddStandupFeed(deploys{})
	apptest.Eventually(t, 20*time.Second, "first poll", func() (bool, string) {
		_, lat, _ := s.App.Live().Tile(board.TileRef{Board: "team", Tile: "lat"})
		_, cpu, _ := s.App.Live().Tile(board.TileRef{Board: "team", Tile: "cpu"})
		return lat.Value != nil && cpu.Value != nil, ""
	})

	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	last, _ := views.LastStandup("09:30", tokyo, time.Now())
	_, html := adminGet(t, s.Base+"/boards/team?standup", "")
	for _, want := range []string{
		"Changes since " + last.In(tokyo).Format("Mon 15:04"),
		`class="theme-light"`, "Latency p95", "500 ms",
		"api v1.2.3", "Checkout 5xx spike", "Disk almost full on db-1",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("standup page lacks %q", want)
		}
	}
	// Since 24 h ago exactly the series says 200 ms.
	_, html = adminGet(t, s.Base+"/boards/team?since=24h", "")
	if !strings.Contains(html, "200 ms") || !strings.Contains(html, "500 ms") {
		t.Error("?since=24h does not show the movement 200 ms → 500 ms")
	}

	b := StartBrowser(t)
	for _, sc := range screens {
		b.Open(s.Base+"/boards/team?since=24h", sc.w, sc.h)
		b.Screenshot("standup-" + sc.name)
		var r struct {
			Scrolls  bool
			MinFont  float64
			Short    float64
			Overflow []string
		}
		b.Eval(`(() => {
		  const se = document.scrollingElement, short = Math.min(innerWidth, innerHeight);
		  let min = 1e9; const over = [];
		  document.querySelectorAll('.standup-view *').forEach(el => {
		    const own = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim() !== '');
		    const r = el.getBoundingClientRect();
		    if (!own || r.width === 0) return;
		    min = Math.min(min, parseFloat(getComputedStyle(el).fontSize));
		    if (r.bottom > innerHeight + 0.5 || r.right > innerWidth + 0.5) over.push(el.className + ' ' + el.textContent.trim().slice(0, 20));
		  });
		  return {Scrolls: se.scrollHeight > innerHeight || se.scrollWidth > innerWidth, MinFont: min, Short: short, Overflow: over};
		})()`, &r)
		if r.Scrolls || len(r.Overflow) > 0 {
			t.Errorf("standup %s: scrolls=%v, off screen: %v", sc.name, r.Scrolls, r.Overflow)
		}
		// Extra-large type: the smallest standup text is at least 1.8 % of
		// the shorter side (the board's floor is 1.2 %).
		if r.MinFont < 0.018*r.Short {
			t.Errorf("standup %s: smallest text %.1f px, want >= %.1f", sc.name, r.MinFont, 0.018*r.Short)
		}
	}
}
