// Package poller is where data comes in: it runs one schedule per distinct
// query, shared by every tile and board that asks it, and hands each result to
// a sink. Sub-packages implement Source for each backend (demo, prom, gcm,
// alertmanager, github, gitlog).
//
// The poller never renders or stores anything itself, and its cost never
// depends on how many screens are watching.
package poller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/wallboard/wallboard/board"
)

// Source fetches the data for one query. Implementations must be safe for
// concurrent use (different queries poll in parallel) and must return when
// ctx is done.
type Source interface {
	Fetch(ctx context.Context, q board.Query) (board.Result, error)
}

// RetryAfterError is implemented by errors that say when to try again (HTTP
// 429/403 with Retry-After, gRPC RESOURCE_EXHAUSTED); the poller waits at
// least that long.
type RetryAfterError interface {
	error
	RetryAfter() time.Duration
}

// Leases tell the scheduler which queries this process may poll now. When
// several replicas share one PostgreSQL, only the holder of a query's lease
// polls it, so backend calls stay flat in the number of replicas. A scheduler
// without Leases (SQLite, one process) holds every lease.
type Leases interface {
	// Want says which jobs this scheduler runs (by Job.Key), so the lease
	// keeper contends for those and lets go of the others.
	Want(keys []string)
	// Hold reports whether this process holds the lease of the job keyed
	// key, with a context that ends the moment it no longer does (lease
	// lost, taken or its renewal late): the poll in flight is cancelled
	// with it, and its result is dropped.
	Hold(key string) (context.Context, bool)
}

// Job is one distinct query and the tiles that show its result.
type Job struct {
	Key      string
	Query    board.Query
	source   Source
	interval time.Duration
	timeout  time.Duration
	Tiles    []board.TileRef
	// Alerts: a tile of the job shows alerts (an alerts or hygiene tile),
	// so its outcome goes through package alerts before the tiles get it.
	Alerts bool
}

// Sink receives every poll outcome: res on success, err on failure.
type Sink func(job *Job, res board.Result, err error, took time.Duration)

// Jobs groups the tiles of cfg into one job per distinct query. A query shared
// by tiles with different intervals is polled at the shortest of them.
func Jobs(cfg *board.Config, sources map[string]Source) ([]*Job, error) {
	byKey := map[string]*Job{}
	timeouts := map[string]time.Duration{}
	for _, s := range cfg.Sources {
		timeouts[s.ID] = s.Timeout
	}
	for _, b := range cfg.Boards {
		for _, t := range b.Tiles {
			src, ok := sources[t.Source]
			if !ok {
				return nil, fmt.Errorf("tile %s/%s: source %q is not running", b.ID, t.ID, t.Source)
			}
			q, err := board.QueryOf(t)
			if err != nil {
				return nil, fmt.Errorf("tile %s/%s: %w", b.ID, t.ID, err)
			}
			interval := t.Interval
			key := q.Key()
			j, ok := byKey[key]
			if !ok {
				j = &Job{Key: key, Query: q, source: src, interval: interval, timeout: timeouts[t.Source]}
				byKey[key] = j
			}
			j.interval = min(j.interval, interval)
			j.Tiles = append(j.Tiles, board.TileRef{Board: b.ID, Tile: t.ID})
			j.Alerts = j.Alerts || t.Kind == board.KindAlerts || t.Kind == board.KindHygiene
		}
	}
	jobs := make([]*Job, 0, len(byKey))
	for _, j := range byKey {
		if j.timeout <= 0 || j.timeout > j.interval {
			// A poll never outlives its interval, so at most one is in flight.
			j.timeout = min(max(j.timeout, time.Second), j.interval)
		}
		jobs = append(jobs, j)
	}
	sort.Slice(jobs, func(a, b int) bool { return jobs[a].Key < jobs[b].Key })
	return jobs, nil
}

// Scheduler polls its jobs until its context ends.
type Scheduler struct {
	jobs   []*Job
	sink   Sink
	log    *slog.Logger
	maxGap time.Duration

	// kickGap is the least time between the start of a poll and a poll a
	// kick asks for: a burst of webhook deliveries refreshes a query once
	// per gap, never once per delivery, so it cannot spend the source's
	// request budget. A kick sooner is deferred to the gap's end, never lost.
	kickGap time.Duration

	// leases, when set, gate every poll (see Leases).
	leases Leases

	// wake, when set, kicks the jobs of wakeSources at each receive (see
	// WakeOn).
	wake        <-chan struct{}
	wakeSources []string

	mu       sync.Mutex
	kicks    map[string][]chan struct{} // source id -> each job's kick channel
	jobKicks map[*Job]chan struct{}     // job -> its kick channel
}

// kickGap is the scheduler's least time between a poll's start and a poll
// asked for by a kick.
const kickGap = 3 * time.Second

// New makes a scheduler; Run starts it.
func New(jobs []*Job, sink Sink, log *slog.Logger) *Scheduler {
	s := &Scheduler{jobs: jobs, sink: sink, log: log, maxGap: 5 * time.Minute, kickGap: kickGap,
		kicks: map[string][]chan struct{}{}, jobKicks: map[*Job]chan struct{}{}}
	return s
}

// SetLeases makes every poll wait for this process to hold its job's lease,
// and tells l at once which jobs this scheduler runs; call it before Run.
// Telling it here rather than in Run keeps the order of the calls: after
// two quick reloads, the second config's jobs are the ones wanted.
func (s *Scheduler) SetLeases(l Leases) {
	s.leases = l
	keys := make([]string, len(s.jobs))
	for i, j := range s.jobs {
		keys[i] = j.Key
	}
	l.Want(keys)
}

// WakeOn kicks every job of the sources ids (Kick) each time wake
// receives, while the scheduler runs: a store's signal that webhook
// deliveries stored events those sources' tiles compute from. Call it
// before Run.
func (s *Scheduler) WakeOn(wake <-chan struct{}, ids []string) {
	s.wake, s.wakeSources = wake, ids
}

// Run polls every job on its own schedule and returns when ctx is done and
// every poll has returned.
func (s *Scheduler) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, j := range s.jobs {
		kick := make(chan struct{}, 1)
		s.mu.Lock()
		s.kicks[j.Query.Source] = append(s.kicks[j.Query.Source], kick)
		s.jobKicks[j] = kick
		s.mu.Unlock()
		wg.Go(func() { s.loop(ctx, j, kick) })
	}
	if s.wake != nil && len(s.wakeSources) > 0 {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-s.wake:
				}
				for _, id := range s.wakeSources {
					s.Kick(id)
				}
			}
		})
	}
	wg.Wait()
}

// Kick asks every job of a source to poll now (after a webhook stored new
// events). It never blocks; kicks that arrive during a poll fold into one.
func (s *Scheduler) Kick(sourceID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.kicks[sourceID] {
		select {
		case k <- struct{}{}:
		default:
		}
	}
}

// KickJob asks the job keyed key to poll now (this process just took its
// lease). It never blocks.
func (s *Scheduler) KickJob(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for j, k := range s.jobKicks {
		if j.Key != key {
			continue
		}
		select {
		case k <- struct{}{}:
		default:
		}
	}
}

// KickTiles asks the jobs showing any of refs to poll now (after a webhook
// stored events those tiles show), and no other job: a delivery refreshes
// the tiles it concerns, never every query of their source. It never blocks;
// kicks fold into one poll per kickGap.
func (s *Scheduler) KickTiles(refs []board.TileRef) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for j, k := range s.jobKicks {
		if !slices.ContainsFunc(j.Tiles, func(r board.TileRef) bool { return slices.Contains(refs, r) }) {
			continue
		}
		select {
		case k <- struct{}{}:
		default:
		}
	}
}

func (s *Scheduler) loop(ctx context.Context, j *Job, kick <-chan struct{}) {
	// Spread first polls over a second so a large config does not hit its
	// backends all at once; the first paint comes from the store meanwhile.
	wait := time.Duration(rand.Int64N(int64(time.Second)))
	failures := 0
	timer := time.NewTimer(wait)
	defer timer.Stop()
	next := time.Now().Add(wait) // when the timer fires
	var last time.Time           // start of the last poll
	reset := func(d time.Duration) {
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(d)
		next = time.Now().Add(d)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-kick:
			if due := last.Add(s.kickGap); time.Now().Before(due) {
				// Too soon after the last poll: poll when the gap ends,
				// unless the schedule comes sooner anyway.
				if due.Before(next) {
					reset(time.Until(due))
				}
				continue
			}
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		}
		held := ctx
		if s.leases != nil {
			var ok bool
			if held, ok = s.leases.Hold(j.Key); !ok {
				// Another replica polls this query: look again at the
				// next tick (taking the lease kicks the job at once).
				reset(NextDelay(j.interval, 0, nil, s.maxGap))
				continue
			}
		}
		last = time.Now()
		err := s.poll(ctx, held, j)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			failures = 0
		} else {
			failures++
		}
		reset(NextDelay(j.interval, failures, err, s.maxGap))
	}
}

// poll runs one poll of j; held is the context of its lease (ctx itself
// without Leases). A poll whose lease ends while it runs is cancelled and
// its result never reaches the sink: the new holder's does.
func (s *Scheduler) poll(ctx, held context.Context, j *Job) error {
	pctx, cancel := context.WithTimeout(ctx, j.timeout)
	defer cancel()
	if held != ctx {
		stop := context.AfterFunc(held, cancel)
		defer stop()
	}
	start := time.Now()
	res, err := j.source.Fetch(pctx, j.Query)
	took := time.Since(start)
	if ctx.Err() != nil {
		return ctx.Err() // shutting down: not a source failure
	}
	if held.Err() != nil {
		return nil // lease lost: not a source failure either
	}
	if err != nil && errors.Is(pctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("no answer within %s", j.timeout)
	}
	s.sink(j, res, err, took)
	return err
}

// recoveryGrace bounds the back-off: a failing query is polled again at
// most one interval plus recoveryGrace after its last poll, so a tile shows
// its source's recovery within that long (unless the source itself asked for
// a longer wait with Retry-After).
const recoveryGrace = 30 * time.Second

// NextDelay is the wait before the next poll: the interval with ±10 % jitter
// after a success; after n consecutive failures, the interval doubled n-1
// times, capped at interval + recoveryGrace (and at maxGap when that is
// shorter, though never below the interval), jitter included; never less
// than a Retry-After the source was given (jittered above it, never below).
func NextDelay(interval time.Duration, failures int, err error, maxGap time.Duration) time.Duration {
	d := interval
	limit := interval
	if failures > 0 {
		limit = min(max(maxGap, interval), interval+recoveryGrace)
		for i := 1; i < failures && d < limit; i++ {
			d *= 2
		}
		d = min(d, limit)
	}
	jitter := time.Duration(rand.Int64N(int64(d)/5+1)) - d/10
	var ra RetryAfterError
	if errors.As(err, &ra) && ra.RetryAfter() > d+jitter {
		// A server's Retry-After is a floor: spread retries above it only.
		ra := ra.RetryAfter()
		return ra + time.Duration(rand.Int64N(int64(ra)/10+1))
	}
	if failures > 0 && d+jitter > limit {
		// Jitter spreads retries below the bound, never past it.
		return limit - time.Duration(rand.Int64N(int64(d)/10+1))
	}
	return d + jitter
}
