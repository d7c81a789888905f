package views

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wallboard/wallboard/board"
)

func TestFirstLines(t *testing.T) {
	cases := []struct{ in, want string }{
		{"one", "one"},
		{"one\n\n two \nthree", "one\ntwo …"},
		{"  \r\n a\r\nb", "a\nb"},
		{strings.Repeat("x", 300), strings.Repeat("x", 239) + "…"},
	}
	for _, c := range cases {
		if got := firstLines(c.in, 2); got != c.want {
			t.Errorf("FirstLines(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestQRPath(t *testing.T) {
	p, n := qrPath("https://runbooks.example.com/checkout")
	if p == "" || n < 21 {
		t.Fatalf("QR path empty or too small: %d modules", n)
	}
	if p2, _ := qrPath(""); p2 != "" {
		t.Error("QR for no runbook")
	}
}

func render(t *testing.T, v TileView) string {
	t.Helper()
	var b bytes.Buffer
	if err := Tile(v).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestAlertTileSaysUnknownUnlessHealthy(t *testing.T) {
	now := time.Date(2026, 11, 25, 14, 10, 0, 0, time.Local)
	cfg := board.TileConfig{ID: "alerts", Kind: "alerts", Source: "am"}
	ok := board.TileState{Status: board.StatusOK, UpdatedAt: now.Add(-time.Second), Freshness: time.Minute, Result: board.Result{Value: board.F(0)}}
	if html := render(t, NewTileView("b", cfg, ok, now, English)); !strings.Contains(html, "No open alerts") {
		t.Errorf("healthy and empty: %s", html)
	}
	failing := ok
	failing.Error, failing.ErrorSince = "connection refused", now.Add(-8*time.Minute)
	html := render(t, NewTileView("b", cfg, failing, now, English))
	if strings.Contains(html, "No open alerts") || !strings.Contains(html, "alerts unknown: source am failing since 14:02") {
		t.Errorf("failing: %s", html)
	}
	stale := ok
	stale.UpdatedAt = now.Add(-10 * time.Minute)
	if html := render(t, NewTileView("b", cfg, stale, now, English)); strings.Contains(html, "No open alerts") || !strings.Contains(html, "not updated since 14:00") {
		t.Errorf("stale: %s", html)
	}
	off := ok
	off.Warnings = []string{"alerts: receiver cloudmonitoring is not configured (webhooks: cloudmonitoring: secret)"}
	if html := render(t, NewTileView("b", cfg, off, now, English)); strings.Contains(html, "No open alerts") {
		t.Errorf("receiver off: %s", html)
	}
}

func TestAlertTileRows(t *testing.T) {
	now := time.Now()
	st := board.TileState{Status: board.StatusCritical, UpdatedAt: now, Freshness: time.Minute, Result: board.Result{Alerts: []board.Alert{
		{ID: "1", Title: "API down", Severity: board.SeverityCritical, StartedAt: now.Add(-5 * time.Minute), Resource: "api", NextAction: "roll back"},
		{ID: "2", Title: "Disk", Severity: board.SeverityWarning, StartedAt: now.Add(-time.Hour)},
	}}}
	html := render(t, NewTileView("b", board.TileConfig{ID: "a", Kind: "alerts", Source: "am", Limit: 1}, st, now, English))
	for _, want := range []string{"✖", ">critical<", "API down", "5 m", "roll back", "api", "+1 more", "data-started="} {
		if !strings.Contains(html, want) {
			t.Errorf("tile lacks %q", want)
		}
	}
	if strings.Contains(html, "Disk") {
		t.Error("limit 1 shows two alerts")
	}
}
