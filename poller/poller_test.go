package poller

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wallboard/wallboard/app/apptest/runtest"
	"github.com/wallboard/wallboard/board"
)

type countingSource struct {
	calls    atomic.Int64
	inFlight atomic.Int64
	maxIn    atomic.Int64
	fail     atomic.Bool
	block    chan struct{}
}

func (s *countingSource) Fetch(ctx context.Context, q board.Query) (board.Result, error) {
	s.calls.Add(1)
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		m := s.maxIn.Load()
		if n <= m || s.maxIn.CompareAndSwap(m, n) {
			break
		}
	}
	if s.block != nil {
		select {
		case <-s.block:
		case <-ctx.Done():
			return board.Result{}, ctx.Err()
		}
	}
	if s.fail.Load() {
		return board.Result{}, errors.New("boom")
	}
	return board.Result{Value: board.F(1)}, nil
}

const sharedConfig = `
sources:
  - {id: a, kind: demo}
  - {id: b, kind: demo, timeout: 30s}
boards:
  - id: one
    tiles:
      - {id: t1, kind: stat, source: a, query: requests, interval: 10s}
      - {id: t2, kind: gauge, source: a, query: requests, interval: 5s}
      - {id: t3, kind: timeseries, source: a, query: requests}
      - {id: t4, kind: stat, source: b, query: requests}
  - id: two
    tiles:
      - {id: t1, kind: stat, source: a, query: requests, interval: 1m}
`

func TestJobsShareQueries(t *testing.T) {
	cfg, err := board.Parse("b.yaml", []byte(sharedConfig), nil)
	if err != nil {
		t.Fatal(err)
	}
	src := &countingSource{}
	jobs, err := Jobs(cfg, map[string]Source{"a": src, "b": src})
	if err != nil {
		t.Fatal(err)
	}
	// requests@a (t1, t2, two/t1), requests@a over 1h (t3), requests@b (t4).
	if len(jobs) != 3 {
		t.Fatalf("jobs = %d, want 3", len(jobs))
	}
	for _, j := range jobs {
		switch {
		case j.Query.Source == "a" && j.Query.Range == 0:
			if len(j.Tiles) != 3 || j.interval != 5*time.Second {
				t.Errorf("shared job: %d tiles every %v, want 3 every 5s", len(j.Tiles), j.interval)
			}
			if j.timeout != 5*time.Second {
				t.Errorf("timeout %v must be capped at the interval", j.timeout)
			}
		case j.Query.Source == "b":
			if j.timeout != 30*time.Second || j.interval != 30*time.Second {
				t.Errorf("b job: interval %v timeout %v", j.interval, j.timeout)
			}
		}
	}
}

func TestNextDelay(t *testing.T) {
	within := func(d, want time.Duration) bool { return d >= want*9/10 && d <= want*11/10 }
	for range 100 {
		if d := NextDelay(10*time.Second, 0, nil, 5*time.Minute); !within(d, 10*time.Second) {
			t.Fatalf("success delay %v not within ±10%% of 10s", d)
		}
		if d := NextDelay(10*time.Second, 3, errors.New("x"), 5*time.Minute); !within(d, 40*time.Second) {
			t.Fatalf("3rd failure delay %v, want about 40s", d)
		}
		if d := NextDelay(10*time.Second, 30, errors.New("x"), 5*time.Minute); !within(d, 40*time.Second) || d > 40*time.Second {
			t.Fatalf("capped delay %v, want about 40s (interval + recoveryGrace) and never more", d)
		}
		if d := NextDelay(10*time.Minute, 4, errors.New("x"), 5*time.Minute); !within(d, 10*time.Minute) {
			t.Fatalf("an interval above the cap is the cap: %v", d)
		}
		if d := NextDelay(10*time.Second, 1, &RetryError{After: 2 * time.Minute, Err: errors.New("rate limited")}, 5*time.Minute); d < 2*time.Minute || d > 2*time.Minute*11/10 {
			t.Fatalf("Retry-After of 2m gave %v: never less, at most 10%% more", d)
		}
	}
}

func TestSchedulerOneInFlightAndKick(t *testing.T) {
	src := &countingSource{block: make(chan struct{})}
	job := &Job{Key: "k", Query: board.Query{Source: "a"}, source: src, interval: time.Hour, timeout: time.Hour,
		Tiles: []board.TileRef{{Board: "b", Tile: "t"}}}
	var mu sync.Mutex
	var got []error
	s := New([]*Job{job}, func(j *Job, res board.Result, err error, _ time.Duration) {
		mu.Lock()
		got = append(got, err)
		mu.Unlock()
	}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	waitFor(t, func() bool { return src.calls.Load() == 1 })
	// Kicks while a poll is in flight fold into one follow-up poll.
	for range 5 {
		s.Kick("a")
	}
	src.block <- struct{}{}
	waitFor(t, func() bool { return src.calls.Load() == 2 })
	src.block <- struct{}{}
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 2 })
	if src.maxIn.Load() != 1 {
		t.Errorf("max polls in flight = %d, want 1", src.maxIn.Load())
	}
	s.Kick("other-source") // no job: no effect, no block
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if src.calls.Load() != 2 {
		t.Errorf("calls = %d, want 2", src.calls.Load())
	}
}

func TestSchedulerTimeoutMessage(t *testing.T) {
	src := &countingSource{block: make(chan struct{})}
	job := &Job{Key: "k", Query: board.Query{Source: "a"}, source: src, interval: time.Hour, timeout: 50 * time.Millisecond}
	errs := make(chan error, 1)
	s := New([]*Job{job}, func(j *Job, res board.Result, err error, _ time.Duration) { errs <- err }, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	select {
	case err := <-errs:
		if err == nil || err.Error() != "no answer within 50ms" {
			t.Fatalf("err = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no poll outcome")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	runtest.Eventually(t, 10*time.Second, "condition", func() (bool, string) { return cond(), "" })
}

// TestBackoffRecoversWithinIntervalPlusGrace pins the recovery promise: after
// any number of failures the next poll is at most one interval plus
// recoveryGrace away, so a tile recovers within that long after its source
// does (a Retry-After the source was given is the only thing that waits longer).
func TestBackoffRecoversWithinIntervalPlusGrace(t *testing.T) {
	for _, interval := range []time.Duration{time.Second, 10 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute, time.Hour} {
		limit := interval + 30*time.Second
		for failures := 1; failures <= 30; failures++ {
			for range 20 {
				if d := NextDelay(interval, failures, errors.New("connection refused"), 5*time.Minute); d > limit {
					t.Fatalf("interval %s, %d failures: next poll in %s, want at most %s (one interval + 30 s)", interval, failures, d, limit)
				}
			}
		}
	}
	// Failures still back off (less load on a struggling source), within the bound.
	if d := NextDelay(10*time.Second, 3, errors.New("x"), 5*time.Minute); d < 20*time.Second {
		t.Errorf("3rd failure at 10 s interval: %s, want a back-off above the interval", d)
	}
}

// Issue 12 point 9: KickTiles polls the jobs of those tiles only, and a burst
// of kicks makes at most one poll per kick gap, not one per kick.
func TestKickTilesOnlyTheirJobsAndFolds(t *testing.T) {
	alerts, metrics := &countingSource{}, &countingSource{}
	ja := &Job{Key: "alerts", Query: board.Query{Source: "gcp"}, source: alerts, interval: time.Hour, timeout: time.Second,
		Tiles: []board.TileRef{{Board: "b", Tile: "alerts"}}}
	jm := &Job{Key: "metric", Query: board.Query{Source: "gcp"}, source: metrics, interval: time.Hour, timeout: time.Second,
		Tiles: []board.TileRef{{Board: "b", Tile: "rps"}}}
	s := New([]*Job{ja, jm}, func(*Job, board.Result, error, time.Duration) {}, nil)
	s.kickGap = 300 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	waitFor(t, func() bool { return alerts.calls.Load() == 1 && metrics.calls.Load() == 1 })
	time.Sleep(s.kickGap) // the first poll is past the gap: the next kick polls at once
	s.KickTiles([]board.TileRef{{Board: "b", Tile: "alerts"}})
	waitFor(t, func() bool { return alerts.calls.Load() == 2 })
	// A burst right after: deferred to the gap's end, folded into one poll.
	for range 50 {
		s.KickTiles([]board.TileRef{{Board: "b", Tile: "alerts"}})
	}
	waitFor(t, func() bool { return alerts.calls.Load() == 3 })
	time.Sleep(3 * s.kickGap)
	if n := alerts.calls.Load(); n != 3 {
		t.Errorf("alert job polled %d times for 1 + 50 kicks, want 3 (first poll, one kick, the folded burst)", n)
	}
	if n := metrics.calls.Load(); n != 1 {
		t.Errorf("metric job polled %d times, want 1: kicks of other tiles are not its", n)
	}
}

// fakeLeases holds one lease that the test gives and takes.
type fakeLeases struct {
	mu     sync.Mutex
	want   []string
	ctx    context.Context
	cancel context.CancelFunc
}

func (l *fakeLeases) Want(keys []string) { l.mu.Lock(); l.want = keys; l.mu.Unlock() }

func (l *fakeLeases) Hold(string) (context.Context, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ctx, l.ctx != nil
}

func (l *fakeLeases) give() {
	l.mu.Lock()
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.mu.Unlock()
}

func (l *fakeLeases) take() {
	l.mu.Lock()
	l.cancel()
	l.ctx = nil
	l.mu.Unlock()
}

// A replica polls only while it holds the query's lease; losing it cancels
// the poll in flight and its result never reaches the sink.
func TestSchedulerPollsOnlyWithTheLease(t *testing.T) {
	src := &countingSource{block: make(chan struct{})}
	job := &Job{Key: "k", Query: board.Query{Source: "a"}, source: src, interval: 20 * time.Millisecond, timeout: time.Hour}
	var sunk atomic.Int64
	s := New([]*Job{job}, func(*Job, board.Result, error, time.Duration) { sunk.Add(1) }, nil)
	leases := &fakeLeases{}
	s.SetLeases(leases)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	waitFor(t, func() bool { leases.mu.Lock(); defer leases.mu.Unlock(); return len(leases.want) == 1 })
	time.Sleep(200 * time.Millisecond) // ten intervals without the lease
	if n := src.calls.Load(); n != 0 {
		t.Fatalf("polled %d times without the lease", n)
	}
	leases.give()
	s.KickJob("k")
	waitFor(t, func() bool { return src.inFlight.Load() == 1 })
	leases.take() // lost while the poll is in flight
	waitFor(t, func() bool { return src.inFlight.Load() == 0 })
	time.Sleep(200 * time.Millisecond)
	if n := sunk.Load(); n != 0 {
		t.Errorf("%d results reached the sink after the lease was lost", n)
	}
	if n := src.calls.Load(); n != 1 {
		t.Errorf("polled %d times, want 1 (only while holding the lease)", n)
	}
	leases.give()
	go func() {
		for range 3 {
			select {
			case src.block <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()
	waitFor(t, func() bool { return sunk.Load() >= 2 })
}

// After two quick reloads the lease keeper must contend for the second
// config's queries, whichever scheduler's goroutine runs first: the jobs
// are wanted when the leases are set, not when Run gets scheduled.
func TestTheLastSchedulerGivenLeasesIsWanted(t *testing.T) {
	src := &countingSource{}
	old := New([]*Job{{Key: "old", Query: board.Query{Source: "a"}, source: src, interval: time.Hour, timeout: time.Second}}, func(*Job, board.Result, error, time.Duration) {}, nil)
	cur := New([]*Job{{Key: "new", Query: board.Query{Source: "a"}, source: src, interval: time.Hour, timeout: time.Second}}, func(*Job, board.Result, error, time.Duration) {}, nil)
	leases := &fakeLeases{}
	old.SetLeases(leases)
	cur.SetLeases(leases)
	// The old world's goroutine is scheduled late, after the new one's.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { cur.Run(ctx) })
	time.Sleep(50 * time.Millisecond)
	wg.Go(func() { old.Run(ctx) })
	time.Sleep(50 * time.Millisecond)
	cancel()
	wg.Wait()
	leases.mu.Lock()
	defer leases.mu.Unlock()
	if !slices.Equal(leases.want, []string{"new"}) {
		t.Fatalf("wanted %v, want [new]", leases.want)
	}
}

// A store's signal that webhook deliveries stored events polls the jobs of
// the sources named (the Four Keys ones) at once, and no other job.
func TestWakeOnPollsTheNamedSources(t *testing.T) {
	keys, other := &countingSource{}, &countingSource{}
	jobs := []*Job{
		{Key: "keys", Query: board.Query{Source: "gh"}, source: keys, interval: time.Hour, timeout: time.Second},
		{Key: "cpu", Query: board.Query{Source: "prom"}, source: other, interval: time.Hour, timeout: time.Second},
	}
	s := New(jobs, func(*Job, board.Result, error, time.Duration) {}, nil)
	s.kickGap = 0
	wake := make(chan struct{}, 1)
	s.WakeOn(wake, []string{"gh"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	waitFor(t, func() bool { return keys.calls.Load() == 1 && other.calls.Load() == 1 }) // the first polls
	for i := range 3 {
		wake <- struct{}{}
		waitFor(t, func() bool { return keys.calls.Load() == int64(2+i) })
	}
	time.Sleep(100 * time.Millisecond)
	if n := other.calls.Load(); n != 1 {
		t.Fatalf("the other source was polled %d times, want 1 (a wake is not its)", n)
	}
}
