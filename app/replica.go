package app

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/replica"
	"github.com/wallboard/wallboard/web"
)

// Replicas: when the store is PostgreSQL, this process is one of several
// sharing it (package replica). Only the holder of a query's lease polls it
// and writes the result; every other replica reads the changed tiles when
// told and pushes them to its own screens. What one replica does after a
// webhook's commit or a fleet change, every other does when told (a step).

// Steps one replica announces for the others to run.
const (
	stepFourKeys = "fourkeys"     // a Four Keys event was stored: poll those sources
	stepAlerts   = "alerts:"      // + receiver: an alert delivery was stored
	stepFleet    = "fleet:"       // + web fleet step
	stepAll      = "*reload-all*" // internal: notices may have been missed
)

// startReplica joins the group of replicas sharing the store's PostgreSQL
// database (in Run, before the first world starts: each world's scheduler
// polls only the queries whose lease it holds, see leases).
func (a *App) startReplica(ctx context.Context, conn *pgx.ConnConfig) error {
	a.replica = replica.New(replica.Options{
		Conn: conn,
		Log:  a.log,
		OnAcquire: func(key string) {
			if s := a.scheduler(); s != nil {
				s.KickJob(key)
			}
		},
		OnNotice: a.onNotice,
	})
	if err := a.replica.Start(ctx); err != nil {
		return err
	}
	a.server.SaveResult(a.saveResult)
	a.server.OnFleetChange(func(step string) { a.announce(stepFleet + step) })
	return nil
}

// leases is what a world's scheduler asks before each poll: nil when this
// process runs alone (a nil *replica.Replica must not become a non-nil
// interface).
func (a *App) leases() poller.Leases {
	if a.replica == nil {
		return nil
	}
	return a.replica
}

// registerReplicaMetrics adds what /metrics says of replicas: whether this
// process runs as one, and how many leases (queries it polls) it holds.
func (a *App) registerReplicaMetrics() {
	a.replicaWrite, a.replicaApply = newReplicaTimings()
	a.metrics.Registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "wallboard_replica_mode",
			Help: "1 when this process is one of several replicas sharing PostgreSQL, 0 when it runs alone."},
			func() float64 {
				if a.replica != nil {
					return 1
				}
				return 0
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "wallboard_leases_held",
			Help: "Poll leases this replica holds: the queries it polls for every replica (0 when alone)."},
			func() float64 {
				if a.replica != nil {
					return float64(a.replica.Held())
				}
				return 0
			}),
		a.replicaWrite, a.replicaApply,
	)
}

// Replica timings (the PostgreSQL path's cost per update, make bench).
func newReplicaTimings() (write, apply prometheus.Histogram) {
	buckets := prometheus.ExponentialBuckets(0.0005, 2, 14) // 0.5 ms to 4 s
	write = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "wallboard_replica_write_seconds",
		Help: "Lease holder: time to write one poll's tiles to PostgreSQL under its lease and notify.", Buckets: buckets})
	apply = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "wallboard_replica_apply_seconds",
		Help: "Other replicas: time to read the tiles of one notice and hand them to the screens.", Buckets: buckets})
	return write, apply
}

// announce tells the other replicas to run step; a lost notice costs at
// most the next poll's delay, so a failure is only logged.
func (a *App) announce(step string) {
	if a.replica == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.replica.Announce(ctx, step); err != nil {
		a.log.Warn("telling the other replicas failed", "step", step, "error", err)
	}
}

// announceFourKeys tells the other replicas each time a webhook delivery
// stored Four Keys events here, until ctx ends: the holder of the polls of
// those tiles may be another replica (runStep kicks them there). Run ends
// ctx once the HTTP side has stopped; a delivery stored until then is
// announced at the end.
func (a *App) announceFourKeys(ctx context.Context) {
	stored, stop := a.store.WatchFourKeys()
	defer stop()
	for {
		select {
		case <-ctx.Done():
			select {
			case <-stored:
				a.announce(stepFourKeys)
			default:
			}
			return
		case <-stored:
		}
		a.announce(stepFourKeys)
	}
}

// kickFourKeys polls the sources whose tiles compute from the store's Four
// Keys events (only the lease holders' polls run) after another replica
// stored some (runStep); a delivery here wakes the scheduler itself
// (world.start).
func (a *App) kickFourKeys() {
	w := a.world.Load()
	if w.sched == nil {
		return
	}
	for _, id := range w.fourKeys {
		w.sched.Kick(id)
	}
}

// saveResult writes the states a poll of j produced, guarded by j's lease,
// so the other replicas show them; it runs in the poll's goroutine.
func (a *App) saveResult(j *poller.Job, states []board.TileState) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	err := a.replica.SaveTiles(ctx, j.Key, states)
	if err == nil && len(states) > 0 {
		a.replicaWrite.Observe(time.Since(start).Seconds())
	}
	if errors.Is(err, replica.ErrLeaseLost) {
		// Another replica polls this query now and writes its own result.
		return
	}
	a.saved(err, nil)
}

// onNotice applies what another replica did: tiles it polled, steps after
// its commits; everything after a reconnection. Notices come one at a time.
func (a *App) onNotice(n replica.Notice) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	var refs []board.TileRef // nil with All: every tile
	if !n.All {
		refs = n.Refs()
	}
	alertTiles := n.All
	if len(refs) > 0 || n.All {
		states, err := a.replica.LoadTiles(ctx, refs)
		if err != nil {
			a.log.Warn("reading tiles another replica polled", "error", err)
		}
		live := a.Live()
		now := time.Now()
		for _, st := range states {
			ref := board.TileRef{Board: st.Board, Tile: st.Tile}
			tc, _, ok := live.Tile(ref)
			if !ok {
				continue
			}
			if _, changed := live.Set(st, now); changed {
				a.server.PublishTile(ref, now)
				if tc.Kind == board.KindAlerts {
					alertTiles = true
				}
			}
		}
		a.replicaApply.Observe(time.Since(start).Seconds())
	}
	steps := n.Steps
	if n.All {
		steps = []string{stepAll}
	}
	for _, step := range steps {
		a.runStep(ctx, step)
	}
	if alertTiles && a.alerts != nil {
		// The holder's poll may have opened or closed alerts: the
		// takeover of this replica's screens follows.
		a.alerts.PublishLayers(ctx)
	}
}

// runStep does on this replica what another did after its commit.
func (a *App) runStep(ctx context.Context, step string) {
	switch {
	case step == stepAll:
		// Notices may have been missed: the fleet may have changed. Kicks
		// are not replayed: the holders' next polls read the store.
		if err := a.server.ApplyFleetChange(ctx, web.StepScreens); err != nil {
			a.log.Warn("reloading screens", "error", err)
		}
	case step == stepFourKeys:
		a.kickFourKeys()
	case strings.HasPrefix(step, stepAlerts):
		if a.alerts != nil {
			a.alerts.Stored(strings.TrimPrefix(step, stepAlerts))
		}
	case strings.HasPrefix(step, stepFleet):
		if err := a.server.ApplyFleetChange(ctx, strings.TrimPrefix(step, stepFleet)); err != nil {
			a.log.Warn("applying a fleet change", "error", err)
		}
	}
}
