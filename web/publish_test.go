package web

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
)

type noSource struct{}

func (noSource) Fetch(context.Context, board.Query) (board.Result, error) {
	return board.Result{}, errors.New("not polled in this test")
}

// The scheduler's sink applies each outcome to the tiles of its job, pushes
// the changed tile to every screen of the board, and counts the poll and
// what the hub sent: a success shows its value, a failure its error.
func TestSinkAppliesPublishesAndCounts(t *testing.T) {
	cfg, err := board.Parse("b.yaml", []byte(`
sources:
  - {id: prom, kind: prometheus, url: "http://127.0.0.1:1"}
boards:
  - id: ops
    tiles:
      - {id: rps, kind: stat, title: Requests, source: prom, query: "sum(rate(x[1m]))"}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := poller.Jobs(cfg, map[string]poller.Source{"prom": noSource{}})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("jobs %v, %v", jobs, err)
	}
	m := NewMetrics()
	s := NewServer(board.NewLive(cfg, nil), NewHub(), m, quietLog(), Options{})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/boards/ops/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// readUntil reads the screen's frames until one holds want.
	readUntil := func(want string) {
		t.Helper()
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			_, msg, err := conn.ReadMessage()
			if err != nil {
				t.Fatalf("waiting for %q: %v", want, err)
			}
			if strings.Contains(string(msg), want) {
				return
			}
		}
	}

	s.Sink(jobs[0], board.Result{Value: board.F(4242)}, nil, 20*time.Millisecond)
	readUntil(">4.24k<")
	_, st, _ := s.live().Tile(board.TileRef{Board: "ops", Tile: "rps"})
	if st.Value == nil || *st.Value != 4242 || st.Error != "" {
		t.Fatalf("tile state after the poll: %+v", st)
	}
	s.Sink(jobs[0], board.Result{}, errors.New("prom: HTTP 503: overloaded"), 20*time.Millisecond)
	readUntil("overloaded")

	if n := testutil.ToFloat64(m.Polls.WithLabelValues("prom")); n != 2 {
		t.Errorf("polls counted: %v, want 2", n)
	}
	if n := testutil.ToFloat64(m.pollErrors.WithLabelValues("prom")); n != 1 {
		t.Errorf("poll errors counted: %v, want 1", n)
	}
	if n := testutil.ToFloat64(m.messagesPushed); n < 2 {
		t.Errorf("messages pushed counted: %v, want at least the 2 tiles", n)
	}
	if n := testutil.ToFloat64(m.bytesPushed); n < 100 {
		t.Errorf("bytes pushed counted: %v", n)
	}
	if n := testutil.ToFloat64(m.Viewers); n != 1 {
		t.Errorf("viewers counted: %v, want 1", n)
	}
	if got := len(s.live().Unsaved()); got != 1 {
		t.Errorf("unsaved tiles after the polls: %d, want 1 (the periodic save takes it)", got)
	}
}
