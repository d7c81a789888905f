// Package app wires Wallboard together: config, store, live state, poller,
// hub and HTTP server. cmd/wallboard parses flags and calls it; end-to-end
// tests start a whole server with it on port 0 in a temp dir.
package app

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wallboard/wallboard/alerts"
	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/store"
	"github.com/wallboard/wallboard/web"
)

//go:embed demo.yaml
var demoConfig []byte

// DemoConfig is the built-in demo's YAML.
func DemoConfig() []byte { return demoConfig }

// Options configure an App.
type Options struct {
	ConfigPath string // "" runs the built-in demo
	Addr       string // listen address; "127.0.0.1:0" picks a free port
	DataDir    string // where wallboard.db lives
	Build      string // build id (screens reload when it changes)
	Logger     *slog.Logger
	// Sources replaces the sources built from the config, by id (tests).
	Sources map[string]poller.Source
	// Access is the access mode used when the config sets none ("open":
	// anyone who reaches the port), e.g. to show the built-in demo on a TV
	// on the LAN (wallboard -access open).
	Access string
	// Heartbeat is how often screens get the server clock; default 15 s.
	Heartbeat time.Duration
	// Ingress bounds what unauthenticated requests may cost; zero fields
	// take the defaults of web.IngressLimits.
	Ingress web.IngressLimits
}

// App is a running Wallboard.
type App struct {
	opts    Options
	log     *slog.Logger
	store   *store.Store
	hub     *web.Hub
	server  *web.Server
	metrics *web.Metrics
	ln      net.Listener
	http    *http.Server

	// The config, the live state and the poller are replaced together when
	// the config file changes (see reload.go).
	cfg       atomic.Pointer[board.Config]
	live      atomic.Pointer[board.Live]
	sched     atomic.Pointer[poller.Scheduler]
	sources   map[string]poller.Source // owned by the reload goroutine after Run starts
	schedSwap chan struct{}            // a new scheduler is in a.sched
	reload    reloadState

	// alerts, when alert tiles or receivers exist, stores polled alerts and
	// gives alert tiles the store's open alerts (package alerts).
	alerts *alerts.Alerts

	adminToken string // resolved admin.token; "" when admin is off

	dirtyMu sync.Mutex
	dirty   map[board.TileRef]struct{}
	failing map[string]bool // job key -> currently failing (for log-once)
	// storeFailing: the last tile save failed (log once per outage).
	storeFailing bool
	// storeNote says why the store is read-only (nil when writable);
	// /admin and /readyz show it.
	storeNote atomic.Pointer[string]
}

// routeSetups add routes (webhook receivers) to the server once every part
// exists. Each feature adds its own in an init() of its app/hooks_*.go file.
var routeSetups []func(a *App) error

// Config is the loaded config.
func (a *App) Config() *board.Config { return a.cfg.Load() }

// Live is the live tile state.
func (a *App) Live() *board.Live { return a.live.Load() }

// Logger is the app's logger.
func (a *App) Logger() *slog.Logger { return a.log }

// Metrics are the board's own metrics.
func (a *App) Metrics() *web.Metrics { return a.metrics }

// demoAdditions extend the built-in demo with what the machine it runs on
// offers (the Four Keys of the git checkout it runs in); each feature adds
// its own in an init().
var demoAdditions []func(cfg *board.Config)

// LoadConfig reads the config at path, or the built-in demo when path is "".
func LoadConfig(path string) (*board.Config, error) {
	if path == "" {
		cfg, err := board.Parse("demo.yaml (built in)", demoConfig, CheckQuery)
		if err != nil {
			return nil, err
		}
		for _, add := range demoAdditions {
			add(cfg)
		}
		return cfg, nil
	}
	return board.LoadFile(path, CheckQuery)
}

// New loads the config, opens the store and builds every part; Run starts them.
func New(ctx context.Context, opts Options) (*App, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if opts.Heartbeat == 0 {
		opts.Heartbeat = 15 * time.Second
	}
	if opts.Build == "" {
		opts.Build = BuildID()
	}
	a := &App{opts: opts, log: opts.Logger, dirty: map[board.TileRef]struct{}{}, failing: map[string]bool{},
		schedSwap: make(chan struct{}, 1)}
	cfg, err := LoadConfig(opts.ConfigPath)
	if err != nil {
		return nil, err
	}
	a.defaultAccess(cfg)
	a.cfg.Store(cfg)
	if opts.ConfigPath != "" {
		if b, err := os.ReadFile(opts.ConfigPath); err == nil {
			a.reload.hash = hashOf(b)
		}
	}
	a.reload.loadedAt = time.Now()
	if opts.DataDir == "" {
		opts.DataDir = "."
	}
	if err := os.MkdirAll(opts.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	dbPath := filepath.Join(opts.DataDir, "wallboard.db")
	a.store, err = store.Open(ctx, dbPath)
	full := err != nil && diskFull(opts.DataDir, err)
	if errors.Is(err, store.ErrReadOnly) || full {
		// A wall display keeps showing live values with a read-only store:
		// nothing is acknowledged that could not be stored (webhooks get 503).
		// A full disk is the same (exiting would blank the wall in a crash
		// loop under a supervisor).
		ro, roErr := store.OpenReadOnly(ctx, dbPath)
		if roErr != nil {
			return nil, err
		}
		if full {
			note := fmt.Sprintf("read-only: the disk holding %s is full (%v); tile state is not saved and webhooks answer 503 until there is room", dbPath, err)
			a.storeNote.Store(&note)
			a.log.Error("store is read-only: the disk is full: showing the last state and live values only", "error", err)
		} else {
			note := fmt.Sprintf("read-only: %v", err)
			a.storeNote.Store(&note)
			a.log.Error("store is read-only: showing live values only", "error", err)
		}
		a.store, err = ro, nil
	}
	if err != nil {
		return nil, err
	}
	restored, err := a.store.LoadTiles(ctx)
	if err != nil {
		// Some stored tiles are unreadable: start with what could be read.
		a.log.Warn("restoring tile state", "error", err)
	}
	a.live.Store(board.NewLive(cfg, restored))

	sources, demo, err := a.buildSources(cfg)
	if err != nil {
		a.store.Close()
		return nil, err
	}
	a.sources = sources
	jobs, err := poller.Jobs(cfg, sources)
	if err != nil {
		a.store.Close()
		return nil, err
	}
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	access, err := a.buildAccess(cfg, addr)
	if err != nil {
		a.store.Close()
		return nil, err
	}
	a.sources = sources
	a.metrics = web.NewMetrics()
	a.metrics.Registry.MustRegister(buildInfo())
	a.hub = web.NewHub()
	a.server = web.NewServer(a.live.Load(), a.hub, a.metrics, a.log, web.Options{Build: opts.Build, Compression: true, DemoSources: demo,
		Access: access, FrameAncestors: cfg.Access.FrameAncestors, Ingress: opts.Ingress})
	a.server.Mux().HandleFunc("GET /readyz", a.handleReady)
	a.sched.Store(poller.New(jobs, a.sink, a.log))
	for _, setup := range routeSetups {
		if err := setup(a); err != nil {
			a.store.Close()
			return nil, err
		}
	}

	a.ln, err = net.Listen("tcp", addr)
	if err != nil {
		a.store.Close()
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	a.http = &http.Server{
		Handler:           a.server.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelDebug),
	}
	return a, nil
}

// defaultAccess gives cfg the access mode of Options.Access when it has none.
func (a *App) defaultAccess(cfg *board.Config) {
	if cfg.Access.Mode == "" {
		cfg.Access.Mode = a.opts.Access
	}
}

// Addr is the address the server listens on.
func (a *App) Addr() string { return a.ln.Addr().String() }

// URL is what `make run` prints: the board when there is one (or the
// built-in demo's first board), else the list of boards.
func (a *App) URL() string {
	if cfg := a.Config(); len(cfg.Boards) == 1 || a.opts.ConfigPath == "" {
		return a.BaseURL() + "/boards/" + cfg.Boards[0].ID
	}
	return a.BaseURL() + "/"
}

// BaseURL is http://host:port of the server, with a wildcard listen address
// shown as localhost.
func (a *App) BaseURL() string {
	host := a.Addr()
	if h, p, err := net.SplitHostPort(host); err == nil && (h == "::" || h == "0.0.0.0" || h == "") {
		host = net.JoinHostPort("localhost", p)
	}
	return "http://" + host
}

// Server is the HTTP side (for tests and webhook wiring).
func (a *App) Server() *web.Server { return a.server }

// Store is the open store.
func (a *App) Store() *store.Store { return a.store }

// Scheduler is the poller.
func (a *App) Scheduler() *poller.Scheduler { return a.sched.Load() }

// Run serves until ctx is done, then shuts down gracefully: screens get a
// going-away close, in-flight requests finish, tile state is flushed to the
// store, and the store is closed.
func (a *App) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	now := time.Now()
	// First paint comes from restored state; publish it so screens that
	// connect before the first poll get every tile.
	for _, b := range a.Config().Boards {
		for _, t := range b.Tiles {
			a.server.PublishTile(board.TileRef{Board: b.ID, Tile: t.ID}, now)
		}
	}
	a.server.PublishMeta(now)

	var wg sync.WaitGroup
	wg.Go(func() { a.runScheduler(ctx) })
	wg.Go(func() { a.kickFourKeys(ctx) })
	wg.Go(func() { a.watchConfig(ctx) })
	wg.Go(func() { a.sweepLoop(ctx) })
	wg.Go(func() { a.persistLoop(ctx) })
	wg.Go(func() { a.recoverStore(ctx) })
	serveErr := make(chan error, 1)
	go func() { serveErr <- a.http.Serve(a.ln) }()

	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
	}
	cancel()
	shutCtx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	// Shutdown does not wait for hijacked websocket connections: close the
	// hub explicitly and wait for its writers.
	a.hub.Close()
	if e := a.http.Shutdown(shutCtx); e != nil && err == nil {
		err = e
	}
	a.server.WaitConns(shutCtx)
	wg.Wait()
	for id, src := range a.sources {
		if c, ok := src.(io.Closer); ok {
			if e := c.Close(); e != nil {
				a.log.Warn("closing source", "source", id, "error", e)
			}
		}
	}
	a.flush(context.Background())
	if e := a.store.Close(); e != nil && err == nil {
		err = e
	}
	return err
}

// sink receives every poll outcome from the scheduler.
func (a *App) sink(j *poller.Job, res board.Result, err error, took time.Duration) {
	src := j.Query.Source
	a.metrics.Polls.WithLabelValues(src).Inc()
	a.metrics.PollSeconds.WithLabelValues(src).Observe(took.Seconds())
	a.dirtyMu.Lock()
	wasFailing := a.failing[j.Key]
	a.failing[j.Key] = err != nil
	a.dirtyMu.Unlock()
	if err != nil {
		a.metrics.PollErrors.WithLabelValues(src).Inc()
		// Log the transition, not every retry: a source down for hours must
		// not flood the log.
		if !wasFailing {
			a.log.Warn("poll failing", "source", src, "tiles", len(j.Tiles), "error", board.Redact(err.Error()))
		}
	} else if wasFailing {
		a.log.Info("poll recovered", "source", src, "tiles", len(j.Tiles))
	}
	now := time.Now()
	tileResult := func(_ board.TileRef, r board.Result) board.Result { return r }
	if a.alerts != nil {
		tileResult = a.alerts.AfterPoll(j, res, err, now.Add(-took))
	}
	live := a.Live()
	for _, ref := range j.Tiles {
		// A poll of the previous config can finish after a reload: its result
		// belongs only to tiles that still ask the same query.
		tc, _, ok := live.Tile(ref)
		if !ok {
			continue
		}
		if q, qerr := board.QueryOf(tc); qerr != nil || q.Key() != j.Key {
			continue
		}
		if _, ok := live.Apply(ref, tileResult(ref, res), err, now); !ok {
			continue
		}
		a.server.PublishTile(ref, now)
		a.dirtyMu.Lock()
		a.dirty[ref] = struct{}{}
		a.dirtyMu.Unlock()
	}
}

// fourKeysKinds are the source kinds whose tiles compute from the store's
// Four Keys events; a webhook that stored an event kicks them.
var fourKeysKinds = []string{"github", "gitlog", "events"}

// kickFourKeys polls the sources whose tiles compute from the store's Four
// Keys events each time a webhook stored some, until ctx ends; the sources
// kicked follow the config as it is reloaded.
func (a *App) kickFourKeys(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.store.FourKeysStored():
		}
		s := a.Scheduler()
		if s == nil {
			continue
		}
		for _, src := range a.Config().Sources {
			if slices.Contains(fourKeysKinds, src.Kind) {
				s.Kick(src.ID)
			}
		}
	}
}

// sweepLoop pushes tiles whose data went stale since their last poll, and
// the heartbeat with the server clock.
func (a *App) sweepLoop(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			for _, st := range a.Live().Sweep(now) {
				a.server.PublishTile(board.TileRef{Board: st.Board, Tile: st.Tile}, now)
			}
			if now.Sub(last) >= a.opts.Heartbeat {
				a.server.PublishMeta(now)
				last = now
			}
		}
	}
}

// persistLoop writes changed tiles to the store every two seconds, in one
// transaction, so a poll never waits for the disk.
func (a *App) persistLoop(ctx context.Context) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.flush(ctx)
		}
	}
}

func (a *App) flush(ctx context.Context) {
	a.dirtyMu.Lock()
	refs := make([]board.TileRef, 0, len(a.dirty))
	for r := range a.dirty {
		refs = append(refs, r)
	}
	clear(a.dirty)
	a.dirtyMu.Unlock()
	if len(refs) == 0 {
		return
	}
	states := make([]board.TileState, 0, len(refs))
	for _, r := range refs {
		if _, st, ok := a.Live().Tile(r); ok {
			states = append(states, st)
		}
	}
	if err := a.store.SaveTiles(ctx, states); err != nil {
		// Live values keep flowing; the tiles stay dirty for the next try.
		a.metrics.StoreErrors.Inc()
		a.dirtyMu.Lock()
		if !a.storeFailing {
			// Once per outage, not every two seconds.
			a.log.Error("saving tile state failed; live values keep flowing", "error", err)
		}
		a.storeFailing = true
		for _, r := range refs {
			a.dirty[r] = struct{}{}
		}
		a.dirtyMu.Unlock()
		return
	}
	a.dirtyMu.Lock()
	if a.storeFailing {
		a.log.Info("saving tile state works again")
	}
	a.storeFailing = false
	a.dirtyMu.Unlock()
}
