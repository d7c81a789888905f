package replicas

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// (a) Deliveries to replica A reach the screens of B and C: the critical
// alert takes over their screens. The latency of each is logged (the p99
// figure is measured by make bench, not asserted here).
func TestDeliveryToOneReplicaReachesEveryScreen(t *testing.T) {
	be := newBackend(t)
	g := newGroup(t, be)
	a, b, c := g.start(nil), g.start(nil), g.start(nil)
	var screens []*screen
	for range 5 {
		screens = append(screens, openScreen(t, b, nil), openScreen(t, c, nil))
	}
	var sent []time.Time
	const n = 10
	for i := range n {
		sent = append(sent, time.Now())
		ok, err := postAlert(a, fmt.Sprintf("a%d", i), fmt.Sprintf("Disk full on db-%d", i))
		if !ok || err != nil {
			t.Fatalf("delivery %d to A not acknowledged: %v", i, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	var lat []time.Duration
	for i := range n {
		want := fmt.Sprintf("Disk full on db-%d", i)
		eventually(t, 30*time.Second, want+" on every screen of B and C", func() bool {
			for _, s := range screens {
				if !s.has(want) {
					return false
				}
			}
			return true
		})
		for _, s := range screens {
			lat = append(lat, s.first(want).Sub(sent[i]))
		}
	}
	slices.Sort(lat)
	t.Logf("delivery to A -> screens of B and C: %d arrivals, p50 %s, p99 %s, max %s",
		len(lat), lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1])
	// The alert tile of every replica lists them too (polled by the lease
	// holder, whichever it is, after A's commit was announced).
	for _, p := range []*proc{a, b, c} {
		eventually(t, 30*time.Second, "the alerts tile of "+p.name+" listing all ten", func() bool {
			bj, err := getBoard(p)
			if err != nil {
				return false
			}
			for _, tile := range bj.Tiles {
				if tile.ID == "alerts" {
					return len(tile.Rows) == n
				}
			}
			return false
		})
	}
}

// (b) SIGKILL the replica that polls: another takes its queries, the
// backend sees polls resume, and no tile (5 s interval, 15 s freshness)
// goes stale on the replicas left.
func TestFailoverAfterSIGKILL(t *testing.T) {
	be := newBackend(t)
	g := newGroup(t, be)
	reps := []*proc{g.start(nil), g.start(nil), g.start(nil)}
	h := g.holder(reps...)
	var left []*proc
	for _, p := range reps {
		if p != h {
			left = append(left, p)
		}
	}
	// Every tile fresh on the others before the kill.
	for _, p := range left {
		eventually(t, 30*time.Second, "fresh values on "+p.name, func() bool {
			bj, err := getBoard(p)
			if err != nil {
				return false
			}
			for _, tile := range bj.Tiles {
				if (tile.ID == "rps" || tile.ID == "errs") && (tile.Value == nil || tile.Stale) {
					return false
				}
			}
			return true
		})
	}
	h.kill()
	killed := time.Now()
	var stale []string
	var mu sync.Mutex
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, p := range left {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(200 * time.Millisecond):
				}
				bj, err := getBoard(p)
				if err != nil {
					continue
				}
				for _, tile := range bj.Tiles {
					if tile.Stale && (tile.ID == "rps" || tile.ID == "errs") {
						mu.Lock()
						stale = append(stale, fmt.Sprintf("%s on %s at +%s", tile.ID, p.name, time.Since(killed).Round(100*time.Millisecond)))
						mu.Unlock()
					}
				}
			}
		})
	}
	// Another replica takes both queries; the backend sees them polled again.
	next := g.holder(left...)
	eventually(t, 30*time.Second, "polls of both queries after the kill", func() bool { return be.since(killed) >= 2 })
	// Then two more rounds, watching every tile stay fresh.
	base := be.since(killed)
	eventually(t, 30*time.Second, "two more rounds of polls", func() bool { return be.since(killed) >= base+4 })
	close(stop)
	wg.Wait()
	if len(stale) > 0 {
		t.Errorf("tiles went stale after the holder was killed: %s", strings.Join(stale[:min(len(stale), 10)], "; "))
	}
	t.Logf("holder %s killed; %s took over; polls resumed", h.name, next.name)
}

// (c) Backend calls are flat in the number of replicas: the same window
// with one replica and with three sees the same number of polls.
func TestBackendCallsFlatInReplicas(t *testing.T) {
	count := func(n int) int {
		be := newBackend(t)
		g := newGroup(t, be)
		var reps []*proc
		for range n {
			reps = append(reps, g.start(nil))
		}
		g.holder(reps...)
		// Let the first, kicked polls pass, then count a window of six
		// intervals of both queries.
		time.Sleep(6 * time.Second)
		before := be.total()
		time.Sleep(30 * time.Second)
		got := be.total() - before
		for _, p := range reps {
			p.stop()
		}
		return got
	}
	one := count(1)
	three := count(3)
	t.Logf("backend calls in 30 s: 1 replica %d, 3 replicas %d", one, three)
	// Two queries every 5 s ±10 %: 12 calls; one poll of jitter per query
	// and window either way.
	if d := three - one; d > 2 || d < -2 {
		t.Errorf("backend calls with 3 replicas = %d, with 1 = %d: want equal (±2)", three, one)
	}
}

// (d) A screen that moves from A to B gets the full current state there:
// every tile, the alert delivered to A, the takeover.
func TestScreenMovingBetweenReplicasGetsFullState(t *testing.T) {
	be := newBackend(t)
	g := newGroup(t, be)
	a, b := g.start(nil), g.start(nil)
	if ok, err := postAlert(a, "m1", "Queue backlog growing"); !ok || err != nil {
		t.Fatalf("delivery to A: %v", err)
	}
	sa := openScreen(t, a, nil)
	eventually(t, 30*time.Second, "A's screen showing the alert and both values", func() bool {
		return sa.has("Queue backlog growing") && sa.has(`id="tile-ops-rps"`) && sa.has(`id="tile-ops-errs"`)
	})
	bj, err := getBoard(a)
	if err != nil {
		t.Fatal(err)
	}
	sa.c.Close()
	sb := openScreen(t, b, nil)
	eventually(t, 30*time.Second, "B's screen with every tile and the alert", func() bool {
		return sb.has(`id="tile-ops-rps"`) && sb.has(`id="tile-ops-errs"`) && sb.has(`id="tile-ops-alerts"`) && sb.has("Queue backlog growing")
	})
	// B's values are A's (or newer: the query is polled again meanwhile).
	bb, err := getBoard(b)
	if err != nil {
		t.Fatal(err)
	}
	for i, tile := range bj.Tiles {
		if tile.Value != nil && (bb.Tiles[i].Value == nil || *bb.Tiles[i].Value < *tile.Value) {
			t.Errorf("tile %s: B shows %v, A showed %v before", tile.ID, bb.Tiles[i].Value, *tile.Value)
		}
	}
}

// (e) A rolling restart of all three replicas (SIGTERM, start again, next)
// under 300 screens and a steady stream of deliveries: no acknowledged
// delivery is lost, and every screen whose replica went away is back, on
// another replica, with the full current state.
func TestRollingRestartUnder300Screens(t *testing.T) {
	be := newBackend(t)
	g := newGroup(t, be)
	reps := []*proc{g.start(nil), g.start(nil), g.start(nil)}
	type tv struct {
		on  int
		scr *screen
	}
	tvs := make([]*tv, 300)
	for i := range tvs {
		s, err := dialScreen(t, reps[i%3])
		if err != nil {
			t.Fatal(err)
		}
		tvs[i] = &tv{on: i % 3, scr: s}
	}
	full := func(s *screen) bool {
		return s.has(`id="tile-ops-rps"`) && s.has(`id="tile-ops-errs"`) && s.has(`id="tile-ops-alerts"`)
	}
	eventually(t, 60*time.Second, "300 screens with the full state", func() bool {
		for _, x := range tvs {
			if !full(x.scr) {
				return false
			}
		}
		return true
	})

	// Deliveries to every replica in turn while the restart goes on; one
	// to a replica that is down is simply not acknowledged.
	var mu sync.Mutex
	var acked []string
	down := make([]bool, 3)
	stop := make(chan struct{})
	var posting sync.WaitGroup
	posting.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			mu.Lock()
			p, skip := reps[i%3], down[i%3]
			mu.Unlock()
			if skip {
				continue
			}
			id := fmt.Sprintf("roll-%d", i)
			if ok, _ := postAlert(p, id, "Rolling "+id); ok {
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
			}
		}
	})

	var back []time.Duration
	moves := 0 // screens that had to move: 100, then 200, then 300
	for k, p := range reps {
		mu.Lock()
		down[k] = true
		mu.Unlock()
		gone := time.Now()
		p.stop()
		// Its screens lose their sockets and come back on the next replica.
		var wg sync.WaitGroup
		var bmu sync.Mutex
		for _, x := range tvs {
			if x.on != k {
				continue
			}
			moves++
			wg.Go(func() {
				if !waitUntil(30*time.Second, x.scr.closed.Load) {
					t.Errorf("the socket of a screen of stopped replica %s still open after 30 s", p.name)
					return
				}
				next := (k + 1) % 3
				var s *screen
				if !waitUntil(30*time.Second, func() bool {
					var err error
					s, err = dialScreen(t, reps[next])
					return err == nil
				}) {
					t.Errorf("a screen could not reconnect to %s within 30 s", reps[next].name)
					return
				}
				if !waitUntil(30*time.Second, func() bool { return full(s) }) {
					t.Errorf("a screen reconnected to %s without the full state after 30 s", reps[next].name)
					return
				}
				bmu.Lock()
				back = append(back, time.Since(gone))
				bmu.Unlock()
				x.on, x.scr = next, s
			})
		}
		wg.Wait()
		g.start(p)
		mu.Lock()
		down[k] = false
		mu.Unlock()
	}
	close(stop)
	posting.Wait()
	slices.Sort(back)
	t.Logf("rolling restart: %d screen moves, back with the full state p50 %s, p99 %s, max %s after their replica went away; %d deliveries acknowledged",
		len(back), back[len(back)/2], back[len(back)*99/100], back[len(back)-1], len(acked))
	if len(back) != moves || moves != 600 {
		t.Errorf("%d screens came back of %d that moved, want 600 (100, 200, 300)", len(back), moves)
	}
	if len(acked) == 0 {
		t.Fatal("no delivery acknowledged during the restart")
	}

	// Every acknowledged delivery is stored, and every screen shows the
	// last acknowledged one (the alerts tile of its replica lists it).
	conn, err := pgx.Connect(context.Background(), g.store)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(), `SELECT id FROM alerts WHERE state = 'open'`)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range acked {
		if !slices.Contains(stored, id) {
			t.Errorf("acknowledged delivery %s is not stored", id)
		}
	}
	last := "Rolling " + acked[len(acked)-1]
	eventually(t, 30*time.Second, "every screen showing the last acknowledged delivery", func() bool {
		for _, x := range tvs {
			if !x.scr.has(last) {
				return false
			}
		}
		return true
	})
}
