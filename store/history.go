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
	insert, prune, ok := historyWrites(boardID, tile, at, v)
	if !ok {
		return nil
	}
	res, err := tx.ExecContext(ctx, insert.SQL, insert.Args...)
	if err != nil {
		return fmt.Errorf("store: record history of %s/%s: %w", boardID, tile, err)
	}
	// Prune only when a bucket begins: once per tile and step, a range scan
	// of the primary key.
	if n, _ := res.RowsAffected(); n == 1 {
		if _, err := tx.ExecContext(ctx, prune.SQL, prune.Args...); err != nil {
			return fmt.Errorf("store: prune history of %s/%s: %w", boardID, tile, err)
		}
	}
	return nil
}

// Statement is one SQL statement and its arguments.
type Statement struct {
	SQL  string
	Args []any
}

// PostgresHistoryWrites are the statements that record v as tile's value at
// `at` in the tile history of a PostgreSQL store, for a writer on its own
// connection (the replica's lease-guarded batch): insert, which keeps the
// bucket's first value, then prune, which drops the tile's values older than
// HistoryKeep and may run after every insert. None when v is not a number or
// at is zero.
func PostgresHistoryWrites(boardID, tile string, at time.Time, v float64) []Statement {
	insert, prune, ok := historyWrites(boardID, tile, at, v)
	if !ok {
		return nil
	}
	insert.SQL, prune.SQL = rebind(insert.SQL), rebind(prune.SQL)
	return []Statement{insert, prune}
}

// historyWrites are the tile history's insert and prune of v at `at`, in
// the store's SQL (SQLite's placeholders); false when there is nothing to
// record.
func historyWrites(boardID, tile string, at time.Time, v float64) (insert, prune Statement, ok bool) {
	if math.IsNaN(v) || math.IsInf(v, 0) || at.IsZero() {
		return Statement{}, Statement{}, false
	}
	step := HistoryStep.Milliseconds()
	insert = Statement{`INSERT INTO tile_history (board, tile, bucket, at, value) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (board, tile, bucket) DO NOTHING`, []any{boardID, tile, ms(at) / step, ms(at), v}}
	prune = Statement{`DELETE FROM tile_history WHERE board = ? AND tile = ? AND bucket < ?`,
		[]any{boardID, tile, ms(at.Add(-HistoryKeep)) / step}}
	return insert, prune, true
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
