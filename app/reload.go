package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/store"
	"github.com/wallboard/wallboard/web"
)

// Screens follow the config: the file is watched (fsnotify on its directory,
// so editors that write a new file and rename it over the old one are seen,
// plus a poll every 2 s for file systems without notifications). A valid edit
// replaces the world (see world): the config, the live state (tiles that
// still ask the same query keep theirs), the sources and the poller, and the
// screens of every changed board reload themselves.
// An invalid edit changes nothing: the old config keeps running and the
// error is logged and shown on /admin.

// reloadState is what /admin shows about the config.
type reloadState struct {
	mu       sync.Mutex
	hash     [32]byte
	loadedAt time.Time
	lastErr  error
	errAt    time.Time
	reloads  int
}

// configPoll is the fallback poll of the config file.
const configPoll = 2 * time.Second

func hashOf(b []byte) [32]byte { return sha256.Sum256(b) }

// ConfigStatus is the config's state for the admin view.
func (a *App) ConfigStatus() web.ConfigStatus {
	a.reload.mu.Lock()
	defer a.reload.mu.Unlock()
	st := web.ConfigStatus{File: a.Config().File, LoadedAt: a.reload.loadedAt, Reloads: a.reload.reloads, ErrorAt: a.reload.errAt,
		Store: a.storeNoteText()}
	if a.opts.ConfigPath == "" {
		st.File = "built-in demo (no -config): not watched"
	}
	if err := a.reload.lastErr; err != nil {
		var ce *board.ConfigError
		if errors.As(err, &ce) {
			for _, p := range ce.Problems {
				st.Problems = append(st.Problems, p.String())
			}
		} else {
			st.Problems = []string{err.Error()}
		}
	}
	return st
}

// watchConfig reloads the config file when it changes, until ctx is done.
func (a *App) watchConfig(ctx context.Context) {
	path := a.opts.ConfigPath
	if path == "" {
		return
	}
	var events <-chan fsnotify.Event
	w, err := fsnotify.NewWatcher()
	if err == nil {
		defer w.Close()
		if err = w.Add(filepath.Dir(path)); err == nil {
			events = w.Events
		}
	}
	if err != nil {
		a.log.Warn("config: file notifications unavailable; polling every 2 s", "file", path, "error", err)
	}
	tick := time.NewTicker(configPoll)
	defer tick.Stop()
	// Editors write in several steps: wait for a quiet moment before reading.
	var settle <-chan time.Time
	name := filepath.Clean(path)
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if filepath.Clean(ev.Name) == name {
				settle = time.After(150 * time.Millisecond)
			}
		case <-settle:
			settle = nil
			a.checkConfig(ctx)
		case <-tick.C:
			a.checkConfig(ctx)
		}
	}
}

// checkConfig reads the config file and applies it when its content changed.
// Only the watch goroutine (or a test, with the watcher idle) calls it.
func (a *App) checkConfig(ctx context.Context) {
	b, err := readFile(a.opts.ConfigPath)
	if err != nil {
		// Mid-rename or deleted: keep running; the next event or poll retries.
		if !errors.Is(err, os.ErrNotExist) {
			a.reloadFailed(err)
		}
		return
	}
	h := hashOf(b)
	a.reload.mu.Lock()
	same := h == a.reload.hash
	a.reload.mu.Unlock()
	if same {
		return
	}
	if err := a.apply(ctx, b); err != nil {
		a.reload.mu.Lock()
		a.reload.hash = h // report a bad file once, not every 2 s
		a.reload.mu.Unlock()
		a.reloadFailed(err)
		return
	}
	a.reload.mu.Lock()
	a.reload.hash = h
	a.reload.loadedAt = time.Now()
	a.reload.lastErr = nil
	a.reload.reloads++
	a.reload.mu.Unlock()
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	_, err = io.Copy(&buf, io.LimitReader(f, 8<<20))
	return buf.Bytes(), err
}

func (a *App) reloadFailed(err error) {
	a.log.Error("config reload rejected; the previous config keeps running", "file", a.opts.ConfigPath, "error", err)
	a.reload.mu.Lock()
	a.reload.lastErr = err
	a.reload.errAt = time.Now()
	a.reload.mu.Unlock()
}

// apply validates config bytes and, when valid, builds the new world,
// swaps it in as one, retires the old one, and tells changed boards'
// screens to reload.
func (a *App) apply(ctx context.Context, data []byte) error {
	cfg, err := ParseConfig(a.opts.ConfigPath, data)
	if err != nil {
		return err
	}
	a.defaultAccess(cfg)
	// The new config's secrets, read once: the admin token applies from now
	// on (see secrets).
	sec, err := resolveSecrets(cfg)
	if err != nil {
		return err
	}
	if cfg.Access.Mode == "" && !web.IsLoopback(a.Addr()) {
		return fmt.Errorf("access: listening on %s (not loopback) needs an access mode", a.Addr())
	}
	old := a.world.Load()
	w, err := a.newWorld(cfg, old.live.Rebuild(cfg))
	if err != nil {
		return err
	}
	// Viewer access follows the file too: a screen removed from it is
	// revoked now, not at the next restart; and so does the admin token,
	// which Access holds for /admin, the fleet page and /metrics.
	if acc := a.server.Access(); acc != nil {
		if err := acc.Update(cfg.Access, sec.admin); err != nil {
			a.retire(w)
			return err
		}
	}
	a.server.SetFrameAncestors(cfg.Access.FrameAncestors)
	a.world.Store(w)
	a.server.SetWorld(w.live, w.demo)
	// Before anything is published for the new boards; screens of removed
	// boards are told now.
	a.hub.SetBoards(boardIDs(cfg))
	w.start(ctx, a.leases(), a.store)
	a.retire(old)
	// What became unsaved in the old state after Rebuild copied it (a poll
	// of the old scheduler, a failed save giving its tiles back) is saved
	// from the new one: nothing flushes the old state any more.
	w.live.KeepUnsaved(old.live.Unsaved())
	if a.alerts != nil {
		// Boards that gained, lost or restyled alert tiles get their
		// takeover now: a webhook feed is never polled, so nothing else
		// would publish it before its next delivery.
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		a.alerts.PublishLayers(lctx)
		cancel()
	}

	now := time.Now()
	kept := map[board.TileRef]bool{}
	for _, b := range cfg.Boards {
		for _, t := range b.Tiles {
			ref := board.TileRef{Board: b.ID, Tile: t.ID}
			kept[ref] = true
			a.server.PublishTile(ref, now)
		}
	}
	for _, b := range old.cfg.Boards {
		for _, t := range b.Tiles {
			if ref := (board.TileRef{Board: b.ID, Tile: t.ID}); !kept[ref] {
				a.server.ForgetTile(ref)
			}
		}
	}
	changed := changedBoards(old.cfg, cfg)
	a.log.Info("config reloaded", "file", a.opts.ConfigPath, "boards", len(cfg.Boards), "changed", changed)
	if len(changed) > 0 {
		a.server.ReloadScreens(changed...)
	}
	return nil
}

func boardIDs(cfg *board.Config) []string {
	ids := make([]string, len(cfg.Boards))
	for i, b := range cfg.Boards {
		ids[i] = b.ID
	}
	return ids
}

// changedBoards lists the boards of cfg whose layout or tiles differ from
// old (line numbers aside), plus every board of a changed playlist.
func changedBoards(old, cfg *board.Config) []string {
	prev := map[string]board.BoardConfig{}
	for _, b := range old.Boards {
		prev[b.ID] = stripLines(b)
	}
	var out []string
	for _, b := range cfg.Boards {
		if p, ok := prev[b.ID]; !ok || !reflect.DeepEqual(p, stripLines(b)) {
			out = append(out, b.ID)
		}
	}
	prevPl := map[string]board.Playlist{}
	for _, p := range old.Playlists {
		p.Line, p.EntryLines = 0, nil
		prevPl[p.ID] = p
	}
	for _, p := range cfg.Playlists {
		p.Line, p.EntryLines = 0, nil
		if o, ok := prevPl[p.ID]; !ok || !reflect.DeepEqual(o, p) {
			for _, id := range p.BoardIDs() {
				if !slices.Contains(out, id) {
					out = append(out, id)
				}
			}
		}
	}
	return out
}

func stripLines(b board.BoardConfig) board.BoardConfig {
	b.Line = 0
	b.Tiles = slices.Clone(b.Tiles)
	for i := range b.Tiles {
		b.Tiles[i].Line = 0
	}
	return b
}

// world is everything one config load builds: the config, the live state
// of its tiles, the sources it names and the scheduler polling them. A
// reload builds a new world completely and replaces the old one as a whole
// (App.world), so no reader ever sees parts of two configs; the old world
// is then retired: its scheduler stopped, its polls waited for, and only
// then its sources closed (a source closed under a poll fails that poll,
// and the failure would land on a tile that still asks the same query).
type world struct {
	cfg     *board.Config
	live    *board.Live
	sources map[string]poller.Source
	demo    []string // ids of the sources whose data is made up
	// fourKeys are the ids of the sources whose tiles compute from the
	// store's Four Keys events: a stored delivery kicks them.
	fourKeys []string
	sched    *poller.Scheduler

	// Set by start, by the goroutine that later calls stop.
	cancel context.CancelFunc
	done   chan struct{} // closed when sched.Run has returned
}

// newWorld builds the sources and the scheduler of cfg around live (the
// scheduler is not started).
func (a *App) newWorld(cfg *board.Config, live *board.Live) (*world, error) {
	sources, demo, err := a.buildSources(cfg)
	if err != nil {
		return nil, err
	}
	w := &world{cfg: cfg, live: live, sources: sources, demo: demo, fourKeys: fourKeysSources(cfg)}
	jobs, err := poller.Jobs(cfg, sources)
	if err != nil {
		a.retire(w)
		return nil, err
	}
	w.sched = poller.New(jobs, a.server.Sink, a.log)
	return w, nil
}

// start runs the world's scheduler until stop or the end of ctx. leases
// (nil when this process runs alone) says which queries it may poll; each
// time st stores Four Keys events from a webhook, the scheduler polls the
// sources whose tiles compute from them.
func (w *world) start(ctx context.Context, leases poller.Leases, st *store.Store) {
	if leases != nil {
		w.sched.SetLeases(leases)
	}
	stored, unwatch := st.WatchFourKeys()
	w.sched.WakeOn(stored, w.fourKeys)
	ctx, w.cancel = context.WithCancel(ctx)
	w.done = make(chan struct{})
	go func() {
		defer close(w.done)
		defer unwatch()
		w.sched.Run(ctx)
	}()
}

// stop stops the scheduler and waits until every poll it started has
// returned; a world never started has nothing to stop.
func (w *world) stop() {
	if w.cancel == nil {
		return
	}
	w.cancel()
	<-w.done
}

// retire stops a replaced (or never used) world and then closes its
// sources, except those of Options.Sources: they are the test's, and the
// next world holds them too.
func (a *App) retire(w *world) {
	w.stop()
	closeSources(w.sources, a.opts.Sources, a.log)
}

// closeSources closes the sources of old that are not in keep.
func closeSources(old, keep map[string]poller.Source, log *slog.Logger) {
	for id, s := range old {
		if keep != nil && keep[id] == s {
			continue
		}
		if c, ok := s.(io.Closer); ok {
			if err := c.Close(); err != nil {
				log.Warn("closing source", "source", id, "error", err)
			}
		}
	}
}
