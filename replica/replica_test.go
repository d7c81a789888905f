package replica

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wallboard/wallboard/app/apptest/runtest"
	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/store"
	"github.com/wallboard/wallboard/store/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// tileTables are the store's tile tables, for a database no store migrated.
const tileTables = `
CREATE TABLE IF NOT EXISTS tile_state (board TEXT, tile TEXT, state TEXT NOT NULL, updated_at BIGINT NOT NULL, PRIMARY KEY (board, tile));
CREATE TABLE IF NOT EXISTS tile_history (board TEXT, tile TEXT, bucket BIGINT, at BIGINT NOT NULL, value DOUBLE PRECISION NOT NULL, PRIMARY KEY (board, tile, bucket));`

func database(t *testing.T) string {
	t.Helper()
	url := pgtest.URL(t)
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, tileTables); err != nil {
		t.Fatal(err)
	}
	return url
}

// notices collects what a replica was told.
type notices struct {
	mu  sync.Mutex
	got []Notice
}

func (n *notices) add(x Notice) { n.mu.Lock(); n.got = append(n.got, x); n.mu.Unlock() }

func (n *notices) find(f func(Notice) bool) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, x := range n.got {
		if f(x) {
			return true
		}
	}
	return false
}

func start(t *testing.T, url, id string, n *notices) *Replica {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	r := New(Options{Conn: cfg, id: id, ttl: 1200 * time.Millisecond, OnNotice: n.add})
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	runtest.Eventually(t, 20*time.Second, what, func() (bool, string) { return f(), "" })
}

func holds(r *Replica, key string) bool { _, ok := r.Hold(key); return ok }

// Two replicas never hold one lease together; the one left takes what the
// other released; only the holder's writes land, and the other is told.
func TestLeasesAndNotices(t *testing.T) {
	url := database(t)
	var na, nb notices
	a := start(t, url, "a", &na)
	b := start(t, url, "b", &nb)
	keys := []string{"q1", "q2", "q3"}
	a.Want(keys)
	eventually(t, "a to hold every lease", func() bool { return a.Held() == 3 })
	b.Want(keys)
	stop := make(chan struct{})
	var both sync.WaitGroup
	var overlap bool
	both.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, k := range keys {
				if holds(a, k) && holds(b, k) {
					overlap = true
				}
			}
			time.Sleep(time.Millisecond)
		}
	})
	time.Sleep(1500 * time.Millisecond) // more than a TTL of renewals
	if b.Held() != 0 {
		t.Errorf("b holds %d leases a renews", b.Held())
	}

	// The holder's write lands and b hears of it; b's write is refused.
	v := 42.0
	st := board.TileState{Board: "ops", Tile: "rps", Result: board.Result{Value: &v}, UpdatedAt: time.Now(), Status: board.StatusOK}
	if err := a.SaveTiles(context.Background(), "q1", []board.TileState{st}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b to hear of ops/rps", func() bool {
		return nb.find(func(n Notice) bool {
			return len(n.Tiles) == 1 && n.Tiles[0] == [2]string{"ops", "rps"} && n.From == "a"
		})
	})
	if na.find(func(n Notice) bool { return n.From == "a" }) {
		t.Error("a was handed its own notice")
	}
	got, err := b.LoadTiles(context.Background(), []board.TileRef{{Board: "ops", Tile: "rps"}})
	if err != nil || len(got) != 1 || got[0].Value == nil || *got[0].Value != 42 {
		t.Fatalf("b read %+v, %v; want the value 42", got, err)
	}
	v2 := 7.0
	st.Value = &v2
	if err := b.SaveTiles(context.Background(), "q1", []board.TileState{st}); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("a write without the lease: %v, want ErrLeaseLost", err)
	}
	got, _ = a.LoadTiles(context.Background(), nil)
	if len(got) != 1 || *got[0].Value != 42 {
		t.Fatalf("stored %+v after a refused write; want 42 kept", got)
	}

	// a goes away: b takes every query, and a's context for them ended.
	ctx, _ := a.Hold("q2")
	a.Close()
	if ctx.Err() == nil {
		t.Error("a's lease context still open after Close")
	}
	eventually(t, "b to take every lease", func() bool { return b.Held() == 3 })
	close(stop)
	both.Wait()
	if overlap {
		t.Error("a and b held one lease at the same time")
	}

	// A notice too big for NOTIFY becomes "reload everything".
	many := make([]board.TileState, 400)
	for i := range many {
		many[i] = board.TileState{Board: "ops", Tile: strings.Repeat("x", 20) + string(rune('a'+i%26)) + strings.Repeat("y", i%7), UpdatedAt: time.Now()}
	}
	var na2 notices
	start(t, url, "c", &na2)
	eventually(t, "c to listen", func() bool { return na2.find(func(n Notice) bool { return n.All && n.From == "" }) })
	if err := b.SaveTiles(context.Background(), "q3", many); err != nil {
		t.Fatal(err)
	}
	eventually(t, "c to be told to reload everything", func() bool {
		return na2.find(func(n Notice) bool { return n.All && n.From == "b" })
	})
}

// Without PostgreSQL a replica drops its leases at once (its poll stops),
// then takes them back and reloads everything once PostgreSQL returns.
func TestLosingPostgreSQL(t *testing.T) {
	url := database(t)
	var n notices
	a := start(t, url, "a", &n)
	a.Want([]string{"q"})
	eventually(t, "a to hold q", func() bool { return holds(a, "q") })
	ctx, _ := a.Hold("q")
	eventually(t, "the first reload", func() bool { return n.find(func(x Notice) bool { return x.All }) })
	n.mu.Lock()
	n.got = nil
	n.mu.Unlock()
	err := pgtest.Shared(t).Restart(func() {
		eventually(t, "a to drop q while PostgreSQL is down", func() bool { return ctx.Err() != nil && !holds(a, "q") })
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "a to hold q again", func() bool { return holds(a, "q") })
	eventually(t, "a reload after reconnecting", func() bool { return n.find(func(x Notice) bool { return x.All }) })
}

// A write after Close (a webhook or a poll finishing while the app shuts
// down: Run closes the replica first so its leases go at once) fails and
// leaves no connection open behind the closed replica.
func TestNoConnectionAfterClose(t *testing.T) {
	url := database(t)
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["application_name"] = "wb-closed-replica"
	r := New(Options{Conn: cfg, id: "closed", ttl: 1200 * time.Millisecond})
	ctx := context.Background()
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.Announce(ctx, "fourkeys"); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if err := r.Announce(ctx, "alerts:events"); err == nil {
		t.Error("Announce after Close succeeded")
	}
	st := board.TileState{Board: "b", Tile: "t", UpdatedAt: time.Now()}
	if err := r.SaveTiles(ctx, "k", []board.TileState{st}); err == nil {
		t.Error("SaveTiles after Close succeeded")
	}
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	// A backend leaves pg_stat_activity a moment after its client closed
	// the connection: wait for that, a while; a connection left open stays.
	runtest.Eventually(t, 10*time.Second, "no connection of the closed replica open", func() (bool, string) {
		var open int
		if err := c.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'wb-closed-replica'`).Scan(&open); err != nil {
			t.Fatal(err)
		}
		return open == 0, fmt.Sprintf("%d still open", open)
	})
}

// A replica's saved values land in the store's tile history, as the store's
// own SaveTiles keeps it: the first value of a bucket, at the data's time
// when that is earlier than the poll's, older buckets pruned; a NaN is not
// a value.
func TestSaveTilesWritesTheStoresHistory(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	s, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n notices
	r := start(t, url, "a", &n)
	r.Want([]string{"q"})
	eventually(t, "a to hold q", func() bool { return holds(r, "q") })
	save := func(polled, data time.Time, v float64) {
		t.Helper()
		st := board.TileState{Board: "ops", Tile: "rps", Result: board.Result{Value: &v, At: data}, UpdatedAt: polled, Status: board.StatusOK}
		if err := r.SaveTiles(ctx, "q", []board.TileState{st}); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Now().Truncate(store.HistoryStep).Add(-time.Hour)
	save(t0.Add(2*time.Minute), t0.Add(time.Minute), 1) // recorded at the data's time
	save(t0.Add(3*time.Minute), time.Time{}, 2)         // same bucket: not recorded
	save(t0.Add(store.HistoryStep), time.Time{}, math.NaN())
	for _, c := range []struct {
		at   time.Time
		want float64
		ok   bool
		t    time.Time
	}{{t0, 1, true, t0.Add(time.Minute)}, {t0.Add(store.HistoryStep), 1, true, t0.Add(time.Minute)}, {t0.Add(3 * store.HistoryStep), 0, false, time.Time{}}} {
		p, ok, err := s.ValueAt(ctx, "ops", "rps", c.at)
		if err != nil || ok != c.ok || ok && (p.V != c.want || !p.T.Equal(c.t)) {
			t.Errorf("value at %s = %+v, %v, %v; want %v at %s (%v)", c.at, p, ok, err, c.want, c.t, c.ok)
		}
	}
	save(t0.Add(store.HistoryKeep+time.Hour), time.Time{}, 5)
	var rows int
	if err := s.DB.QueryRowContext(ctx, `SELECT count(*) FROM tile_history WHERE board = 'ops' AND tile = 'rps'`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 1 {
		t.Errorf("%d history rows after a value %s later, want 1 (older ones pruned)", rows, store.HistoryKeep)
	}
}
