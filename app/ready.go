package app

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/store"
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
// read-only. Still 200 for SQLite: the board serves its last state and live
// values, and taking the only wall server out of rotation would blank the
// wall. On PostgreSQL a replica that cannot reach the database, or finds
// its migrations missing, answers 503: the load balancer sends webhooks and
// new screens to replicas that can store them (its own screens keep their
// last state; it comes back by itself when the database does).
func (a *App) handleReady(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if a.store.Postgres() {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		err := a.store.Ready(ctx)
		cancel()
		if a.notReady.Swap(err != nil) != (err != nil) {
			if err != nil {
				a.log.Warn("not ready: the store cannot take writes", "error", board.Redact(err.Error()))
			} else {
				a.log.Info("ready: the store takes writes again")
			}
		}
		if err != nil {
			// Unauthenticated callers get the kind of problem, not the
			// database's address: the log has the details.
			why := "store unreachable"
			if errors.Is(err, store.ErrNotMigrated) {
				why = "store migrations not applied"
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not ready: " + why + "\n"))
			return
		}
	}
	if note := a.storeNoteText(); note != "" {
		w.Write([]byte("degraded: store " + note + "\n"))
		return
	}
	w.Write([]byte("ok\n"))
}

// readyTimeout bounds a /readyz check of the store: probes time out too.
const readyTimeout = 2 * time.Second

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
