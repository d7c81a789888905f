package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
)

var updatedRE = regexp.MustCompile(`data-updated="(\d+)"`)

func updatedOf(frag string) int64 {
	m := updatedRE.FindStringSubmatch(frag)
	if m == nil {
		return 0
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

// closingSource is a source a reload replaces and closes like any built
// from the config: a poll started while hold is set waits until its context
// ends or the source is closed, and then fails as a closed client does.
type closingSource struct {
	hold   *atomic.Bool
	held   chan struct{} // a held poll has started
	closed chan struct{}
	// polls in flight; closedUnder is set when Close finds one.
	polls       atomic.Int32
	closedUnder *atomic.Bool
}

func (s *closingSource) Fetch(ctx context.Context, q board.Query) (board.Result, error) {
	s.polls.Add(1)
	defer s.polls.Add(-1)
	if s.hold.CompareAndSwap(true, false) {
		s.held <- struct{}{}
		select {
		case <-ctx.Done():
			return board.Result{}, ctx.Err()
		case <-s.closed:
			return board.Result{}, errors.New("closing: the client connection is closing")
		}
	}
	return board.Result{Value: board.F(42)}, nil
}

func (s *closingSource) Close() error {
	if s.polls.Load() > 0 {
		s.closedUnder.Store(true)
	}
	close(s.closed)
	return nil
}

const closingConfig = `
sources:
  - {id: src, kind: closing}
  - {id: demo, kind: demo}
boards:
  - id: sys
    title: API
    tiles:
      - {id: rps, kind: stat, title: Requests, source: src, query: requests, interval: 3s}
  - id: other
    title: Other %d
    tiles:
      - {id: c, kind: stat, source: demo, query: requests, interval: 3s}
`

// TestReloadClosesOldSourcesAfterTheirPolls: a reload replaces every source
// while a poll of the old one is in flight, and the old source, once
// closed, fails that poll. The failure is the old world's, not the tile's:
// no screen may see the tile failing. A source kind of the test's own,
// since the sources of Options.Sources are kept across reloads.
func TestReloadClosesOldSourcesAfterTheirPolls(t *testing.T) {
	var hold, closedUnder atomic.Bool
	held := make(chan struct{}, 1)
	sourceKinds["closing"] = sourceKind{New: func(*App, board.SourceConfig) (poller.Source, error) {
		return &closingSource{hold: &hold, held: held, closed: make(chan struct{}), closedUnder: &closedUnder}, nil
	}}
	t.Cleanup(func() { delete(sourceKinds, "closing") })

	r, _, _ := start(t, Options{}, fmt.Sprintf(closingConfig, 0))
	c := dial(t, r.Addr(), "sys")
	frags := readUntil(t, c, "the first value", func(f map[string]string) bool { return hasValue(f["tile-sys-rps"], "42") })
	last := updatedOf(frags["tile-sys-rps"])
	for round := 1; round <= 3; round++ {
		hold.Store(true)
		select {
		case <-held:
		case <-time.After(20 * time.Second):
			t.Fatal("no poll of the source within 20 s")
		}
		// The config changes elsewhere (another board's title): the tile
		// and its query stay; the source is built anew.
		if err := os.WriteFile(r.opts.ConfigPath, []byte(fmt.Sprintf(closingConfig, round)), 0o600); err != nil {
			t.Fatal(err)
		}
		eventually(t, 15*time.Second, "the reload", func() (bool, string) { return r.ConfigStatus().Reloads == round, "" })
		var failing string
		frags := readUntil(t, c, "a poll of the new source", func(f map[string]string) bool {
			frag := f["tile-sys-rps"]
			if strings.Contains(frag, "data-error") && failing == "" {
				failing = frag
			}
			return updatedOf(frag) > last
		})
		if failing != "" {
			t.Fatalf("round %d: the screen was shown the tile failing after the reload:\n%s", round, failing)
		}
		if _, st, _ := r.Live().Tile(board.TileRef{Board: "sys", Tile: "rps"}); st.Error != "" {
			t.Fatalf("round %d: the tile is failing after the reload: %s", round, st.Error)
		}
		// What makes the above hold whatever the goroutines' timing: the
		// old scheduler has stopped, and its polls returned, before the
		// old sources are closed.
		if closedUnder.Load() {
			t.Fatalf("round %d: a source was closed with a poll in flight", round)
		}
		last = updatedOf(frags["tile-sys-rps"])
	}
}

// TestReloadRemovingABoardTellsItsScreens: a screen of a board a reload
// removed is told so (1008, and its page reloads to the "no board" answer),
// instead of showing its last tiles forever; the board is gone for new
// screens too.
func TestReloadRemovingABoardTellsItsScreens(t *testing.T) {
	r, _, _ := start(t, Options{}, fakeConfig)
	c := dial(t, r.Addr(), "other")
	readUntil(t, c, "the other board's tile", func(f map[string]string) bool { return f["tile-other-c"] != "" })

	without, _, _ := strings.Cut(fakeConfig, "  - id: other\n")
	if err := os.WriteFile(r.opts.ConfigPath, []byte(without), 0o600); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(15 * time.Second))
	for {
		_, msg, err := c.ReadMessage()
		if err == nil {
			_ = msg // the state it had, and heartbeats, until the reload
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation {
			t.Fatalf("the removed board's screen got %v, want a 1008 close", err)
		}
		break
	}
	if code, _ := getStatus(t, "http://"+r.Addr()+"/boards/other"); code != http.StatusNotFound {
		t.Errorf("the removed board's page answers %d, want 404", code)
	}
	if _, resp, err := websocket.DefaultDialer.Dial("ws://"+r.Addr()+"/boards/other/ws", nil); err == nil || resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("a new screen of the removed board: %v, want 404", err)
	}
}
