// Package apptest is the test kit for a whole Wallboard: Start runs one
// in-process on a free loopback port with a temporary store and stops it
// cleanly when the test ends; Eventually polls a condition. Tests outside
// package app (app_test, e2e) use it; package app's own internal tests
// cannot import it (it imports app) and call the same code in
// apptest/runtest, which does not.
package apptest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/wallboard/wallboard/app"
	"github.com/wallboard/wallboard/app/apptest/runtest"
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
// (the test fails if Run failed) and may be called more than once. A restart
// on the address of a server that just stopped (opts.Addr with its port)
// waits up to 10 s for the port.
func StartStoppable(t testing.TB, opts app.Options) (*app.App, func()) {
	t.Helper()
	runtest.Defaults(t, &opts.Addr, &opts.DataDir, &opts.Logger)
	a, stopRun := runtest.Start(t, func(ctx context.Context) (*app.App, error) { return app.New(ctx, opts) })
	var once sync.Once
	stop := func() {
		once.Do(func() {
			if err := stopRun(); err != nil {
				t.Errorf("app.Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return a, stop
}

// WriteConfig writes a config into a temp dir and returns its path.
func WriteConfig(t testing.TB, yaml string) string {
	t.Helper()
	return runtest.WriteConfig(t, yaml)
}

// Eventually polls cond every 50 ms until it holds, and fails the test
// after within, saying what it waited for and the last state cond reported
// (its second result, "" when there is nothing to add).
func Eventually(t testing.TB, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	runtest.Eventually(t, within, what, cond)
}
