package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/wallboard/wallboard/store/pgtest"
)

// One throwaway PostgreSQL cluster serves the package's tests; each test
// gets its own database.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// kinds are the stores every contract test runs against.
var kinds = []string{"sqlite", "postgres"}

// forEachStore runs f against a new, empty store of each kind: the store's
// behaviour is the same on SQLite and PostgreSQL, and these tests prove it.
func forEachStore(t *testing.T, f func(t *testing.T, s *Store)) {
	t.Helper()
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) { f(t, openKind(t, kind)) })
	}
}

// forEachTarget is forEachStore for tests that open the store themselves
// (to reopen it): f gets what Open takes.
func forEachTarget(t *testing.T, f func(t *testing.T, target string)) {
	t.Helper()
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) { f(t, newTarget(t, kind)) })
	}
}

// newTarget is a new, empty store of kind: a file path or a database URL.
func newTarget(tb testing.TB, kind string) string {
	if kind == "postgres" {
		return pgtest.URL(tb)
	}
	return filepath.Join(tb.TempDir(), "wb.db")
}

func openKind(tb testing.TB, kind string) *Store {
	tb.Helper()
	s, err := Open(context.Background(), newTarget(tb, kind))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}
