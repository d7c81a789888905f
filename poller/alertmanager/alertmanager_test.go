package alertmanager

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
)

// A GET /api/v2/alerts answer as Alertmanager 0.25 writes it.
const v2Alerts = `[
 {"annotations":{"summary":"checkout returns 503","description":"Roll back the last deploy.\nThen page payments.","runbook_url":"https://runbooks.example.com/checkout"},
  "endsAt":"2026-11-25T10:05:00.000Z","fingerprint":"a1b2c3d4e5f60718","receivers":[{"name":"wallboard"}],
  "startsAt":"2026-11-25T09:58:00.000Z","status":{"inhibitedBy":[],"silencedBy":[],"state":"active"},
  "updatedAt":"2026-11-25T10:00:00.000Z","generatorURL":"http://prometheus:9090/graph?g0.expr=up",
  "labels":{"alertname":"CheckoutDown","severity":"critical","service":"checkout","instance":"checkout-1:8080"}},
 {"annotations":{},"endsAt":"2026-11-25T10:05:00.000Z","fingerprint":"ffff000011112222","receivers":[{"name":"wallboard"}],
  "startsAt":"2026-11-25T09:00:00.000Z","status":{"inhibitedBy":[],"silencedBy":["s1"],"state":"suppressed"},
  "updatedAt":"2026-11-25T10:00:00.000Z","labels":{"alertname":"Silenced","severity":"critical"}}
]`

func TestFetch(t *testing.T) {
	var gotQuery, gotAuth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/am/api/v2/alerts" {
			http.NotFound(w, r)
			return
		}
		gotQuery, gotAuth = r.URL.RawQuery, r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(v2Alerts))
	}))
	defer srv.Close()
	s, err := New(Options{URL: srv.URL + "/am/", Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Fetch(context.Background(), board.Query{Source: "am"})
	if err != nil {
		t.Fatal(err)
	}
	if gotQuery != "active=true&silenced=true&inhibited=true" || gotAuth != "Bearer tok" {
		t.Errorf("request query %q auth %q", gotQuery, gotAuth)
	}
	if !res.AlertsComplete || len(res.Alerts) != 1 {
		t.Fatalf("result = %+v; want the one active alert, complete", res)
	}
	if len(res.AlertsSuppressed) != 1 || res.AlertsSuppressed[0] != "ffff000011112222" {
		t.Errorf("suppressed = %q, want the silenced alert's fingerprint", res.AlertsSuppressed)
	}
	a := res.Alerts[0]
	want := board.Alert{ID: "a1b2c3d4e5f60718", Title: "CheckoutDown", Severity: board.SeverityCritical, State: board.AlertOpen,
		StartedAt: time.Date(2026, 11, 25, 9, 58, 0, 0, time.UTC), Summary: "checkout returns 503",
		NextAction: "Roll back the last deploy.\nThen page payments.", RunbookURL: "https://runbooks.example.com/checkout",
		ConsoleURL: "http://prometheus:9090/graph?g0.expr=up", Policy: "CheckoutDown", Resource: "checkout"}
	if a != want {
		t.Errorf("alert =\n%+v\nwant\n%+v", a, want)
	}
	if res.Value == nil || *res.Value != 1 || len(res.Rows) != 1 || res.Rows[0].Status != board.StatusCritical {
		t.Errorf("value/rows = %v %+v", res.Value, res.Rows)
	}
}

func TestFetchErrors(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		retry  string
		want   string
	}{
		{"unauthorized", 401, "no", "", "HTTP 401"},
		{"unavailable with retry-after", 503, "busy", "7", "HTTP 503"},
		{"not JSON", 200, "<html>", "", "decode alerts"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if c.retry != "" {
					w.Header().Set("Retry-After", c.retry)
				}
				w.WriteHeader(c.status)
				w.Write([]byte(c.body))
			}))
			defer srv.Close()
			s, _ := New(Options{URL: srv.URL, Username: "u", Password: "p"})
			_, err := s.Fetch(context.Background(), board.Query{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, want %q", err, c.want)
			}
			if c.retry != "" {
				var ra poller.RetryAfterError
				if !errors.As(err, &ra) || ra.RetryAfter() != 7*time.Second {
					t.Errorf("retry after = %v", err)
				}
			}
		})
	}
}

func TestNewRefusesBadURL(t *testing.T) {
	for _, u := range []string{"", "alertmanager:9093", "ftp://x"} {
		if _, err := New(Options{URL: u}); err == nil {
			t.Errorf("url %q accepted", u)
		}
	}
}

func TestCheckQuery(t *testing.T) {
	tile := board.TileConfig{Kind: "alerts"}
	if err := CheckQuery(tile, board.Query{Params: map[string]any{"alerts": "open"}}); err != nil {
		t.Error(err)
	}
	if err := CheckQuery(tile, board.Query{Text: "up"}); err == nil {
		t.Error("PromQL accepted")
	}
	if err := CheckQuery(board.TileConfig{Kind: "gauge"}, board.Query{}); err == nil {
		t.Error("gauge accepted")
	}
}
