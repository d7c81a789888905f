// Package runtest runs a server for the length of a test and waits for
// conditions: the part of the apptest kit that does not import package app,
// so that package app's own tests, which cannot import apptest (apptest
// imports app), run the very same code. Tests elsewhere use apptest.
package runtest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Defaults fills what a test left empty in a server's options: a loopback
// address on a free port, a temporary data directory, a logger that
// discards.
func Defaults(t testing.TB, addr, dataDir *string, logger **slog.Logger) {
	if *addr == "" {
		*addr = "127.0.0.1:0"
	}
	if *dataDir == "" {
		*dataDir = t.TempDir()
	}
	if *logger == nil {
		*logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

// Start builds a server with build and runs it until the test ends. While
// build fails with EADDRINUSE (a restart on the port of a server that just
// stopped) it is tried again, for up to 10 s. stop cancels Run's context,
// waits for Run to return (the test fails after 20 s) and returns Run's
// error; it may be called more than once.
func Start[S interface{ Run(context.Context) error }](t testing.TB, build func(context.Context) (S, error)) (S, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := build(ctx)
	for deadline := time.Now().Add(10 * time.Second); errors.Is(err, syscall.EADDRINUSE) && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		s, err = build(ctx)
	}
	if err != nil {
		cancel()
		t.Fatalf("start: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(20 * time.Second):
				t.Error("server did not stop within 20 s")
			}
		})
		return runErr
	}
	t.Cleanup(func() { stop() })
	return s, stop
}

// FreeAddr is a loopback address (host:port) that was free a moment ago:
// listened on port 0, noted, closed. For a server that must be restarted on
// the same address; another process may take it in between.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
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
