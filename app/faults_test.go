package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
)

// flakyBackend is an HTTP backend whose behaviour the test switches: ok,
// slow (answers after the poll timeout), garbage, reset (drops the
// connection), error (HTTP 500). It counts the requests it sees.
type flakyBackend struct {
	mode  atomic.Value // string
	calls atomic.Int64
	srv   *httptest.Server
}

func newFlakyBackend(t *testing.T) *flakyBackend {
	b := &flakyBackend{}
	b.mode.Store("ok")
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.calls.Add(1)
		switch b.mode.Load().(string) {
		case "ok":
			io.WriteString(w, `{"value": 42}`)
		case "slow":
			select { // longer than the source's timeout
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		case "garbage":
			io.WriteString(w, `<html>502 Bad Gateway</html>`)
		case "reset":
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		case "error":
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
	}))
	t.Cleanup(b.srv.Close)
	return b
}

// httpSource is a minimal real HTTP source: GET the backend, decode
// {"value": N}. It stands for prometheus/github sources here.
type httpSource struct {
	url    string
	client *http.Client
}

func (s *httpSource) Fetch(ctx context.Context, q board.Query) (board.Result, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return board.Result{}, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return board.Result{}, fmt.Errorf("flaky: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return board.Result{}, fmt.Errorf("flaky: %s", resp.Status)
	}
	var body struct {
		Value *float64 `json:"value"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		return board.Result{}, fmt.Errorf("flaky: decode: %w", err)
	}
	return board.Result{Value: body.Value, At: time.Now()}, nil
}

type apiTile struct {
	ID         string         `json:"id"`
	Value      *float64       `json:"value"`
	Stale      bool           `json:"stale"`
	Error      string         `json:"error"`
	UpdatedAt  *time.Time     `json:"updated_at"`
	AgeSeconds *float64       `json:"age_seconds"`
	Extra      map[string]any `json:"extra"`
}

func getTile(t *testing.T, base, boardID, tile string) apiTile {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/boards/" + boardID)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b struct{ Tiles []apiTile }
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
		t.Fatal(err)
	}
	for _, x := range b.Tiles {
		if x.ID == tile {
			return x
		}
	}
	t.Fatalf("no tile %s", tile)
	return apiTile{}
}

// waitTile polls the JSON API until cond holds (deadline d).
func waitTile(t *testing.T, base, tile string, d time.Duration, what string, cond func(apiTile) bool) apiTile {
	t.Helper()
	var last apiTile
	eventually(t, d, what, func() (bool, string) {
		last = getTile(t, base, "faults", tile)
		return cond(last), fmt.Sprintf("tile is %+v", last)
	})
	return last
}

const faultsYAML = `
sources:
  - id: flaky
    kind: demo
    timeout: 300ms
  - id: demo
    kind: demo
boards:
  - id: faults
    title: Faults
    tiles:
      - {id: flaky, kind: stat, title: Flaky, source: flaky, query: requests, interval: 1s}
      - {id: steady, kind: stat, title: Steady, source: demo, query: requests, interval: 1s}
`

// TestSourceFaults: a source that is slow past its timeout, answers garbage,
// drops connections, or fails for a long time. The tile keeps its last good
// value, goes stale with the reason and its age, the rest of the board keeps
// updating, polls back off, goroutines stay flat, and recovery is automatic.
func TestSourceFaults(t *testing.T) {
	backend := newFlakyBackend(t)
	src := &httpSource{url: backend.srv.URL, client: &http.Client{}}
	_, base, _ := start(t, Options{Sources: map[string]poller.Source{"flaky": src}}, faultsYAML)

	healthy := func(x apiTile) bool { return x.Value != nil && *x.Value == 42 && !x.Stale && x.Error == "" }
	good := waitTile(t, base, "flaky", 10*time.Second, "first value", healthy)
	time.Sleep(500 * time.Millisecond) // let first-poll goroutines settle
	before := runtime.NumGoroutine()

	for _, tc := range []struct{ mode, reason string }{
		{"slow", "no answer within 300ms"},
		{"garbage", "decode"},
		{"reset", "flaky:"},
		{"error", "500 Internal Server Error"},
	} {
		backend.mode.Store(tc.mode)
		x := waitTile(t, base, "flaky", 10*time.Second, tc.mode+": tile stale with reason", func(x apiTile) bool {
			return x.Stale && strings.Contains(x.Error, tc.reason)
		})
		// The last good value stays on screen, with its time and age.
		if x.Value == nil || *x.Value != 42 || x.UpdatedAt == nil || x.AgeSeconds == nil {
			t.Errorf("%s: tile lost its last good value or its age: %+v", tc.mode, x)
		}
		// The rest of the board is unaffected.
		steady := getTile(t, base, "faults", "steady")
		if steady.Stale || steady.Error != "" {
			t.Errorf("%s: the healthy tile is affected: %+v", tc.mode, steady)
		}
		backend.mode.Store("ok")
		good = waitTile(t, base, "flaky", 10*time.Second, tc.mode+": recovery", healthy)
	}

	// Errors for a long time: polls back off. Over the window the interval
	// alone (1 s) would give about 10 calls; backing off (1, 2, 4, 8 s) gives
	// about 4.
	backend.mode.Store("error")
	waitTile(t, base, "flaky", 10*time.Second, "error", func(x apiTile) bool { return strings.Contains(x.Error, "500") })
	start := backend.calls.Load()
	window := 10 * time.Second
	time.Sleep(window)
	calls := backend.calls.Load() - start
	if limit := int64(window/time.Second) * 6 / 10; calls > limit {
		t.Errorf("%d polls in %s while failing: no back-off (at most %d expected)", calls, window, limit)
	}
	x := getTile(t, base, "faults", "flaky")
	if !x.Stale || x.AgeSeconds == nil || *x.AgeSeconds < window.Seconds() {
		t.Errorf("after %s of errors the tile does not show its age: %+v", window, x)
	}
	if good.UpdatedAt != nil && x.UpdatedAt != nil && !x.UpdatedAt.Equal(*good.UpdatedAt) && x.UpdatedAt.Before(*good.UpdatedAt) {
		t.Errorf("updated_at went backwards: %v then %v", good.UpdatedAt, x.UpdatedAt)
	}

	// Recovery without anyone touching anything (the back-off is at most
	// 16 s by now).
	backend.mode.Store("ok")
	waitTile(t, base, "flaky", 30*time.Second, "recovery after long errors", healthy)

	// Goroutines are back to where they were (slow polls were abandoned,
	// dropped connections cleaned up). Tolerance for idle HTTP connections.
	deadline := time.Now().Add(10 * time.Second)
	after := runtime.NumGoroutine()
	for after > before+4 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		after = runtime.NumGoroutine()
	}
	if after > before+4 {
		t.Errorf("goroutines: %d before the faults, %d after recovery", before, after)
	}
}
