package app

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// viewer is a screen as the page behaves: it connects, takes what it is
// sent, and after any close reconnects with the page's back-off (250 ms
// plus random up to min(2.75 s, 500 ms × 2^retries): never over 3 s).
type viewer struct {
	mu        sync.Mutex
	conns     int       // connections made so far
	updated   int64     // data-updated of ops/req seen on the current connection
	goingAway int       // closes with 1001 received
	readyAt   time.Time // when the current connection had the state asked for
	minWanted int64     // readyAt is set once updated >= this (on connection ≥ wantConn)
	wantConn  int
}

var tileUpdated = regexp.MustCompile(`id="tile-ops-req"[^>]*data-updated="(\d+)"`)

func (v *viewer) run(ctx context.Context, url string) {
	retries := 0
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	for ctx.Err() == nil {
		conn, _, err := d.DialContext(ctx, url, nil)
		if err != nil {
			delay := time.Duration(rand.Float64()*math.Min(2750, 500*math.Pow(2, float64(retries))))*time.Millisecond + 250*time.Millisecond
			retries++
			select {
			case <-ctx.Done():
				return
			case <-time.After(delay):
			}
			continue
		}
		retries = 0
		v.mu.Lock()
		v.conns++
		v.updated = 0
		v.mu.Unlock()
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		for {
			_, msg, err := conn.ReadMessage()
			if err != nil {
				var ce *websocket.CloseError
				if errors.As(err, &ce) && ce.Code == websocket.CloseGoingAway {
					v.mu.Lock()
					v.goingAway++
					v.mu.Unlock()
				}
				break
			}
			if m := tileUpdated.FindSubmatch(msg); m != nil {
				n, _ := strconv.ParseInt(string(m[1]), 10, 64)
				v.mu.Lock()
				v.updated = max(v.updated, n)
				if v.readyAt.IsZero() && v.conns >= v.wantConn && v.updated >= v.minWanted {
					v.readyAt = time.Now()
				}
				v.mu.Unlock()
			}
		}
		stop()
		conn.Close()
		// The page waits before reconnecting after a close too.
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(rand.Float64()*500)*time.Millisecond + 250*time.Millisecond):
		}
	}
}

// want resets readiness: ready once a connection numbered ≥ conn has shown
// data at least as new as updated (unix ms).
func (v *viewer) want(conn int, updated int64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.wantConn, v.minWanted, v.readyAt = conn, updated, time.Time{}
	if v.conns >= conn && v.updated >= updated {
		v.readyAt = time.Now()
	}
}

func (v *viewer) ready() (time.Time, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.readyAt, !v.readyAt.IsZero()
}

// TestRestartUnder500Viewers restarts the server (same port, same data)
// under 500 connected screens: each gets a going-away close, reconnects by
// itself and has the current state within 10 s of the restart.
func TestRestartUnder500Viewers(t *testing.T) {
	const viewers = 500
	dir := t.TempDir()
	cfg := filepath.Join(dir, "board.yaml")
	writeFile(t, cfg, boardYAML)
	data := filepath.Join(dir, "data")
	var log syncBuffer
	a, base, stop := start(t, Options{ConfigPath: cfg, DataDir: data, Logger: slog.New(slog.NewTextHandler(&log, nil))}, "")
	addr := a.Addr()
	first := waitOps(t, base, "first value", func(x apiTile) bool { return x.UpdatedAt != nil })

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	vs := make([]*viewer, viewers)
	for i := range vs {
		vs[i] = &viewer{}
		vs[i].want(1, first.UpdatedAt.UnixMilli())
		wg.Go(func() { vs[i].run(ctx, "ws://"+addr+"/boards/ops/ws") })
	}
	defer func() { cancel(); wg.Wait() }()
	waitAll := func(what string, d time.Duration) {
		t.Helper()
		deadline := time.Now().Add(d)
		for time.Now().Before(deadline) {
			n := 0
			for _, v := range vs {
				if _, ok := v.ready(); ok {
					n++
				}
			}
			if n == viewers {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		n := 0
		for _, v := range vs {
			if _, ok := v.ready(); ok {
				n++
			}
		}
		t.Fatalf("%s: %d of %d viewers ready within %s", what, n, viewers, d)
	}
	waitAll("initial connect", 60*time.Second)

	// The state just before the restart: what every screen must have again.
	before := getTile(t, base, "ops", "req")
	for _, v := range vs {
		v.want(2, before.UpdatedAt.UnixMilli())
	}
	restartAt := time.Now()
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	start(t, Options{ConfigPath: cfg, DataDir: data, Addr: addr, Logger: slog.New(slog.NewTextHandler(&log, nil))}, "")
	waitAll("after restart", 10*time.Second-time.Since(restartAt))
	away := 0
	for _, v := range vs {
		v.mu.Lock()
		if v.goingAway > 0 {
			away++
		}
		v.mu.Unlock()
	}
	if away != viewers {
		t.Errorf("%d of %d viewers got a going-away close (1001)", away, viewers)
	}
	var slowest time.Duration
	for _, v := range vs {
		at, _ := v.ready()
		slowest = max(slowest, at.Sub(restartAt))
	}
	t.Logf("%d viewers back with the current state; slowest after %s", viewers, slowest.Round(time.Millisecond))
}
