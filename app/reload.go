package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/web"
)

// Screens follow the config: the file is watched (fsnotify on its directory,
// so editors that write a new file and rename it over the old one are seen,
// plus a poll every 2 s for file systems without notifications). A valid edit
// replaces the config, the live state (tiles that still exist keep theirs)
// and the poller, and the screens of every changed board reload themselves.
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

// apply validates config bytes and, when valid, swaps in the new config,
// state and poller, and tells changed boards' screens to reload.
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
	sources, demo, err := a.buildSources(cfg)
	if err != nil {
		return err
	}
	jobs, err := poller.Jobs(cfg, sources)
	if err != nil {
		closeSources(sources, a.sources)
		return err
	}
	if cfg.Access.Mode == "" && !web.IsLoopback(a.Addr()) {
		closeSources(sources, a.sources)
		return fmt.Errorf("access: listening on %s (not loopback) needs an access mode", a.Addr())
	}
	// Viewer access follows the file too: a screen removed from it is
	// revoked now, not at the next restart; and so does the admin token,
	// which Access holds for /admin, the fleet page and /metrics.
	if acc := a.server.Access(); acc != nil {
		if err := acc.Update(cfg.Access, sec.admin); err != nil {
			closeSources(sources, a.sources)
			return err
		}
	}
	a.server.SetFrameAncestors(cfg.Access.FrameAncestors)
	old := a.Config()
	live := a.Live().Rebuild(cfg)
	a.cfg.Store(cfg)
	a.live.Store(live)
	a.server.SetLive(live)
	a.server.SetDemoSources(demo)
	a.sched.Store(poller.New(jobs, a.sink, a.log))
	select {
	case a.schedSwap <- struct{}{}:
	default: // a swap is already pending; it will pick up this scheduler
	}
	closeSources(a.sources, sources)
	a.sources = sources

	now := time.Now()
	kept := map[board.TileRef]bool{}
	for _, b := range cfg.Boards {
		for _, t := range b.Tiles {
			ref := board.TileRef{Board: b.ID, Tile: t.ID}
			kept[ref] = true
			a.server.PublishTile(ref, now)
		}
	}
	for _, b := range old.Boards {
		for _, t := range b.Tiles {
			if ref := (board.TileRef{Board: b.ID, Tile: t.ID}); !kept[ref] {
				a.server.ForgetTile(ref)
			}
		}
	}
	changed := changedBoards(old, cfg)
	a.log.Info("config reloaded", "file", a.opts.ConfigPath, "boards", len(cfg.Boards), "changed", changed)
	if len(changed) > 0 {
		a.server.ReloadScreens(changed...)
	}
	return nil
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
		p.Line = 0
		prevPl[p.ID] = p
	}
	for _, p := range cfg.Playlists {
		p.Line = 0
		if o, ok := prevPl[p.ID]; !ok || !reflect.DeepEqual(o, p) {
			for _, id := range p.Boards {
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

// closeSources closes the sources of old that are not in keep (a source
// given in Options.Sources is the test's and stays open).
func closeSources(old, keep map[string]poller.Source) {
	for id, s := range old {
		if keep != nil && keep[id] == s {
			continue
		}
		if c, ok := s.(io.Closer); ok {
			c.Close()
		}
	}
}

// runScheduler runs the current poller until ctx is done, replacing it
// whenever a reload put a new one in a.sched.
func (a *App) runScheduler(ctx context.Context) {
	for {
		s := a.sched.Load()
		sctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); s.Run(sctx) }()
		select {
		case <-ctx.Done():
			cancel()
			<-done
			return
		case <-a.schedSwap:
			cancel()
			<-done
		}
	}
}
