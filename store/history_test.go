package store

import (
	"context"
	"testing"
	"time"
)

// TestHistoryKeepsOnePointPerStepAndPrunes: the first value of a bucket is
// kept, a later one of the same bucket is not, values older than HistoryKeep
// go, and a time with nothing stored near it has no value.
func TestHistoryKeepsOnePointPerStepAndPrunes(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
		for _, p := range []struct {
			at time.Duration
			v  float64
		}{{0, 1}, {time.Minute, 2}, {HistoryStep, 3}, {2 * time.Hour, 4}} {
			if err := s.RecordHistory(ctx, "b", "t", t0.Add(p.at), p.v); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct {
			at   time.Duration
			want float64
			ok   bool
		}{{0, 1, true}, {time.Minute, 1, true}, {HistoryStep + time.Minute, 3, true}, {time.Hour, 0, false}, {2*time.Hour - 5*time.Minute, 4, true}} {
			p, ok, err := s.ValueAt(ctx, "b", "t", t0.Add(c.at))
			if err != nil || ok != c.ok || (ok && p.V != c.want) {
				t.Errorf("value at +%s = %v, %v, %v; want %v, %v", c.at, p.V, ok, err, c.want, c.ok)
			}
		}
		if err := s.RecordHistory(ctx, "b", "t", t0.Add(HistoryKeep+time.Hour), 5); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := s.DB.QueryRowContext(ctx, `SELECT count(*) FROM tile_history WHERE board = 'b' AND tile = 't'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 2 { // the 2 h point and the new one
			t.Errorf("%d rows after a value %s later, want 2 (older ones pruned)", n, HistoryKeep)
		}
	})
}
