package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// writeGate lets one of this process's write transactions run at a time.
// SQLite allows one writer; left to its busy handler, writers that find the
// database locked sleep and retry in no order, and under a burst (thousands
// of webhook deliveries at once) an unlucky one waits past busy_timeout and
// its sender gets 503 (GitHub does not redeliver by itself). Waiting here
// instead is first come, first served, and ends with the request's context.
// busy_timeout still covers other processes that open the same file.
// On PostgreSQL it keeps the same first-come order within the process, so
// that queued writers wait here instead of each holding a pooled connection
// while they wait for the writer lock (see beginWrite).
type writeGate struct {
	once sync.Once
	ch   chan struct{}
}

func (g *writeGate) acquire(ctx context.Context) error {
	g.once.Do(func() { g.ch = make(chan struct{}, 1) })
	select {
	case g.ch <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *writeGate) release() { <-g.ch }

// signal is a level-triggered notification with any number of watchers:
// for each watcher, any number of notify calls before it looks fold into
// one, and notify never blocks.
type signal struct {
	mu       sync.Mutex
	watchers map[chan struct{}]struct{}
}

// watch adds a watcher; stop removes it (the channel is never closed, so a
// watcher that stopped may still hold one pending receive).
func (g *signal) watch() (c <-chan struct{}, stop func()) {
	ch := make(chan struct{}, 1)
	g.mu.Lock()
	if g.watchers == nil {
		g.watchers = map[chan struct{}]struct{}{}
	}
	g.watchers[ch] = struct{}{}
	g.mu.Unlock()
	return ch, func() {
		g.mu.Lock()
		delete(g.watchers, ch)
		g.mu.Unlock()
	}
}

func (g *signal) notify() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for ch := range g.watchers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// InTx runs fn in a transaction and commits it; when InTx returns nil the
// writes are durable (SQLite: synchronous=FULL; PostgreSQL: COMMIT returned
// with synchronous_commit on), which is when a webhook may answer 2xx.
func (s *Store) InTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := s.writer.acquire(ctx); err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer s.writer.release()
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// beginWrite starts a write transaction. On PostgreSQL it first takes the
// writer lock, held until COMMIT or ROLLBACK: one writer at a time across
// every replica, as with SQLite.
func (s *Store) beginWrite(ctx context.Context) (*sql.Tx, error) {
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil || !s.pg {
		return tx, err
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, writerLockKey); err != nil {
		tx.Rollback()
		return nil, err
	}
	return tx, nil
}

// readTx is the options of a transaction that only reads and must see one
// snapshot (SQLite's read transactions do; PostgreSQL's READ COMMITTED
// would give each statement its own).
func (s *Store) readTx() *sql.TxOptions {
	if s.pg {
		return &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
	}
	return &sql.TxOptions{ReadOnly: true}
}

// firstDelivery records a webhook delivery id inside tx and reports whether
// it is new. A false result means the delivery was stored before: the caller
// acknowledges it again without storing its events twice.
func firstDelivery(ctx context.Context, tx *sql.Tx, receiver, id string, now time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO deliveries (receiver, delivery_id, received_at) VALUES (?, ?, ?)
		ON CONFLICT (receiver, delivery_id) DO NOTHING`, receiver, id, now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("store: record delivery %s/%s: %w", receiver, id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: record delivery %s/%s: %w", receiver, id, err)
	}
	return n == 1, nil
}
