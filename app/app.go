// Package app wires Wallboard together: config, store, live state, poller,
// hub and HTTP server. cmd/wallboard parses flags and calls it; end-to-end
// tests start a whole server with it on port 0 in a temp dir.
package app

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wallboard/wallboard/alerts"
	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/replica"
	"github.com/wallboard/wallboard/store"
	"github.com/wallboard/wallboard/web"
)

//go:embed demo.yaml
var demoConfig []byte

// Options configure an App.
type Options struct {
	ConfigPath string // "" runs the built-in demo
	Addr       string // listen address; "127.0.0.1:0" picks a free port
	DataDir    string // where wallboard.db lives
	// Store is the store to open instead of the config's store: (the -store
	// flag): a postgres:// or postgresql:// URL, or a SQLite file path; ""
	// takes the config's store:, else wallboard.db in DataDir.
	Store  string
	Build  string // build id (screens reload when it changes)
	Logger *slog.Logger
	// Sources replaces the sources built from the config, by id (tests).
	Sources map[string]poller.Source
	// Access is the access mode used when the config sets none ("open":
	// anyone who reaches the port), e.g. to show the built-in demo on a TV
	// on the LAN (wallboard -access open).
	Access string
	// Heartbeat is how often screens get the server clock; default 15 s.
	Heartbeat time.Duration
	// ingress bounds what unauthenticated requests may cost; zero fields
	// take the defaults of web.IngressLimits.
	ingress web.IngressLimits
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

	// world is the config and all it built (live state, sources,
	// scheduler), replaced as one when the config file changes (reload.go).
	world  atomic.Pointer[world]
	reload reloadState

	// alerts, when alert tiles or receivers exist, stores polled alerts and
	// gives alert tiles the store's open alerts (package alerts).
	alerts *alerts.Alerts

	// replica is this process's part in a group sharing PostgreSQL (nil
	// when it runs alone on SQLite): see replica.go.
	replica *replica.Replica
	// replicaWrite, replicaApply: the PostgreSQL path's cost (replica.go).
	replicaWrite, replicaApply prometheus.Histogram

	saveMu sync.Mutex
	// storeFailing: the last tile save failed (log once per outage).
	storeFailing bool
	// storeNote says why the store is read-only (nil when writable);
	// /admin and /readyz show it.
	storeNote atomic.Pointer[string]
	// notReady: the last /readyz found the PostgreSQL store unusable (to
	// log each change once).
	notReady atomic.Bool
}

// Config is the loaded config.
func (a *App) Config() *board.Config { return a.world.Load().cfg }

// Live is the live tile state.
func (a *App) Live() *board.Live { return a.world.Load().live }

// Metrics are the board's own metrics.
func (a *App) Metrics() *web.Metrics { return a.metrics }

// LoadConfig reads the config at path, or the built-in demo when path is "".
// The demo gets the Four Keys of the git checkout it runs in, if any
// (addGitDemo).
func LoadConfig(path string) (*board.Config, error) {
	if path == "" {
		cfg, err := ParseConfig("demo.yaml (built in)", demoConfig)
		if err != nil {
			return nil, err
		}
		addGitDemo(cfg)
		cfg.FillDefaults() // for what addGitDemo added
		return cfg, nil
	}
	return board.LoadFile(path, sourceKinds)
}

// New builds every part, in this order: the config and its secrets, the
// store, the live tile state restored from it, the sources and their
// poller, the hub, and the HTTP server with every route (web/routes.go).
// Run starts them.
func New(ctx context.Context, opts Options) (*App, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if opts.Heartbeat == 0 {
		opts.Heartbeat = 15 * time.Second
	}
	if opts.Build == "" {
		opts.Build = buildID()
	}
	if opts.DataDir == "" {
		opts.DataDir = "."
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:8080"
	}
	a := &App{opts: opts, log: opts.Logger}

	// The config, its secrets, and who may look.
	cfg, err := LoadConfig(opts.ConfigPath)
	if err != nil {
		return nil, err
	}
	a.defaultAccess(cfg)
	sec, err := resolveSecrets(cfg)
	if err != nil {
		return nil, err
	}
	access, err := a.buildAccess(cfg, opts.Addr, sec.admin)
	if err != nil {
		return nil, err
	}
	if opts.ConfigPath != "" {
		if b, err := os.ReadFile(opts.ConfigPath); err == nil {
			a.reload.hash = hashOf(b)
		}
	}
	a.reload.loadedAt = time.Now()

	// The store, and the tile state it kept.
	if err := a.openStore(ctx, cfg); err != nil {
		return nil, err
	}
	restored, err := a.store.LoadTiles(ctx)
	if err != nil {
		// Some stored tiles are unreadable: start with what could be read.
		a.log.Warn("restoring tile state", "error", err)
	}

	// The hub that pushes to screens, and the server that serves the live
	// state and applies each poll's outcome to it (its sink).
	live := board.NewLive(cfg, restored)
	a.metrics = web.NewMetrics()
	a.metrics.Registry.MustRegister(buildInfo())
	a.registerReplicaMetrics()
	a.hub = web.NewHub()
	a.hub.SetBoards(boardIDs(cfg))
	fleet, err := web.NewFleet(ctx, a.store, a.log)
	if err != nil {
		a.store.Close()
		return nil, err
	}
	var alertHooks *web.AlertHooks
	a.alerts, alertHooks = newAlerts(a, sec)
	events, github := a.fourKeysReceivers(sec)
	a.server = web.NewServer(live, a.hub, a.metrics, a.log, web.Options{
		Build: opts.Build, Compression: true,
		Access: access, FrameAncestors: cfg.Access.FrameAncestors, Ingress: opts.ingress,
		Ready:       http.HandlerFunc(a.handleReady),
		Fleet:       fleet,
		AdminStatus: a.ConfigStatus,
		Receivers:   web.Receivers{Alerts: alertHooks, Events: events, GitHub: github},
		Alerts:      a.alerts,
	})

	// The world: the config's live state, its sources and their poller
	// (started by Run, replaced as one by a reload).
	w, err := a.newWorld(cfg, live)
	if err != nil {
		a.store.Close()
		return nil, err
	}
	a.world.Store(w)
	a.server.SetWorld(w.live, w.demo)
	fail := func(err error) (*App, error) {
		a.retire(w)
		a.store.Close()
		return nil, err
	}
	a.server.SetRetroSource(retroSource{a})
	a.server.AddStandupFeed(storeFeed{a})
	a.server.SetStandupHistory(a.store)
	// Alerts still open from before a restart take over their boards.
	layersCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	a.alerts.PublishLayers(layersCtx)
	cancel()

	a.ln, err = net.Listen("tcp", opts.Addr)
	if err != nil {
		return fail(fmt.Errorf("listen %s: %w", opts.Addr, err))
	}
	a.http = &http.Server{
		Handler:           a.server.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelDebug),
	}
	return a, nil
}

// openStore opens the store: the -store value, else the config's store:,
// else wallboard.db in the data directory (storeTarget).
//
// A PostgreSQL store that cannot be opened stops the start: a supervisor
// restarts the replica while the others serve. A read-only SQLite store, or
// a full disk, still starts: a wall display keeps showing live values, and
// nothing is acknowledged that could not be stored (webhooks get 503).
// Exiting on a full disk would blank the wall in a crash loop under a
// supervisor.
func (a *App) openStore(ctx context.Context, cfg *board.Config) error {
	if err := os.MkdirAll(a.opts.DataDir, 0o755); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	target, password, err := storeTarget(a.opts, cfg)
	if err != nil {
		return err
	}
	if store.IsPostgresURL(target) {
		if a.store, err = store.OpenPostgres(ctx, target, password); err != nil {
			return err
		}
		a.log.Info("store: PostgreSQL", "url", board.Redact(target))
		return nil
	}
	dbPath := target
	st, err := store.Open(ctx, dbPath)
	if err == nil {
		a.store = st
		return nil
	}
	full := diskFull(filepath.Dir(dbPath), err)
	if !errors.Is(err, store.ErrReadOnly) && !full {
		return err
	}
	ro, roErr := store.OpenReadOnly(ctx, dbPath)
	if roErr != nil {
		return err
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
	a.store = ro
	return nil
}

// storeTarget is the store New opens: the -store value, else the config's
// store: (with its password), else wallboard.db in the data directory.
func storeTarget(opts Options, cfg *board.Config) (target, password string, err error) {
	target = opts.Store
	if target == "" && cfg.Store != nil {
		target = cfg.Store.URL
	}
	if target == "" {
		return filepath.Join(opts.DataDir, "wallboard.db"), "", nil
	}
	if cfg.Store != nil && store.IsPostgresURL(target) {
		if password, err = cfg.Store.Password.Resolve(); err != nil {
			return "", "", fmt.Errorf("store.password: %w", err)
		}
	}
	return target, password, nil
}

// StoreProblems is what `wallboard check` reports about the config's
// store: beyond the config's own rules: a URL the PostgreSQL driver
// refuses.
func StoreProblems(cfg *board.Config) []board.Problem {
	if cfg.Store == nil || cfg.Store.URL == "" {
		return nil
	}
	if _, err := store.ParsePostgresURL(cfg.Store.URL, ""); err != nil {
		msg := strings.TrimPrefix(err.Error(), "store: ")
		return []board.Problem{{File: cfg.File, Line: cfg.Store.Line, Msg: "store.url: " + msg}}
	}
	return nil
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

// Server is the HTTP side (for tests and tools that add to it).
func (a *App) Server() *web.Server { return a.server }

// Store is the open store.
func (a *App) Store() *store.Store { return a.store }

// scheduler is the poller of the running config.
func (a *App) scheduler() *poller.Scheduler { return a.world.Load().sched }

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

	if conn := a.store.ConnConfig(); conn != nil {
		if err := a.startReplica(ctx, conn); err != nil {
			// Nothing runs yet: close what New opened, so that a
			// supervisor's restart finds no port, source or connection
			// of this attempt left behind.
			a.ln.Close()
			a.retire(a.world.Load())
			a.store.Close()
			return err
		}
	}
	// The first world's scheduler; later ones are started by reloads
	// (watchConfig), each stopped by the reload that replaces it.
	a.world.Load().start(ctx, a.leases(), a.store)
	var wg sync.WaitGroup
	wg.Go(func() { a.watchConfig(ctx) })
	wg.Go(func() { a.sweepLoop(ctx) })
	wg.Go(func() { a.persistLoop(ctx) })
	wg.Go(func() { a.recoverStore(ctx) })
	// The announcer outlives ctx: a delivery accepted until the HTTP side
	// stopped is still announced (stopAnnounce, below).
	announceCtx, stopAnnounce := context.WithCancel(context.Background())
	defer stopAnnounce()
	var announcer sync.WaitGroup
	if a.replica != nil {
		// Every replica's fleet page shows the screens connected here, and
		// polls the Four Keys sources after a delivery stored here.
		wg.Go(func() { a.server.SharePresence(ctx, a.replica.ID()) })
		announcer.Go(func() { a.announceFourKeys(announceCtx) })
	}
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
	stopAnnounce()
	announcer.Wait()
	if a.replica != nil {
		// Only now: a webhook accepted until the HTTP side stopped, and a
		// Four Keys kick, are still announced to the other replicas. The
		// leases are released here, so that the others take them at their
		// next renewal, not after the TTL; a poll still running loses its
		// lease and its result (the new holder polls at once).
		a.replica.Close()
	}
	// No reload runs any more: stop the last world's scheduler, wait for
	// its polls, then close its sources (the test's too).
	w := a.world.Load()
	w.stop()
	closeSources(w.sources, nil, a.log)
	a.flush(context.Background())
	if e := a.store.Close(); e != nil && err == nil {
		err = e
	}
	return err
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

// flush saves the tiles polls changed since the last flush; the tiles of a
// failed save stay unsaved for the next try. Replicas write each poll's
// tiles as it ends instead (saveResult).
func (a *App) flush(ctx context.Context) {
	if a.replica != nil {
		return
	}
	live := a.Live()
	states := live.Unsaved()
	if len(states) == 0 {
		return
	}
	a.saved(a.store.SaveTiles(ctx, states), func() {
		live.KeepUnsaved(states)
		// A reload may have swapped the state in during the save: its
		// tiles were copied as saved, and the old state is no longer
		// flushed (apply carries only what is unsaved when it retires it).
		if cur := a.Live(); cur != live {
			cur.KeepUnsaved(states)
		}
	})
}

// saved logs the outcome of a tile save, once per outage and once at its
// end, not at every try; keep runs when the save failed.
func (a *App) saved(err error, keep func()) {
	a.saveMu.Lock()
	defer a.saveMu.Unlock()
	if err != nil {
		// Live values keep flowing; the tiles stay unsaved for the next try.
		a.metrics.StoreErrors.Inc()
		if !a.storeFailing {
			a.log.Error("saving tile state failed; live values keep flowing", "error", err)
		}
		a.storeFailing = true
		if keep != nil {
			keep()
		}
		return
	}
	if a.storeFailing {
		a.log.Info("saving tile state works again")
	}
	a.storeFailing = false
}
