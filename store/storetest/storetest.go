// Package storetest gives tests a store of their own: a new SQLite file in
// the test's temporary directory, closed when the test ends. PostgreSQL
// stores for tests come from store/pgtest.
package storetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/wallboard/wallboard/store"
)

// SQLite opens a new, empty store in t's temporary directory, with every
// migration applied, and closes it when t ends.
func SQLite(t testing.TB) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "wallboard.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
