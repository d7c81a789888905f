package app

import (
	"errors"
	"net/http"
	"strings"
	"syscall"
)

// handleReady answers /readyz: "ok", or "degraded: …" with why the store is
// read-only. Still 200: the board serves its last state and live values,
// and taking the only wall server out of rotation would blank the wall.
func (a *App) handleReady(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if a.storeNote != "" {
		w.Write([]byte("degraded: store " + a.storeNote + "\n"))
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
