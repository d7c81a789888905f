package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/wallboard/wallboard/board"
)

// The tile history (table tile_history) keeps one value per tile and
// HistoryStep, for HistoryKeep: about 1,150 rows per tile.
const (
	HistoryStep = 10 * time.Minute
	HistoryKeep = 8 * 24 * time.Hour
	// historyNear is how far from the asked time a stored value may be and
	// still count as the value "at" that time: a bucket and a half.
	historyNear = HistoryStep + HistoryStep/2
)

// RecordHistory stores v as tile's value at `at` when its HistoryStep
// bucket has none yet, and drops the tile's values older than HistoryKeep.
func (s *Store) RecordHistory(ctx context.Context, boardID, tile string, at time.Time, v float64) error {
	return s.InTx(ctx, func(tx *sql.Tx) error { return recordHistory(ctx, tx, boardID, tile, at, v) })
}

func recordHistory(ctx context.Context, tx *sql.Tx, boardID, tile string, at time.Time, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || at.IsZero() {
		return nil
	}
	step := HistoryStep.Milliseconds()
	res, err := tx.ExecContext(ctx, `INSERT INTO tile_history (board, tile, bucket, at, value) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (board, tile, bucket) DO NOTHING`, boardID, tile, ms(at)/step, ms(at), v)
	if err != nil {
		return fmt.Errorf("store: record history of %s/%s: %w", boardID, tile, err)
	}
	// Prune only when a bucket begins: once per tile and step, a range scan
	// of the primary key.
	if n, _ := res.RowsAffected(); n == 1 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM tile_history WHERE board = ? AND tile = ? AND bucket < ?`,
			boardID, tile, ms(at.Add(-HistoryKeep))/step); err != nil {
			return fmt.Errorf("store: prune history of %s/%s: %w", boardID, tile, err)
		}
	}
	return nil
}

// ValueAt is the stored value of tile nearest to `at`, when one lies within
// a bucket and a half of it; false when the store has no value from then.
func (s *Store) ValueAt(ctx context.Context, boardID, tile string, at time.Time) (board.Point, bool, error) {
	var best board.Point
	found := false
	t0 := ms(at)
	for _, c := range []struct {
		q      string
		lo, hi int64
	}{
		{`SELECT at, value FROM tile_history WHERE board = ? AND tile = ? AND at >= ? AND at <= ? ORDER BY at DESC LIMIT 1`, ms(at.Add(-historyNear)), t0},
		{`SELECT at, value FROM tile_history WHERE board = ? AND tile = ? AND at > ? AND at <= ? ORDER BY at LIMIT 1`, t0, ms(at.Add(historyNear))},
	} {
		var t int64
		var v float64
		err := s.DB.QueryRowContext(ctx, c.q, boardID, tile, c.lo, c.hi).Scan(&t, &v)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return board.Point{}, false, fmt.Errorf("store: history of %s/%s: %w", boardID, tile, err)
		}
		p := board.Point{T: fromMS(t), V: v}
		if !found || absDur(p.T.Sub(at)) < absDur(best.T.Sub(at)) {
			best, found = p, true
		}
	}
	return best, found, nil
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
