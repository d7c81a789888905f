package app

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// storeRetry is how often a read-only store is tried for writing again.
const storeRetry = 5 * time.Second

// storeNoteText says why the store is read-only ("" when it is writable).
func (a *App) storeNoteText() string {
	if p := a.storeNote.Load(); p != nil {
		return *p
	}
	return ""
}

// recoverStore makes a read-only store writable as soon as it can be
// written again (space freed, permissions fixed), until ctx is done.
func (a *App) recoverStore(ctx context.Context) {
	if !a.store.ReadOnly() {
		return
	}
	t := time.NewTicker(storeRetry)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := a.store.Reopen(ctx); err != nil {
			continue // still read-only; said once at start
		}
		a.storeNote.Store(nil)
		a.log.Info("store is writable again: tile state is saved and webhooks are stored", "file", a.store.Path())
		return
	}
}

// handleReady answers /readyz: "ok", or "degraded: …" with why the store is
// read-only. Still 200: the board serves its last state and live values,
// and taking the only wall server out of rotation would blank the wall.
func (a *App) handleReady(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if note := a.storeNoteText(); note != "" {
		w.Write([]byte("degraded: store " + note + "\n"))
		return
	}
	w.Write([]byte("ok\n"))
}

// diskFull reports whether err opening the store came from a full disk:
// ENOSPC, SQLite's "database or disk is full", or (SQLite often reports only
// "disk I/O error" when it cannot grow its shared-memory file) no space
// left on the file system holding dir.
func diskFull(dir string, err error) bool {
	if errors.Is(err, syscall.ENOSPC) || strings.Contains(err.Error(), "disk is full") {
		return true
	}
	free, ok := freeBytes(dir)
	return ok && free < 64<<10 // less than a SQLite page cache's worth: nothing fits
}
