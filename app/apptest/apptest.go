// Package apptest is the test kit for a whole Wallboard: Start runs one
// in-process on a free loopback port with a temporary store and stops it
// cleanly when the test ends; Eventually polls a condition. Tests outside
// package app (app_test, e2e) use it; package app's own internal tests
// cannot import it (it imports app) and keep one copy of each in
// app/app_test.go.
package apptest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wallboard/wallboard/app"
)

// Start runs a Wallboard with opts until the test ends. Empty Addr, DataDir
// and Logger default to 127.0.0.1:0, a temp dir, and a discarding logger.
func Start(t testing.TB, opts app.Options) *app.App {
	t.Helper()
	a, _ := StartStoppable(t, opts)
	return a
}

// StartStoppable is Start that also returns a stop function, for a test of
// what screens do when the server goes away; stop waits until Run returned
// and may be called more than once. A restart on the address of a server
// that just stopped (opts.Addr with its port) waits up to 10 s for the port.
func StartStoppable(t testing.TB, opts app.Options) (*app.App, func()) {
	t.Helper()
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, opts)
	for deadline := time.Now().Add(10 * time.Second); errors.Is(err, syscall.EADDRINUSE) && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		a, err = app.New(ctx, opts)
	}
	if err != nil {
		cancel()
		t.Fatalf("app.New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("app.Run: %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Error("app did not stop within 20 s")
			}
		})
	}
	t.Cleanup(stop)
	return a, stop
}

// WriteConfig writes a config into a temp dir and returns its path.
func WriteConfig(t testing.TB, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "wallboard.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Eventually polls cond every 50 ms until it holds, and fails the test
// after within, saying what it waited for and the last state cond reported
// (its second result, "" when there is nothing to add).
func Eventually(t testing.TB, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			if state != "" {
				t.Fatalf("%s: not within %s; last state: %s", what, within, state)
			}
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
