package store

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"
)

// A burst of writers longer than SQLite's busy_timeout in all must still
// all commit: before the write gate, writers raced in SQLite's busy handler
// and some failed at BEGIN with "database is locked" (a webhook's 503).
//
// On PostgreSQL the writers queue on the writer lock instead, across
// replicas; none may fail either.
func TestBurstOfWritersAllCommit(t *testing.T) {
	forEachStore(t, testBurstOfWritersAllCommit)
}

func testBurstOfWritersAllCommit(t *testing.T, s *Store) {
	const writers = 40
	hold := 150 * time.Millisecond // 40 × 150 ms = 6 s > busy_timeout (5 s)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.InTx(context.Background(), func(tx *sql.Tx) error {
				_, err := firstDelivery(context.Background(), tx, "burst", string(rune('A'+i)), time.Now())
				time.Sleep(hold)
				return err
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a writer of the burst failed: %v", err)
		}
	}
	var n int
	if err := s.DB.QueryRow(`SELECT count(*) FROM deliveries WHERE receiver = 'burst'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != writers {
		t.Errorf("%d deliveries stored, want %d", n, writers)
	}
}
